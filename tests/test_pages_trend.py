"""The lab-trend SMART app (cds_service/pages/trend.py): the cards' smart link, the EHR launch (allowlist, SMART
configuration, state, PKCE), the standalone launch, and what the page would plot from a real FHIR server.

The plotting itself runs in the browser (static/trend.js, tested in tests/browser); here the page's contract is
checked: its code knowledge (/trend/codes.json) and its searches, sent to sekmet-fhir with the sample patients loaded,
find the results and the diuretic and statin records the charts are drawn from.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import datetime
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from flask.testing import FlaskClient

from cds_service import create_app, samples, schemas
from cds_service.pages import trend
from tests.fhir_servers import SekmetServer
from tests.http_servers import RecordingServer, recording_server

GOLDEN = Path(__file__).parent / "golden"
LAUNCH = "opaque-launch-context-123"


def smart_config(server: RecordingServer, **extra: Any) -> dict[str, Any]:
    return {"authorization_endpoint": server.url("/auth/authorize"), "token_endpoint": server.url("/auth/token"),
            "capabilities": ["launch-ehr", "client-public"], "code_challenge_methods_supported": ["S256"], **extra}


@pytest.fixture
def ehr() -> Any:
    """A stand-in EHR authorization server: its FHIR base is /fhir, with a SMART configuration."""
    with recording_server() as server:
        server.set_json("/fhir/.well-known/smart-configuration", smart_config(server))
        yield server


def _launch(client: FlaskClient, iss: str, **headers: str) -> Any:
    return client.get(f"/trend/launch?iss={quote(iss, safe='')}&launch={LAUNCH}", headers=headers)


def _cookie(resp: Any, name: str) -> SimpleCookie:
    for header in resp.headers.getlist("Set-Cookie"):
        jar: SimpleCookie = SimpleCookie(header)
        if name in jar:
            return jar
    raise AssertionError(f"no Set-Cookie {name}: {resp.headers.getlist('Set-Cookie')}")


# ---------------------------------------------------------------------------------------------- EHR launch


def test_ehr_launch_redirects_to_authorize_with_state_and_pkce(client: FlaskClient, ehr: RecordingServer) -> None:
    iss = ehr.url("/fhir")
    resp = _launch(client, iss)
    assert resp.status_code == 302
    location = urlsplit(resp.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == ehr.url("/auth/authorize")
    params = {k: v[0] for k, v in parse_qs(location.query).items()}
    state = params.pop("state")
    challenge = params.pop("code_challenge")
    assert params == {"response_type": "code", "client_id": "leg-pain-cds-trend",
                      "redirect_uri": "http://localhost/trend", "launch": LAUNCH, "scope": trend.SCOPES, "aud": iss,
                      "code_challenge_method": "S256"}
    assert len(state) >= 32 and re.fullmatch(r"[A-Za-z0-9_-]+", state)
    jar = _cookie(resp, trend.COOKIE_PREFIX + state)
    morsel = jar[trend.COOKIE_PREFIX + state]
    assert morsel["httponly"] and morsel["path"] == "/trend" and morsel["samesite"] == "Lax"
    assert int(morsel["max-age"]) == trend.COOKIE_MAX_AGE_S
    kept = json.loads(base64.urlsafe_b64decode(morsel.value))
    assert kept["state"] == state and kept["iss"] == iss and kept["token"] == ehr.url("/auth/token")
    verifier = kept["verifier"]
    assert 43 <= len(verifier) <= 128
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert challenge == expected  # RFC 7636 S256
    assert ehr.paths == ["/fhir/.well-known/smart-configuration"]
    assert LAUNCH not in json.dumps(kept)  # the launch context is passed on, not kept

    # The authorization server sends the browser back: the state matches the cookie, the page gets the verifier.
    page = client.get(f"/trend?code=the-code&state={state}")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert f'data-verifier="{verifier}"' in html and 'data-mode="ehr"' in html
    assert f'data-token-endpoint="{ehr.url("/auth/token")}"' in html
    assert "the-code" not in html  # the browser reads the code from its own address bar, once
    csp = page.headers["Content-Security-Policy"]
    assert f"connect-src 'self' http://127.0.0.1:{ehr.port}" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    deleted = _cookie(page, trend.COOKIE_PREFIX + state)[trend.COOKIE_PREFIX + state]
    assert deleted.value == "" and deleted["path"] == "/trend"

    again = client.get(f"/trend?code=the-code&state={state}")  # the cookie is gone: a replayed redirect is refused
    assert again.status_code == 400 and "does not match a launch" in again.get_data(as_text=True)


def test_a_state_that_this_browser_did_not_start_is_refused(client: FlaskClient, ehr: RecordingServer) -> None:
    resp = _launch(client, ehr.url("/fhir"))
    assert resp.status_code == 302
    forged = client.get("/trend?code=c&state=someone-elses-state")
    assert forged.status_code == 400
    assert 'data-testid="trend-error"' in forged.get_data(as_text=True)
    as_json = client.get("/trend?code=c&state=x", headers={"Accept": "application/json"})
    assert as_json.status_code == 400 and as_json.get_json()["issue"][0]["code"] == "invalid"


def test_authorization_error_is_shown_without_echoing_markup(client: FlaskClient) -> None:
    resp = client.get("/trend?error=access_denied<script>&state=s")
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "access_deniedscript" in html and "<script>&" not in html


@pytest.mark.parametrize("accept, kind", [("text/html", "text/html"), ("application/json", "application/json")])
def test_iss_outside_the_allowlist_is_refused_before_any_request(db_path: Path, accept: str, kind: str) -> None:
    with recording_server() as allowed, recording_server() as other:
        allowed.set_json("/fhir/.well-known/smart-configuration", smart_config(allowed))
        other.set_json("/fhir/.well-known/smart-configuration", smart_config(other))
        app = create_app({"AUTH": "none", "DATABASE_URL": f"sqlite:///{db_path}",
                          "ALLOWED_FHIR_SERVERS": allowed.url("/fhir")})
        client = app.test_client()
        refused = _launch(client, other.url("/fhir"), Accept=accept)
        assert refused.status_code == 403 and refused.mimetype == kind
        assert "allowlist" in refused.get_data(as_text=True)
        if kind == "application/json":
            assert refused.get_json()["issue"][0]["code"] == "forbidden"
        assert other.connections == []  # refused before any connection
        for url in ("https://ehr.example.org/fhir", f"{allowed.url('/fhir')}-admin", "ftp://127.0.0.1/fhir",
                    "not a url"):
            assert _launch(client, url, Accept=accept).status_code in (400, 403), url
        standalone = client.get(f"/trend?iss={quote(other.url('/fhir'), safe='')}&patient=p1",
                                headers={"Accept": accept})
        assert standalone.status_code == 403
        assert _launch(client, allowed.url("/fhir")).status_code == 302  # the listed server is followed


@pytest.mark.parametrize("config, status, says", [
    (None, 502, "no SMART configuration"),
    ({"token_endpoint": "https://auth.example.org/token"}, 502, "authorization_endpoint is missing"),
    ({"authorization_endpoint": "http://auth.example.org/a", "token_endpoint": "https://auth.example.org/t"}, 502,
     "is not https"),
    ({"authorization_endpoint": "https://a.example.org/a", "token_endpoint": "https://a.example.org/t",
      "code_challenge_methods_supported": ["plain"]}, 502, "S256"),
    ("not json", 502, "could not be read"),
])
def test_an_unusable_smart_configuration_is_an_error_page_not_a_500(client: FlaskClient, config: Any, status: int,
                                                                  says: str) -> None:
    with recording_server() as server:
        if isinstance(config, dict):
            server.set_json("/fhir/.well-known/smart-configuration", config)
        elif config is not None:
            server.routes["/fhir/.well-known/smart-configuration"] = (500, {}, b"oops")
        resp = _launch(client, server.url("/fhir"))
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert says in resp.get_data(as_text=True)
    assert "Set-Cookie" not in resp.headers


def test_an_ehr_that_launches_the_page_itself_is_followed(client: FlaskClient, ehr: RecordingServer) -> None:
    resp = client.get(f"/trend?iss={quote(ehr.url('/fhir'), safe='')}&launch={LAUNCH}")
    assert resp.status_code == 302 and resp.headers["Location"].startswith(ehr.url("/auth/authorize?"))


def test_launch_without_launch_or_iss_is_a_400(client: FlaskClient, ehr: RecordingServer) -> None:
    assert client.get("/trend/launch").status_code == 400
    assert client.get(f"/trend/launch?iss={quote(ehr.url('/fhir'), safe='')}").status_code == 400
    assert ehr.connections == []


def test_the_redirect_uri_follows_the_public_base_url(db_path: Path, ehr: RecordingServer) -> None:
    app = create_app({"AUTH": "none", "DATABASE_URL": f"sqlite:///{db_path}", "PUBLIC_BASE_URL": "https://cds.test/",
                      "ALLOWED_FHIR_SERVERS": ehr.url("/fhir"), "SMART_CLIENT_ID": "site-client"})
    resp = _launch(app.test_client(), ehr.url("/fhir"))
    params = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert params["redirect_uri"] == ["https://cds.test/trend"] and params["client_id"] == ["site-client"]
    state = params["state"][0]
    assert _cookie(resp, trend.COOKIE_PREFIX + state)[trend.COOKIE_PREFIX + state]["secure"]


# ---------------------------------------------------------------------------------------------- standalone, off


def test_standalone_launch_renders_the_page_for_an_open_server(client: FlaskClient) -> None:
    iss = "http://127.0.0.1:9/fhir"
    resp = client.get(f"/trend?iss={quote(iss, safe='')}&patient=lpc-diuretic-hypokalemia")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert 'data-mode="open"' in html and 'data-patient="lpc-diuretic-hypokalemia"' in html
    assert 'data-verifier=""' in html and "/pages/static/trend.js" in html and "<script>" not in html
    assert "connect-src 'self' http://127.0.0.1:9" in resp.headers["Content-Security-Policy"]
    bad = client.get(f"/trend?iss={quote(iss, safe='')}&patient=" + quote('"><script>x</script>'))
    assert bad.status_code == 400 and "<script>x" not in bad.get_data(as_text=True)
    start = client.get("/trend")
    assert start.status_code == 200 and 'name="iss"' in start.get_data(as_text=True)


def test_codes_json_carries_the_code_knowledge_and_no_patient_data(client: FlaskClient) -> None:
    codes = client.get("/trend/codes.json").get_json()
    by_id = {a["id"]: a for a in codes["analytes"]}
    assert {"potassium", "magnesium", "sodium", "calcium-total", "ck", "abi"} <= set(by_id)
    k = by_id["potassium"]
    assert "http://loinc.org|2823-3" in k["codes"] and k["unit"] == "mmol/L" and (k["low"], k["high"]) == (3.5, 5.5)
    assert k["factors"]["meq/l"] == {"factor": 1.0, "offset": 0.0}
    assert by_id["ck"]["low"] is None and by_id["ck"]["high"] == 170.0
    groups = {g["id"]: g for g in codes["drugGroups"]}
    assert "http://www.nlm.nih.gov/research/umls/rxnorm|313988" in groups["diuretic"]["codes"]  # furosemide 40 mg
    assert "http://www.nlm.nih.gov/research/umls/rxnorm|617311" in groups["statin"]["codes"]  # atorvastatin 40 mg
    assert "lasix" in groups["diuretic"]["names"] and "simvastatin" in groups["statin"]["names"]
    assert not set(groups["diuretic"]["codes"]) & set(groups["statin"]["codes"])


def _trend_case() -> tuple[str, dict[str, Any]]:
    """A golden call (service id, body) answered with an electrolyte card."""
    for path in sorted(GOLDEN.glob("*/fires-electrolyte-imbalance-*.response.json")):
        cards = json.loads(path.read_text())["body"].get("cards", [])
        if any(c["source"]["topic"]["code"] == "electrolyte-imbalance" for c in cards):
            req = path.with_name(path.name.replace(".response.", ".request."))
            return path.parent.name, json.loads(req.read_text())
    raise AssertionError("no golden electrolyte case")


def test_pages_off_no_trend_and_no_link(db_path: Path) -> None:
    app = create_app({"AUTH": "none", "PAGES": "off", "DATABASE_URL": f"sqlite:///{db_path}"})
    client = app.test_client()
    assert client.get("/trend").status_code == 404 and client.get("/trend/launch").status_code == 404
    service, body = _trend_case()
    cards = client.post(f"/cds-services/{service}", json=body).get_json()["cards"]
    assert cards and not [c for c in cards if _smart_links(c)]


# ---------------------------------------------------------------------------------------------- the cards' link


def _smart_links(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [x for x in card.get("links", []) if x.get("type") == "smart"]


def test_golden_responses_carry_the_smart_link_on_exactly_the_trend_topics() -> None:
    seen = {True: 0, False: 0}
    for path in sorted(GOLDEN.glob("*/*.response.json")):
        for card in (json.loads(path.read_text())["body"] or {}).get("cards", []) or []:
            topic = card.get("source", {}).get("topic", {}).get("code")
            wanted = topic in schemas.TREND_TOPICS
            links = _smart_links(card)
            assert links == ([{"label": "Lab trend (SMART app)", "url": "http://localhost/trend/launch",
                               "type": "smart"}] if wanted else []), (path.name, topic)
            seen[wanted] += 1
    assert seen[True] and seen[False]


def test_the_link_uses_the_public_base_url(db_path: Path) -> None:
    service, body = _trend_case()
    app = create_app({"AUTH": "none", "DATABASE_URL": f"sqlite:///{db_path}", "PUBLIC_BASE_URL": "https://cds.test"})
    cards = app.test_client().post(f"/cds-services/{service}", json=body).get_json()
    links = [x for c in cards["cards"] for x in _smart_links(c)]
    assert links and {x["url"] for x in links} == {"https://cds.test/trend/launch"}


# ---------------------------------------------------------------------------------------------- real FHIR server


def _search(server: SekmetServer, path: str, max_pages: int) -> list[dict[str, Any]]:
    """What static/trend.js does: GET {iss}/{path} with the token, following `next` on the same server."""
    url: str | None = f"{server.base_url}/{path}"
    out: list[dict[str, Any]] = []
    for _ in range(max_pages):
        if url is None:
            break
        resp = requests.get(url, headers=server.headers(), timeout=10)
        assert resp.status_code == 200, resp.text[:300]
        page = resp.json()
        out += [e["resource"] for e in page.get("entry", [])]
        url = next((link["url"] for link in page.get("link", []) if link["relation"] == "next"), None)
    return out


def _codings(concept: dict[str, Any] | None) -> set[str]:
    return {f"{c.get('system')}|{c.get('code')}" for c in (concept or {}).get("coding", [])}


@pytest.mark.server
def test_the_page_finds_the_sample_patients_results_and_drugs_on_a_real_fhir_server(
        client: FlaskClient, sekmet_samples: SekmetServer) -> None:
    from tests.conftest_fhir import SAMPLE_NOW

    page = client.get(f"/trend?iss={quote(sekmet_samples.base_url, safe='')}&patient=lpc-multiple-causes")
    assert page.status_code == 200
    assert f"connect-src 'self' {urlsplit(sekmet_samples.base_url).scheme}://127.0.0.1:" in \
        page.headers["Content-Security-Policy"]
    codes = client.get("/trend/codes.json").get_json()
    code_of = {c: a["id"] for a in codes["analytes"] for c in a["codes"]}
    loinc = ",".join(",".join(a["codes"]) for a in codes["analytes"])
    groups = {g["id"]: set(g["codes"]) for g in codes["drugGroups"]}

    for name in ("lpc-diuretic-hypokalemia", "lpc-multiple-causes", "lpc-statin-myalgia", "lpc-messy-meds"):
        paths = [s.replace("{patient}", quote(name)).replace("{codes}", quote(loinc, safe=""))
                 for s in codes["searches"]]
        observations, statements, requests_ = (_search(sekmet_samples, p, codes["maxPages"]) for p in paths)
        expected = _expected(name, SAMPLE_NOW, code_of)
        got = sorted((code_of[next(iter(_codings(o["code"]) & set(code_of)))], o["effectiveDateTime"][:10],
                      o["valueQuantity"]["value"]) for o in observations if "valueQuantity" in o)
        assert got == expected, name
        drugs_found = set()
        for med in statements + requests_:
            concept = med.get("medicationCodeableConcept")
            ref = (med.get("medicationReference") or {}).get("reference", "")
            if ref.startswith("Medication/"):  # what the page reads for a referenced Medication
                concept = requests.get(f"{sekmet_samples.base_url}/{ref}", headers=sekmet_samples.headers(),
                                       timeout=10).json()["code"]
            for group, group_codes in groups.items():
                if _codings(concept) & group_codes:
                    drugs_found.add(group)
        assert drugs_found == _expected_groups(name), name


def _expected(name: str, now: datetime, code_of: dict[str, str]) -> list[tuple[str, str, float]]:
    out = []
    for res in samples.resources_of(samples.materialize(name, now)):
        if res["resourceType"] == "Observation" and "valueQuantity" in res:
            hits = _codings(res["code"]) & set(code_of)
            if hits:
                out.append((code_of[next(iter(hits))], res["effectiveDateTime"][:10], res["valueQuantity"]["value"]))
    return sorted(out)


def _expected_groups(name: str) -> set[str]:
    return {"lpc-diuretic-hypokalemia": {"diuretic", "statin"}, "lpc-multiple-causes": {"diuretic", "statin"},
            "lpc-statin-myalgia": {"statin"}, "lpc-messy-meds": {"diuretic", "statin"}}[name]


def test_the_fast_dump_adds_the_link_as_the_schema_would() -> None:
    from cards.model import Card, Indicator, Link, Source
    from cards.topics import Topic

    card = Card(summary="K 2.9", indicator=Indicator.WARNING, source=Source("x", topic=Topic.DIURETIC_EFFECT.coding()),
                links=(Link("Guideline", "https://example.org/g"),))
    extra = schemas.topic_links("https://cds.test/trend/launch")[Topic.DIURETIC_EFFECT.value]
    fast = schemas.card_json(card, "u-1", [], extra)
    assert fast == schemas.schema_card_json(card, "u-1", [], extra)
    assert fast["links"] == [{"label": "Guideline", "url": "https://example.org/g", "type": "absolute"},
                             {"label": "Lab trend (SMART app)", "url": "https://cds.test/trend/launch",
                              "type": "smart"}]
    body, _ = schemas.dump_cards([card], new_uuid=lambda: "u", links=schemas.topic_links("https://cds.test/t"))
    assert body["cards"][0]["links"][-1]["url"] == "https://cds.test/t"
    other = Card(summary="s", indicator=Indicator.INFO, source=Source("x", topic=Topic.RESTLESS_LEGS.coding()))
    body, _ = schemas.dump_cards([other], new_uuid=lambda: "u", links=schemas.topic_links("https://cds.test/t"))
    assert "links" not in body["cards"][0]


@pytest.mark.server
def test_ehr_launch_reads_a_real_servers_smart_configuration(client: FlaskClient, sekmet_server: SekmetServer) -> None:
    """sekmet-fhir publishes a SMART configuration (it runs no user launches itself): the launch follows it."""
    resp = _launch(client, sekmet_server.base_url)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    location = urlsplit(resp.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{sekmet_server.root_url}/auth/authorize"
    params = parse_qs(location.query)
    assert params["aud"] == [sekmet_server.base_url] and params["code_challenge_method"] == ["S256"]


def test_the_page_script_writes_no_html_and_the_templates_no_inline_script() -> None:
    pages = Path(trend.__file__).parent
    code = re.sub(r"/\*.*?\*/", "", (pages / "static" / "trend.js").read_text(encoding="utf-8"), flags=re.S)
    for sink in (".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in code, sink
    for template in pages.glob("templates/trend*.html"):
        html = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", html) and " style=" not in html and " on" + "click" not in html
