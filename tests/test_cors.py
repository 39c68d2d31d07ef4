"""CORS for browser clients such as the CDS Hooks Sandbox: preflight and actual responses."""
from __future__ import annotations

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
