"""The pages' shared base and "/" (try the cards), at the Flask level: access (CDS_PAGES x CDS_AUTH), the pages'
CSP and headers, the request endpoint the page uses, feedback as the page sends it, labels and landmarks, and the
contrast of the indicator colours computed from the stylesheet. The real-browser tests are elsewhere."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from cds_service import create_app, pages, samples
from cds_service.pages import demo
from terminology import drugs

ROOT = Path(__file__).parents[1]
STATIC = resources.files("cds_service.pages") / "static"
PAGE_PATHS = ("/", "/pages/static/pages.css", "/pages/static/demo.js")


def _get(client: FlaskClient, path: str) -> TestResponse:
    """GET and close: a static file is streamed from an open file, which the test client leaves to the caller."""
    resp = client.get(path)
    resp.get_data()
    resp.close()
    return resp


def _client(app_overrides: dict[str, Any], trusted: Path, auth: str, pages_mode: str | None) -> FlaskClient:
    overrides = dict(app_overrides, AUTH=auth)
    if auth == "jwt":
        overrides.update(TRUSTED_CLIENTS=str(trusted), PUBLIC_BASE_URL="https://cds.test")
    if pages_mode is not None:
        overrides["PAGES"] = pages_mode
    return create_app(overrides).test_client()


# ---------------------------------------------------------------------------------------------- access


@pytest.mark.parametrize(("pages_mode", "auth", "served"), [
    (None, "none", True), ("auto", "none", True), ("auto", "jwt", False), (None, "jwt", False),
    ("on", "none", True), ("on", "jwt", True), ("off", "none", False), ("off", "jwt", False),
])
def test_access(app_overrides: dict[str, Any], trusted_clients: Path, pages_mode: str | None, auth: str,
                served: bool) -> None:
    client = _client(app_overrides, trusted_clients, auth, pages_mode)
    for path in PAGE_PATHS:
        resp = _get(client, path)
        if served:
            assert resp.status_code == 200, path
        else:  # the service's own 404: an OperationOutcome, like any unknown path
            assert resp.status_code == 404, path
            assert resp.get_json()["resourceType"] == "OperationOutcome"
    request_endpoint = client.post("/pages/demo/request", json={"service": "leg-pain-causes",
                                                               "sample": "lpc-diuretic-hypokalemia"})
    assert request_endpoint.status_code == (200 if served else 404)
    # The API is unchanged by the pages: open without auth, 401 without a client JWT.
    api = client.get("/cds-services")
    assert api.status_code == (200 if auth == "none" else 401)
    assert api.headers["Content-Security-Policy"] == pages.API_CSP


def test_pages_setting_is_validated(app_overrides: dict[str, Any]) -> None:
    from cds_service import config
    with pytest.raises(config.ConfigError, match="CDS_PAGES"):
        create_app(dict(app_overrides, PAGES="sometimes"))


def test_pages_on_with_client_auth_explain_instead_of_calling(app_overrides: dict[str, Any],
                                                                trusted_clients: Path) -> None:
    client = _client(app_overrides, trusted_clients, "jwt", "on")
    html = client.get("/").get_data(as_text=True)
    assert 'data-testid="auth-note"' in html and "CDS_AUTH=none" in html
    assert 'id="demo-form"' not in html and "demo.js" not in html  # no form that would only get 401s
    # The hook endpoint the form would call still needs a JWT.
    assert client.post("/cds-services/leg-pain-causes", json={}).status_code == 401


# ---------------------------------------------------------------------------------------------- headers


@pytest.mark.parametrize("path", PAGE_PATHS)
def test_pages_have_their_csp_and_the_security_headers(client: FlaskClient, path: str) -> None:
    resp = _get(client, path)
    assert resp.status_code == 200
    csp = resp.headers["Content-Security-Policy"]
    assert csp == pages.PAGE_CSP
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in csp and "http" not in csp  # no inline script or style, no other origin
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    # A page may one day show a sample's cards: never cached. Static files (no data) are revalidated (ETag).
    assert resp.headers["Cache-Control"] == ("no-store" if path == "/" else "no-cache")


def test_the_api_keeps_its_strict_csp_next_to_the_pages(client: FlaskClient) -> None:
    for resp in (client.get("/cds-services"), client.get("/healthz"), client.get("/no-such-page"),
                 client.post("/cds-services/leg-pain-causes", json={})):
        assert resp.headers["Content-Security-Policy"] == pages.API_CSP


def test_a_view_may_widen_connect_src_for_its_page() -> None:
    widened = pages.page_csp(("https://fhir.example.org",))
    assert "connect-src 'self' https://fhir.example.org;" in widened
    assert widened.replace(" https://fhir.example.org", "") == pages.PAGE_CSP


# ---------------------------------------------------------------------------------------------- HTML


class _Html(HTMLParser):
    """Collects the elements of a page (tag, attributes) and the text of each <label for=...>."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.labels: dict[str, str] = {}
        self._label: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag == "label":
            self._label = dict(attrs).get("for") or ""
            self.labels.setdefault(self._label, "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._label = None

    def handle_data(self, data: str) -> None:
        if self._label is not None:
            self.labels[self._label] += data


def _parse(html: str) -> _Html:
    parser = _Html()
    parser.feed(html)
    return parser


def test_every_control_has_a_label(client: FlaskClient) -> None:
    page = _parse(client.get("/").get_data(as_text=True))
    controls = [a for tag, a in page.elements if tag in {"input", "select", "textarea"} and a.get("type") != "hidden"]
    assert len(controls) >= 6  # two sources, sample, FHIR server, patient id, service, drug
    for attrs in controls:
        assert attrs.get("id") and page.labels.get(str(attrs["id"]), "").strip(), attrs
    buttons = [a for tag, a in page.elements if tag == "button"]
    assert {b.get("id") for b in buttons} >= {"run", "toggle-exchange"}


def test_landmarks_and_structure(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    page = _parse(html)
    tags = [tag for tag, _ in page.elements]
    assert tags.count("main") == 1 and "header" in tags and "footer" in tags
    assert [a for tag, a in page.elements if tag == "nav" and a.get("aria-label")]
    assert [a for tag, a in page.elements if tag == "html"][0].get("lang") == "en"
    assert tags.count("h1") == 1
    assert 'href="#main"' in html  # skip link
    for testid in ("demo-form", "sample", "service", "drug", "run", "status", "cards", "error", "request-json",
                   "response-json", "toggle-exchange"):
        assert f'data-testid="{testid}"' in html, testid


def test_no_inline_script_or_style(client: FlaskClient) -> None:
    page = _parse(client.get("/").get_data(as_text=True))
    for tag, attrs in page.elements:
        assert "style" not in attrs, tag
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        if tag == "script":
            assert str(attrs.get("src", "")).startswith("/pages/static/"), attrs
        if tag == "link" and attrs.get("rel") != "icon":  # the icon is an empty data: URL (no /favicon.ico 404)
            assert str(attrs.get("href", "")).startswith("/pages/static/"), attrs


def test_the_page_script_writes_no_html() -> None:
    script = (STATIC / "demo.js").read_text(encoding="utf-8")
    code = re.sub(r"/\*.*?\*/", "", script, flags=re.S)
    for sink in (".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in code, sink
    assert "textContent" in code


def test_sample_and_drug_options(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    for sample in samples.list_samples():
        assert f'value="{sample.id}"' in html
    for rxcui in demo.DRUG_RXCUIS:
        assert f'value="{rxcui}"' in html
    for service_id in ("leg-pain-causes", "leg-pain-workup", "leg-pain-order-select", "leg-pain-order-sign"):
        assert f'value="{service_id}"' in html


def test_the_drugs_offered_are_the_golden_order_cases() -> None:
    golden = set()
    for path in (ROOT / "tests" / "golden" / "leg-pain-order-select").glob("fires-*.request.json"):
        for entry in json.loads(path.read_text())["context"]["draftOrders"].get("entry", []):
            concept = entry["resource"].get("medicationCodeableConcept") or {}
            golden |= {c["code"] for c in concept.get("coding", [])}
    assert set(demo.DRUG_RXCUIS) <= golden
    for choice in demo.drug_choices():
        product = drugs.product(choice.rxcui)
        assert product is not None and choice.display == product.display
    assert len(demo.drug_choices()) == len(demo.DRUG_RXCUIS)


# ---------------------------------------------------------------------------------------------- the request endpoint


def _built(client: FlaskClient, **ask: str) -> dict[str, Any]:
    resp = client.post("/pages/demo/request", json=ask)
    assert resp.status_code == 200, resp.get_json()
    body: dict[str, Any] = resp.get_json()
    return body


def test_sample_request_gives_cards_from_the_real_endpoint(client: FlaskClient) -> None:
    req = _built(client, service="leg-pain-causes", sample="lpc-diuretic-hypokalemia")
    assert req["hook"] == "patient-view" and "prefetch" in req and "fhirServer" not in req
    answer = client.post("/cds-services/leg-pain-causes", json=req)
    assert answer.status_code == 200
    topics = {c["source"]["topic"]["code"]: c["indicator"] for c in answer.get_json()["cards"]}
    assert topics == samples.sample("lpc-diuretic-hypokalemia").topics


@pytest.mark.parametrize(("service_id", "hook"), [("leg-pain-order-select", "order-select"),
                                                  ("leg-pain-order-sign", "order-sign")])
def test_order_request_carries_the_drug_as_a_draft_order(client: FlaskClient, service_id: str, hook: str) -> None:
    req = _built(client, service=service_id, sample="lpc-diuretic-hypokalemia", drug="313988")
    assert req["hook"] == hook
    order = req["context"]["draftOrders"]["entry"][0]["resource"]
    assert order["status"] == "draft" and order["subject"]["reference"] == f"Patient/{req['context']['patientId']}"
    assert order["medicationCodeableConcept"]["coding"][0] == {
        "system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "313988",
        "display": "furosemide 40 MG Oral Tablet"}
    if hook == "order-select":
        assert req["context"]["selections"] == [f"MedicationRequest/{order['id']}"]
    else:
        assert "selections" not in req["context"]
    answer = client.post(f"/cds-services/{service_id}", json=req)
    assert answer.status_code == 200, answer.get_json()


def test_an_order_that_worsens_the_sample_fires(client: FlaskClient) -> None:
    """Hydrochlorothiazide for the sample with low potassium: the order check warns (diuretic effect)."""
    req = _built(client, service="leg-pain-order-select", sample="lpc-diuretic-hypokalemia", drug="310798")
    cards = client.post("/cds-services/leg-pain-order-select", json=req).get_json()["cards"]
    assert "diuretic-effect" in {c["source"]["topic"]["code"] for c in cards}


def test_fhir_server_request_and_the_allowlist(client: FlaskClient) -> None:
    req = _built(client, service="leg-pain-causes", fhirServer="https://fhir.example.org/r4/", patientId=" p-1 ")
    assert req["fhirServer"] == "https://fhir.example.org/r4" and "prefetch" not in req
    assert req["context"]["patientId"] == "p-1"
    # Not on the allowlist: the service's 412, which the page shows.
    answer = client.post("/cds-services/leg-pain-causes", json=req)
    assert answer.status_code == 412
    assert answer.get_json()["issue"][0]["diagnostics"]


@pytest.mark.parametrize("ask", [
    {"service": "leg-pain-causes"},
    {"service": "leg-pain-causes", "fhirServer": "https://fhir.example.org"},
    {"service": "no-such-service", "sample": "lpc-diuretic-hypokalemia"},
    {"service": "leg-pain-causes", "sample": "no-such-sample"},
    {"service": "leg-pain-order-select", "sample": "lpc-diuretic-hypokalemia", "drug": "999999"},
    {"service": "leg-pain-order-select", "sample": "lpc-diuretic-hypokalemia"},
])
def test_bad_asks_are_400_operation_outcomes(client: FlaskClient, ask: dict[str, str]) -> None:
    resp = client.post("/pages/demo/request", json=ask)
    assert resp.status_code == 400
    assert resp.get_json()["resourceType"] == "OperationOutcome"
    assert client.post("/pages/demo/request", data="x", content_type="text/plain").status_code == 400


# ---------------------------------------------------------------------------------------------- feedback


def test_accept_and_dismiss_as_the_page_sends_them_are_stored(app: Any, client: FlaskClient) -> None:
    req = _built(client, service="leg-pain-causes", sample="lpc-diuretic-hypokalemia")
    cards = client.post("/cds-services/leg-pain-causes", json=req).get_json()["cards"]
    with_suggestion = next(c for c in cards if c.get("suggestions"))
    other = next(c for c in cards if c is not with_suggestion)
    suggestion = with_suggestion["suggestions"][0]["uuid"]
    reason = other["overrideReasons"][0]
    # The bodies demo.js builds (sendFeedback): a browser's toISOString has milliseconds and a Z.
    accepted = {"card": with_suggestion["uuid"], "outcome": "accepted", "outcomeTimestamp": "2026-11-25T12:01:00.000Z",
                "acceptedSuggestions": [{"id": suggestion}]}
    dismissed = {"card": other["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-25T12:02:00.000Z",
                 "overrideReason": {"reason": {"system": reason["system"], "code": reason["code"],
                                               "display": reason["display"]}, "userComment": "seen <b>today</b>"}}
    for item in (accepted, dismissed):
        resp = client.post("/cds-services/leg-pain-causes/feedback", json={"feedback": [item]})
        assert resp.status_code == 200 and resp.get_json() == {"stored": 1}
    store = app.extensions["cds_store"]
    [got] = store.feedback_for(with_suggestion["uuid"])
    assert (got.outcome, got.accepted_suggestions, got.card_known, got.suggestions_known) == (
        "accepted", [suggestion], True, True)
    [got] = store.feedback_for(other["uuid"])
    assert (got.outcome, got.override_code, got.user_comment, got.card_known) == (
        "overridden", reason["code"], "seen <b>today</b>", True)


# ---------------------------------------------------------------------------------------------- contrast


def _luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    """WCAG 2.x contrast ratio of two #rrggbb colours."""
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _css_colours() -> dict[str, str]:
    css = (STATIC / "pages.css").read_text(encoding="utf-8")
    return {m[1]: m[2].lower() for m in re.finditer(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})\s*;", css)}


def test_contrast_helper() -> None:
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#767676", "#ffffff"), 2) == 4.54


@pytest.mark.parametrize("indicator", ["info", "warning", "critical"])
def test_indicator_colours_meet_wcag_aa(indicator: str) -> None:
    colours = _css_colours()
    fg, bg, badge = (colours[f"indicator-{indicator}-{part}"] for part in ("fg", "bg", "badge"))
    assert contrast(fg, bg) >= 4.5  # the card header's text on its tint
    assert contrast(colours["text"], bg) >= 4.5
    assert contrast(colours["badge-text"], badge) >= 4.5  # the badge's word on its colour
    assert contrast(badge, colours["page-bg"]) >= 3.0  # the coloured edge against the page (non-text, 1.4.11)
    # The stylesheet uses them.
    css = (STATIC / "pages.css").read_text(encoding="utf-8")
    assert f".card-{indicator} .card-header" in css and f".badge-{indicator}" in css


def test_body_colours_meet_wcag_aa() -> None:
    colours = _css_colours()
    for fg in ("text", "muted", "link"):
        for bg in ("page-bg", "panel-bg"):
            assert contrast(colours[fg], colours[bg]) >= 4.5, (fg, bg)
    assert contrast(colours["focus"], colours["page-bg"]) >= 3.0


def test_keyboard_focus_is_visible() -> None:
    css = (STATIC / "pages.css").read_text(encoding="utf-8")
    rule = re.search(r"(?m)^:focus-visible\s*\{([^}]*)\}", css)
    assert rule and re.search(r"outline:\s*[23]px solid var\(--focus\)", rule.group(1))
    assert "outline: none" not in css.replace("main:focus { outline: none; }", "")  # only the skip target's
    assert ".skip-link:focus" in css
