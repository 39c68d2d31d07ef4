"""The security module wired into the real app (create_app): auth on every CDS endpoint, limits, audit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cds_service import create_app
from cds_service.security import web as security
from cds_service.config import ConfigError

from .conftest import BASE, TokenFactory, public_jwk, trusted_clients_doc

SVC = "/cds-services/leg-pain-causes"


@pytest.fixture
def secured(tmp_path: Path, keys: Any, http_server: Any) -> tuple[Any, TokenFactory]:
    jwks = http_server()
    jwks.set_json("/ehr/jwks.json", {"keys": [public_jwk(keys.rsa, "rsa-1", "RS384")]})
    trusted = tmp_path / "trusted.json"
    trusted.write_text(json.dumps(trusted_clients_doc(keys, jwks.url("/ehr/jwks.json"))))
    app = create_app({"AUTH": "jwt", "TRUSTED_CLIENTS": str(trusted), "PUBLIC_BASE_URL": BASE,
                      "AUTH_ALLOW_HTTP_LOOPBACK_JWKS": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
                      "MAX_BUNDLE_ENTRIES": 50, "MAX_JSON_DEPTH": 32})
    yield app, TokenFactory(keys, jwks.url("/ehr/jwks.json"))
    st = security.state(app)
    assert st.authenticator is not None
    st.authenticator.jwks.close()


def auth(tokens: TokenFactory, path: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.make(BASE + path)}"}


def test_every_cds_endpoint_needs_a_token(secured: Any, build: Any) -> None:
    app, tokens = secured
    client = app.test_client()
    assert client.get("/cds-services").status_code == 401
    assert client.post(SVC, json=build.hook_request(build.full_prefetch())).status_code == 401
    assert client.post(f"{SVC}/feedback", json={"feedback": []}).status_code == 401
    assert client.get("/healthz").status_code == 200
    assert client.get("/cds-services", headers=auth(tokens, "/cds-services")).status_code == 200
    resp = client.post(SVC, json=build.hook_request(build.full_prefetch()), headers=auth(tokens, SVC))
    assert resp.status_code == 200
    rows = security.state(app).audit.recent(10)
    assert [(r.endpoint, r.status) for r in rows][:2] == [("service", 200), ("discovery", 200)]
    assert rows[0].hook_instance == build.HOOK_INSTANCE and rows[0].issuer == "https://ehr.test"
    assert rows[0].card_count is not None


def test_cors_preflight_needs_no_token(secured: Any) -> None:
    app, _ = secured
    resp = app.test_client().options(SVC, headers={"Origin": "https://sandbox.cds-hooks.org",
                                                   "Access-Control-Request-Method": "POST",
                                                   "Access-Control-Request-Headers": "authorization,content-type"})
    assert resp.status_code == 200
    assert "authorization" in resp.headers.get("Access-Control-Allow-Headers", "").lower()


def test_401_carries_cors_headers_so_a_browser_client_can_read_it(secured: Any) -> None:
    app, _ = secured
    resp = app.test_client().get("/cds-services", headers={"Origin": "https://sandbox.cds-hooks.org"})
    assert resp.status_code == 401
    assert resp.headers.get("Access-Control-Allow-Origin")


def test_too_deep_json_is_400(secured: Any) -> None:
    app, tokens = secured
    body = '{"hook": "patient-view", "x": ' + "[" * 40 + "]" * 40 + "}"
    resp = app.test_client().post(SVC, data=body, content_type="application/json", headers=auth(tokens, SVC))
    assert resp.status_code == 400
    assert "CDS_MAX_JSON_DEPTH" in resp.get_json()["issue"][0]["diagnostics"]
    assert security.state(app).audit.recent(1)[0].reason == "structure"


def test_too_many_bundle_entries_is_413(secured: Any, build: Any) -> None:
    app, tokens = secured
    prefetch = build.full_prefetch(*[build.potassium(4.0, rid=f"k{i}") for i in range(51)])
    resp = app.test_client().post(SVC, json=build.hook_request(prefetch), headers=auth(tokens, SVC))
    assert resp.status_code == 413
    outcome = resp.get_json()
    assert outcome["issue"][0]["code"] == "too-costly"
    assert "CDS_MAX_BUNDLE_ENTRIES" in outcome["issue"][0]["diagnostics"]


def test_jwt_without_trusted_clients_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CDS_TRUSTED_CLIENTS"):
        create_app({"AUTH": "jwt", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"})


def test_bad_fhir_allowlist_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CDS_ALLOWED_FHIR_SERVERS"):
        create_app({"AUTH": "none", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
                    "ALLOWED_FHIR_SERVERS": "http://ehr.example.org/fhir"})


def test_a_trusted_client_s_own_possible_cause_setting_applies_to_its_calls(tmp_path: Path, keys: Any,
                                                                           http_server: Any, build: Any) -> None:
    """Sites differ: one EHR (by its verified issuer) may see possible-cause cards always, others as configured."""
    jwks = http_server()
    jwks.set_json("/ehr/jwks.json", {"keys": [public_jwk(keys.rsa, "rsa-1", "RS384")]})
    doc = trusted_clients_doc(keys, jwks.url("/ehr/jwks.json"))
    prefetch = build.full_prefetch()
    prefetch["medications"] = build.bundle({
        "resourceType": "MedicationStatement", "id": "ms-1", "status": "active",
        "subject": {"reference": f"Patient/{build.PATIENT_ID}"},
        "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                  "code": "617312"}]}})
    shown = {}
    for setting in (None, "always"):
        if setting:
            doc["clients"][0]["possible_cause_cards"] = setting
        trusted = tmp_path / f"trusted-{setting}.json"
        trusted.write_text(json.dumps(doc))
        app = create_app({"AUTH": "jwt", "TRUSTED_CLIENTS": str(trusted), "PUBLIC_BASE_URL": BASE,
                          "AUTH_ALLOW_HTTP_LOOPBACK_JWKS": True,
                          "DATABASE_URL": f"sqlite:///{tmp_path / f'db-{setting}.sqlite3'}"})
        tokens = TokenFactory(keys, jwks.url("/ehr/jwks.json"))
        resp = app.test_client().post(SVC, json=build.hook_request(prefetch), headers=auth(tokens, SVC))
        assert resp.status_code == 200
        shown[setting] = [c["source"]["topic"]["code"] for c in resp.get_json()["cards"]]
        security.state(app).authenticator.jwks.close()  # type: ignore[union-attr]
    assert shown == {None: [], "always": ["statin-muscle-symptoms"]}
