"""CORS for browser clients such as the CDS Hooks Sandbox: preflight and actual responses."""
from __future__ import annotations

import logging
from typing import Any

from cds_service import create_app
from flask.testing import FlaskClient

ORIGIN = "https://sandbox.cds-hooks.org"


def test_preflight_allows_authorization_and_content_type(client: FlaskClient) -> None:
    resp = client.options("/cds-services/leg-pain-causes", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Origin"] in {"*", ORIGIN}
    allowed = {h.strip().lower() for h in resp.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert "POST" in resp.headers["Access-Control-Allow-Methods"]
    assert int(resp.headers["Access-Control-Max-Age"]) > 0


def test_actual_responses_carry_the_origin_header(client: FlaskClient, build: Any) -> None:
    for resp in (client.get("/cds-services", headers={"Origin": ORIGIN}),
                 client.post("/cds-services/leg-pain-causes", headers={"Origin": ORIGIN},
                             json=build.hook_request(build.full_prefetch())),
                 client.post("/cds-services/leg-pain-causes", headers={"Origin": ORIGIN}, data="{",
                             content_type="application/json")):
        assert resp.headers["Access-Control-Allow-Origin"] in {"*", ORIGIN}, resp.status_code


def test_configured_origins_only(app_overrides: dict[str, Any]) -> None:
    client = create_app({**app_overrides, "CORS_ORIGINS": "https://ehr.example.org, https://other.example"}) \
        .test_client()
    ok = client.get("/cds-services", headers={"Origin": "https://ehr.example.org"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://ehr.example.org"
    denied = client.get("/cds-services", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in denied.headers
    preflight = client.options("/cds-services/leg-pain-causes", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers


# ---------------------------------------------------------------------------------------------- refused origins
# The browser drops an answer whose origin is not allowed, and the page shows nothing (the CDS Hooks Sandbox: no
# services, "All clear! No cards"). The operator's only clue is this log line (docs/sandbox.md, "When the Sandbox shows nothing").


def _refusals(caplog: Any) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "cds_service.api.cors" and "CORS origin refused" in r.getMessage()]


def test_a_refused_origin_is_logged_once_with_the_localhost_hint(app_overrides: dict[str, Any], caplog: Any) -> None:
    client = create_app({**app_overrides, "CORS_ORIGINS": "http://127.0.0.1:8080"}).test_client()
    caplog.set_level(logging.DEBUG, logger="cds_service.api.cors")
    preflight = client.options("/cds-services/leg-pain-causes", headers={
        "Origin": "http://localhost:8080", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert "Access-Control-Allow-Origin" not in preflight.headers
    [first] = _refusals(caplog)
    assert first.levelno == logging.WARNING
    text = first.getMessage()
    assert "origin=http://localhost:8080" in text and "preflight=yes" in text
    assert "allowed=http://127.0.0.1:8080 (CDS_CORS_ORIGINS)" in text
    assert "localhost and 127.0.0.1 are different origins" in text
    discovery = client.get("/cds-services", headers={"Origin": "http://localhost:8080"})
    assert discovery.status_code == 200 and "Access-Control-Allow-Origin" not in discovery.headers
    again = _refusals(caplog)[1]
    assert again.levelno == logging.DEBUG  # the same origin again: not a second warning


def test_allowed_origins_and_calls_without_origin_log_nothing(app_overrides: dict[str, Any], caplog: Any,
                                                              build: Any) -> None:
    caplog.set_level(logging.DEBUG, logger="cds_service.api.cors")
    client = create_app({**app_overrides, "CORS_ORIGINS": "http://127.0.0.1:8080"}).test_client()
    assert client.get("/cds-services", headers={"Origin": "http://127.0.0.1:8080"}) \
        .headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8080"
    client.post("/cds-services/leg-pain-causes", json=build.hook_request(build.full_prefetch()))
    open_client = create_app(app_overrides).test_client()  # CDS_CORS_ORIGINS=*: nothing is ever refused
    open_client.get("/cds-services", headers={"Origin": "http://localhost:8080"})
    assert _refusals(caplog) == []


def test_the_log_line_holds_no_request_content(app_overrides: dict[str, Any], caplog: Any, build: Any) -> None:
    caplog.set_level(logging.DEBUG, logger="cds_service.api.cors")
    client = create_app({**app_overrides, "CORS_ORIGINS": "https://ehr.example.org"}).test_client()
    weird = "https://x.example/Patient/Jane-Doe?name=Jane Doe"
    client.post("/cds-services/leg-pain-causes", headers={"Origin": weird},
                json=build.hook_request(build.full_prefetch()))
    [record] = _refusals(caplog)
    text = record.getMessage()
    assert "Jane" not in text and "<not an origin, " in text
    assert build.PATIENT_ID not in text
