"""``/analytics`` in headless Chromium: the plots are drawn from the feedback the demo page just stored."""
from __future__ import annotations

import csv
import io
import json
from collections import Counter
from typing import Any, Callable

import pytest
import requests

from . import a11y
from .conftest import DemoFeedback, PageWatch, Served

pytestmark = pytest.mark.server


def _rules(cds_server: Served, card_uuid: str) -> list[str]:
    """The rules (ids without version) the service stored for an issued card."""
    row = cds_server.query("SELECT rule_ids FROM issued_card WHERE uuid = ?", card_uuid)[0]
    return [r.split("@", 1)[0] for r in json.loads(row["rule_ids"])]


def _mark(page: Any, chart_id: str, label: str) -> Any:
    return page.locator(f'[data-testid="section-{chart_id}"] svg g.mark[data-label="{label}"]')


def _bar(page: Any, chart_id: str, label: str, series: str) -> float:
    return float(_mark(page, chart_id, label).locator(f'rect[data-series="{series}"]').get_attribute("data-value"))


def test_plots_show_the_feedback_just_stored(demo_feedback: DemoFeedback, page: Any, cds_server: Served,
                                             page_watch: PageWatch, screenshot: Callable[..., Any]) -> None:
    # What the database holds: feedback outcomes per rule of the cards they answer (every card here is of today).
    outcomes: dict[str, Counter[str]] = {}
    for row in cds_server.query("SELECT f.outcome, i.rule_ids FROM feedback f JOIN issued_card i "
                                "ON i.uuid = f.card_uuid"):
        for rule in (r.split("@", 1)[0] for r in json.loads(row["rule_ids"])):
            outcomes.setdefault(rule, Counter())[row["outcome"]] += 1
    issued = cds_server.query("SELECT count(*) AS n FROM issued_card")[0]["n"]

    page.goto(cds_server.url("/analytics"))
    assert a11y.unlabelled_controls(page) == []
    assert int(page.locator('[data-testid="total-cards-issued"]').inner_text()) == issued
    on_issued = cds_server.query("SELECT count(*) AS n FROM feedback f JOIN issued_card i ON i.uuid = f.card_uuid")
    assert int(page.locator('[data-testid="total-feedback"]').inner_text()) == on_issued[0]["n"] >= 2

    accepted_rules = _rules(cds_server, demo_feedback.accepted_card["uuid"])
    dismissed_rules = _rules(cds_server, demo_feedback.dismissed_card["uuid"])
    for rule in accepted_rules + dismissed_rules:
        counts = outcomes[rule]
        answered = counts["accepted"] + counts["overridden"]
        assert _bar(page, "feedback-per-rule", rule, "accepted") == pytest.approx(
            100 * counts["accepted"] / answered, abs=0.05)
        assert _bar(page, "feedback-per-rule", rule, "overridden") == pytest.approx(
            100 * counts["overridden"] / answered, abs=0.05)
    for rule in accepted_rules:  # the suggestion accepted on /
        assert _bar(page, "suggestions-per-rule", rule, "accepted") >= 1
    reason = next(r for r in demo_feedback.dismissed_card["overrideReasons"] if r["code"] == demo_feedback.reason_code)
    for rule in dismissed_rules:  # the override reason chosen on /
        mark = _mark(page, "override-reasons", f"{rule}: {reason['display']}")
        assert float(mark.locator("rect").get_attribute("data-value")) >= 1
        assert reason["display"] in mark.locator("rect title").text_content()
    # the user's free-text comment is not shown (it could name a patient)
    assert demo_feedback.comment not in page.locator("main").inner_text()

    # each plot's numbers download as CSV: the feedback plot's CSV has the same numbers
    with page.expect_download() as download_info:
        page.click('[data-testid="csv-feedback-per-rule"]')
    rows = list(csv.DictReader(io.StringIO(download_info.value.path().read_text(encoding="utf-8"))))
    by_rule = {r["rule"]: r for r in rows}
    for rule in accepted_rules + dismissed_rules:
        assert int(by_rule[rule]["accepted"]) == outcomes[rule]["accepted"]
        assert int(by_rule[rule]["overridden"]) == outcomes[rule]["overridden"]
    same = requests.get(cds_server.url("/analytics/feedback-per-rule.csv"), timeout=30)
    assert list(csv.DictReader(io.StringIO(same.text))) == rows
    screenshot(page, "analytics", readme=True)
    page_watch.assert_quiet()
