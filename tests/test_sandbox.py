"""CDS Hooks Sandbox compatibility: requests replayed in the shape the Sandbox sends them (issue 5).

The Sandbox is a browser app: it fetches discovery with CORS, signs every call with an ES384 JWT whose `jku` is
its JWK Set URL, sends the prefetch it gathered itself (sometimes an OperationOutcome for a template the server
rejected), sends `fhirServer` without `fhirAuthorization` for open servers, and on order-select may send a draft
MedicationRequest with no medication or with `category` as an object instead of an array.
Here the Sandbox's JWK Set is served from 127.0.0.1 (the tests are offline); everything else is as the Sandbox does it.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from flask.testing import FlaskClient
from jwt.algorithms import ECAlgorithm

from cds_service import create_app, samples
from leg_pain_cds_bench.fhir_standin import FhirStandIn

SANDBOX_ISS = "https://sandbox.cds-hooks.org"
SANDBOX_KID = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"  # the Sandbox's kid (deploy/trusted-clients.example.json notes)
ORIGIN = "https://sandbox.cds-hooks.org"
BASE = "http://localhost"
NOW = datetime.now(timezone.utc)


class _Jwks:
    def __init__(self, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FlaskClient, Any, str, FhirStandIn]]:
    tmp: Path = tmp_path_factory.mktemp("sandbox")
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid=SANDBOX_KID, alg="ES384", use="sig")
    jwks = _Jwks({"keys": [jwk]})
    fhir = FhirStandIn().start()  # an open server: the Sandbox sends no fhirAuthorization for those
    clients = {"clients": [{"iss": SANDBOX_ISS, "jwks_urls": [jwks.url], "algorithms": ["ES384"],
                            "fhir_servers": [fhir.base_url]}]}
    (tmp / "clients.json").write_text(json.dumps(clients))
    app = create_app({"AUTH": "jwt", "TRUSTED_CLIENTS": str(tmp / "clients.json"),
                      "AUTH_ALLOW_HTTP_LOOPBACK_JWKS": True, "DATABASE_URL": f"sqlite:///{tmp / 'cds.sqlite3'}",
                      "CORS_ORIGINS": ORIGIN, "PUBLIC_BASE_URL": BASE})
    try:
        yield app.test_client(), key, jwks.url, fhir
    finally:
        fhir.stop()
        jwks.server.shutdown()
        jwks.server.server_close()


def _sandbox_token(key: Any, jku: str, aud: str) -> str:
    """Shaped like the Sandbox's jwt-generator: ES384, typ JWT, kid and jku headers; no sub; 5-minute expiry."""
    now = int(time.time())
    claims = {"iss": SANDBOX_ISS, "aud": aud, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
    return jwt.encode(claims, key, algorithm="ES384", headers={"kid": SANDBOX_KID, "typ": "JWT", "jku": jku})


def _headers(sandbox: Any, path: str) -> dict[str, str]:
    _, key, jku, _ = sandbox
    return {"Authorization": f"Bearer {_sandbox_token(key, jku, BASE + path)}", "Origin": ORIGIN}


def test_discovery_from_the_browser(sandbox: Any) -> None:
    client = sandbox[0]
    pre = client.options("/cds-services", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET",
                                                   "Access-Control-Request-Headers": "authorization"})
    assert pre.status_code in (200, 204) and pre.headers["Access-Control-Allow-Origin"] == ORIGIN
    resp = client.get("/cds-services", headers=_headers(sandbox, "/cds-services"))
    assert resp.status_code == 200 and resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert {s["hook"] for s in resp.get_json()["services"]} == {"patient-view", "order-select", "order-sign"}


def test_patient_view_with_the_sandbox_prefetch(sandbox: Any) -> None:
    client = sandbox[0]
    path = "/cds-services/leg-pain-causes"
    body = samples.hook_request("lpc-diuretic-hypokalemia", NOW)
    body["context"]["userId"] = "Practitioner/COREPRACTITIONER1"  # the Sandbox's default user
    resp = client.post(path, json=body, headers=_headers(sandbox, path))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert {c["source"]["topic"]["code"] for c in resp.get_json()["cards"]} == {"electrolyte-imbalance",
                                                                              "diuretic-effect"}


def test_open_fhir_server_without_fhir_authorization_and_an_outcome_in_prefetch(sandbox: Any) -> None:
    client, _, _, fhir = sandbox
    name = "lpc-diuretic-hypokalemia"
    fhir.clear()
    fhir.add(*samples.resources_of(samples.materialize(name, NOW)))
    fhir.reset_logs()
    body = samples.hook_request(name, NOW, fhir_server=fhir.base_url)
    assert "fhirAuthorization" not in body
    # The Sandbox reports a prefetch template its server could not run as an OperationOutcome.
    body["prefetch"]["observations"] = {"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "not-supported", "diagnostics": "code list too long"}]}
    path = "/cds-services/leg-pain-causes"
    resp = client.post(path, json=body, headers=_headers(sandbox, path))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert "electrolyte-imbalance" in {c["source"]["topic"]["code"] for c in resp.get_json()["cards"]}
    fetched = fhir.requests
    assert [r.resource_type for r in fetched] == ["Observation"]  # only the key the Sandbox could not fill
    assert not any(r.authorization_present for r in fetched)


def _order_select(draft: dict[str, Any]) -> dict[str, Any]:
    base = samples.hook_request("lpc-diuretic-hypokalemia", NOW)
    return {"hook": "order-select", "hookInstance": str(uuid.uuid4()), "prefetch": base["prefetch"],
            "context": {"userId": "Practitioner/COREPRACTITIONER1", "patientId": base["context"]["patientId"],
                        "selections": [f"MedicationRequest/{draft.get('id', 'x')}"],
                        "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": draft}]}}}


@pytest.mark.parametrize("draft", [
    # Sandbox Rx View: `category` as an object, not an array (invalid R4), a medication chosen.
    {"resourceType": "MedicationRequest", "id": "request-123", "status": "draft", "intent": "order",
     "category": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category",
                              "code": "outpatient"}]},
     "medicationCodeableConcept": {"text": "Hydrochlorothiazide 25 MG Oral Tablet", "coding": [
         {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "310798",
          "display": "hydrochlorothiazide 25 MG Oral Tablet"}]},
     "subject": {"reference": "Patient/lpc-diuretic-hypokalemia"}},
    # Rx View before a medication is picked: no medication at all.
    {"resourceType": "MedicationRequest", "id": "request-123", "status": "draft", "intent": "order",
     "category": {"coding": [{"code": "outpatient"}]}, "subject": {"reference": "Patient/lpc-diuretic-hypokalemia"}},
    # A numeric code and no id.
    {"resourceType": "MedicationRequest", "status": "draft", "intent": "order",
     "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                               "code": 313988}]}},
])
def test_order_select_with_sandbox_drafts_never_fails(sandbox: Any, draft: dict[str, Any]) -> None:
    client = sandbox[0]
    path = "/cds-services/leg-pain-order-select"
    resp = client.post(path, json=_order_select(draft), headers=_headers(sandbox, path))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    cards = resp.get_json()["cards"]
    if "medicationCodeableConcept" in draft and draft.get("id"):
        [card] = cards  # a thiazide drafted while potassium is low (the patient already takes furosemide)
        assert card["source"]["topic"]["code"] == "diuretic-effect"
        deletes = [a for s in card["suggestions"] for a in s.get("actions", []) if a["type"] == "delete"]
        assert deletes and deletes[0]["resourceId"] == "MedicationRequest/request-123"
    elif "medicationCodeableConcept" not in draft:
        assert cards == []
