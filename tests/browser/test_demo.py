"""``/`` in headless Chromium: sample patients' cards as the page renders them, feedback stored from its buttons,
card values that carry HTML staying inert, and basic accessibility (labels, keyboard focus, indicator contrast)."""
from __future__ import annotations

import json
from typing import Any, Callable

import pytest
import requests

from cds_service import samples

from . import a11y
from .conftest import DemoFeedback, PageWatch, Served
from .demo_flow import card, run_sample

pytestmark = pytest.mark.server

#: A typical patient (two warning cards) and one with a critical card (ABI), through the default service.
TWO_SAMPLES = ("lpc-diuretic-hypokalemia", "lpc-pad-abi-components")


def _without_uuids(value: Any) -> Any:
    """Cards with their per-call uuids left out (two calls of the same request differ only there)."""
    if isinstance(value, dict):
        return {k: _without_uuids(v) for k, v in value.items() if k != "uuid"}
    if isinstance(value, list):
        return [_without_uuids(v) for v in value]
    return value


def test_two_sample_patients_render_the_cards_the_hook_returns(page: Any, cds_server: Served, page_watch: PageWatch,
                                                               screenshot: Callable[..., Any]) -> None:
    for name in TWO_SAMPLES:
        run = run_sample(page, cds_server.base_url, name)
        # The page posted a real CDS Hooks call for that sample; the same call made with requests gets the same cards.
        assert run.request["hook"] == "patient-view" and run.request["context"]["patientId"] == name
        again = requests.post(cds_server.url("/cds-services/leg-pain-causes"), json=run.request, timeout=30)
        assert again.status_code == 200
        assert _without_uuids(again.json()["cards"]) == _without_uuids(run.cards)
        assert {c["source"]["topic"]["code"]: c["indicator"] for c in run.cards} == samples.sample(name).topics

        rendered = page.locator('#cards > article[data-testid="card"]')
        assert rendered.count() == len(run.cards)
        assert page.locator("#status").inner_text().startswith(f"{len(run.cards)} card")
        for i, expected in enumerate(run.cards):
            shown = rendered.nth(i)
            assert shown.get_attribute("data-card-uuid") == expected["uuid"]
            assert shown.get_attribute("data-indicator") == expected["indicator"]
            assert shown.locator('[data-testid="card-indicator"]').inner_text().lower() == expected["indicator"]
            assert shown.locator('[data-testid="card-summary"]').inner_text() == expected["summary"]
            detail = shown.locator('[data-testid="card-detail"]')
            # markdown rendered, not shown: the results table is a table, bold is <strong>, no ** left over
            if "|---|" in expected["detail"]:
                assert detail.locator("table tbody tr").count() >= 1
            assert "**" not in detail.inner_text()
            assert shown.locator('[data-testid="card-source"]').inner_text().startswith(
                f"Source: {expected['source']['label']}")
            links = expected.get("links", [])
            assert [a.get_attribute("data-link-type") for a in shown.locator('[data-testid="card-links"] a').all()] == [
                link["type"] for link in links]
            suggestions = expected.get("suggestions", [])
            assert shown.locator('[data-testid="suggestion"]').count() == len(suggestions)
            for k, suggestion in enumerate(suggestions):
                box = shown.locator('[data-testid="suggestion"]').nth(k)
                assert box.get_attribute("data-suggestion-uuid") == suggestion["uuid"]
                assert box.locator('[data-testid="accept-suggestion"]').inner_text() == f"Accept: {suggestion['label']}"
                assert json.loads(box.locator('[data-testid="action-json"]').text_content()) == suggestion["actions"]
            shown.locator('[data-testid="dismiss"]').click()  # the card's own override reasons, as radio buttons
            codes = [r.get_attribute("data-code") for r in shown.locator('[data-testid="override-reason"]').all()]
            assert codes == [r["code"] for r in expected["overrideReasons"]]
            shown.locator('[data-testid="dismiss"]').click()

        # "Show request/response": the exact JSON exchanged
        page.click("#toggle-exchange")
        assert json.loads(page.locator("#request-json").text_content()) == run.request
        assert json.loads(page.locator("#response-json").text_content()) == run.response
        page.click("#toggle-exchange")
        if name == TWO_SAMPLES[0]:
            screenshot(page, "demo", readme=True)
    page_watch.assert_quiet()


def test_accept_and_dismiss_store_feedback(demo_feedback: DemoFeedback, cds_server: Served) -> None:
    rows = {row["card_uuid"]: row for row in cds_server.feedback()}
    accepted = rows[demo_feedback.accepted_card["uuid"]]
    assert accepted["service_id"] == "leg-pain-causes" and accepted["outcome"] == "accepted"
    assert accepted["card_known"] == 1 and accepted["suggestions_known"] == 1
    assert json.loads(accepted["accepted_suggestions"]) == [demo_feedback.accepted_suggestion["uuid"]]
    dismissed = rows[demo_feedback.dismissed_card["uuid"]]
    reason = next(r for r in demo_feedback.dismissed_card["overrideReasons"] if r["code"] == demo_feedback.reason_code)
    assert dismissed["outcome"] == "overridden" and dismissed["card_known"] == 1
    assert (dismissed["override_system"], dismissed["override_code"], dismissed["override_display"]) == (
        reason["system"], reason["code"], reason["display"])
    assert dismissed["user_comment"] == demo_feedback.comment
    # the cards answered are the ones this service issued for that call
    issued = cds_server.query("SELECT uuid, indicator FROM issued_card WHERE hook_instance = ?",
                              demo_feedback.run.request["hookInstance"])
    assert {r["uuid"]: r["indicator"] for r in issued} == {c["uuid"]: c["indicator"] for c in demo_feedback.run.cards}


HOSTILE = "<script>alert('summary')</script><img src=x onerror=\"alert('img')\">"


def _hostile_card(real: dict[str, Any]) -> dict[str, Any]:
    """A real card with HTML and script in every value the page shows."""
    hostile = json.loads(json.dumps(real))
    hostile["summary"] = f"K low {HOSTILE}"
    hostile["detail"] = (f"Values: {HOSTILE}\n\n| Result | Value |\n|---|---|\n| <b onmouseover=alert(1)>K</b> | "
                         f"<svg onload=alert('svg')> |\n\n- [a link](javascript:alert('link'))\n- "
                         f"<iframe src=\"javascript:alert('frame')\"></iframe>")
    hostile["source"]["label"] = f"Source {HOSTILE}"
    hostile["source"]["url"] = "javascript:alert('source')"
    hostile["links"] = [{"label": f"Link {HOSTILE}", "url": "javascript:alert('l')", "type": "absolute"}]
    for suggestion in hostile.get("suggestions", []):
        suggestion["label"] = f"Order {HOSTILE}"
    hostile["overrideReasons"][0]["display"] = f"Reason {HOSTILE}"
    return hostile


def test_script_in_a_card_value_stays_inert(page: Any, cds_server: Served, page_watch: PageWatch) -> None:
    """Values from the service are text: a <script>, an onerror handler, a javascript: URL never run or load."""
    hostile: dict[str, Any] = {}

    def answer_with_hostile_card(route: Any) -> None:  # the real answer, one card's values replaced
        real = route.fetch().json()
        hostile.update(_hostile_card(next(c for c in real["cards"] if c.get("suggestions"))))
        route.fulfill(status=200, json={"cards": [hostile]})

    page.route(cds_server.url("/cds-services/leg-pain-causes"), answer_with_hostile_card)
    run_sample(page, cds_server.base_url, "lpc-diuretic-hypokalemia")
    shown = card(page, hostile["uuid"])
    shown.locator('[data-testid="dismiss"]').click()  # renders the override reasons too
    assert shown.locator('[data-testid="card-summary"]').inner_text() == hostile["summary"]
    assert HOSTILE in shown.locator('[data-testid="card-detail"]').inner_text()
    assert HOSTILE in shown.locator('[data-testid="accept-suggestion"]').first.inner_text()
    assert HOSTILE in shown.locator('[data-testid="dismiss-form"] label').first.inner_text()
    assert page.locator("#cards script, #cards img, #cards svg, #cards iframe, #cards b, #cards [onerror]").count() == 0
    hrefs = [a.get_attribute("href") or "" for a in page.locator("#cards a").all()]
    assert not [h for h in hrefs if not h.startswith(("http://", "https://", "/"))], hrefs
    shown.locator('[data-testid="card-detail"] td').first.hover()
    page.wait_for_timeout(300)  # room for any handler that would fire (none may: nothing here is asserted on time)
    page_watch.assert_quiet()


def test_form_controls_are_labelled_and_reachable_by_keyboard(page: Any, cds_server: Served,
                                                               page_watch: PageWatch) -> None:
    run = run_sample(page, cds_server.base_url, "lpc-multiple-causes")
    for uuid in (c["uuid"] for c in run.cards):
        card(page, uuid).locator('[data-testid="dismiss"]').click()  # the override-reason forms are controls too
    assert a11y.unlabelled_controls(page) == []
    page.goto(cds_server.url("/"))
    focused = a11y.tab_through(page, 14)
    ids = [f["id"] for f in focused]
    for control in ("source-sample", "sample", "service", "run"):
        assert control in ids, f"Tab never reached #{control}: {ids}"
    assert all(f["visible"] for f in focused), [f for f in focused if not f["visible"]]
    # Enter on the focused button runs the hook, as a click does
    page.focus("#run")
    page.keyboard.press("Enter")
    page.wait_for_selector("#demo-form[data-state=done]")
    assert page.locator('#cards > article[data-testid="card"]').count() >= 1
    page_watch.assert_quiet()


def test_indicator_colours_have_enough_contrast(page: Any, cds_server: Served) -> None:
    """WCAG AA: badge text and card header text 4.5:1; the coloured card edge against the page 3:1."""
    seen = set()
    for name in ("lpc-multiple-causes", "lpc-rls-iron"):  # critical, warning and info between them
        run_sample(page, cds_server.base_url, name)
        for shown in page.locator('#cards > article[data-testid="card"]').all():
            indicator = shown.get_attribute("data-indicator")
            seen.add(indicator)
            badge = shown.locator('[data-testid="card-indicator"]')
            assert a11y.text_contrast(badge) >= 4.5, indicator
            assert a11y.text_contrast(shown.locator('[data-testid="card-summary"]')) >= 4.5, indicator
            edge = shown.evaluate("el => getComputedStyle(el).borderLeftColor")
            background = shown.evaluate(a11y.COLOURS_JS)["bg"]
            assert a11y.contrast(a11y.parse_rgb(edge), background) >= 3.0, indicator
    assert seen == {"info", "warning", "critical"}


def test_order_select_with_a_drug(page: Any, cds_server: Served, page_watch: PageWatch) -> None:
    """order-select: the page sends the chosen drug as the draft order and renders what the service answers."""
    run = run_sample(page, cds_server.base_url, "lpc-diuretic-hypokalemia", "leg-pain-order-select",
                     drug="310798")  # hydrochlorothiazide 25 MG Oral Tablet, for a patient whose potassium is low
    assert run.request["hook"] == "order-select"
    draft = run.request["context"]["draftOrders"]["entry"][0]["resource"]
    assert draft["medicationCodeableConcept"]["coding"][0]["code"] == "310798"
    assert run.request["context"]["selections"] == [f"MedicationRequest/{draft['id']}"]
    assert [c["source"]["topic"]["code"] for c in run.cards] == ["diuretic-effect"], "a thiazide lowers potassium"
    rendered = page.locator('#cards > article[data-testid="card"]')
    assert [c.get_attribute("data-card-uuid") for c in rendered.all()] == [c["uuid"] for c in run.cards]
    page_watch.assert_quiet()
