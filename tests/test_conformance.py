"""Black-box CDS Hooks 2.0 conformance of `leg-pain-cds serve`, over real HTTP, with real signed client JWTs.

Covers discovery, invocation, the card schema (shared/cds-hooks-requirements.md A, B, D), errors, CORS, the
fhirServer fallback with a bearer token, 412 and feedback. The service runs as a subprocess with its production
server; the FHIR server is the stand-in on 127.0.0.1; the only trusted client signs with ES384 and an inline JWK Set.
"""
from __future__ import annotations

import json
import re
import sqlite3
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from cds_service import samples
from leg_pain_cds_bench.fhir_standin import FhirStandIn
from cds_service.runtime.serve import free_port, serve_subprocess

pytestmark = pytest.mark.server

ISSUER = "https://ehr.conformance.test"
KID = "conformance-key-1"
FHIR_TOKEN = "fhir-access-token-for-conformance"
SAMPLE = "lpc-diuretic-hypokalemia"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class Service:
    def __init__(self, base: str, key: ec.EllipticCurvePrivateKey, db: Path, fhir: FhirStandIn) -> None:
        self.base, self.key, self.db, self.fhir = base, key, db, fhir

    def token(self, aud: str, **overrides: Any) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": aud, "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex, **overrides}
        return jwt.encode(claims, self.key, algorithm="ES384", headers={"kid": KID, "typ": "JWT"})

    def get(self, path: str, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token(self.base + path)}", **kw.pop("headers", {})}
        return requests.get(self.base + path, headers=headers, timeout=20, **kw)

    def post(self, path: str, body: Any = None, *, raw: bytes | None = None, auth: bool = True,
             content_type: str = "application/json", **kw: Any) -> requests.Response:
        headers = {"Content-Type": content_type, **kw.pop("headers", {})}
        if auth:
            headers["Authorization"] = f"Bearer {self.token(self.base + path)}"
        data = raw if raw is not None else json.dumps(body).encode()
        return requests.post(self.base + path, data=data, headers=headers, timeout=30, **kw)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("conformance")
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid=KID, alg="ES384", use="sig")
    fhir = FhirStandIn(required_token=FHIR_TOKEN).start()
    fhir_base = fhir.base_url
    clients = {"clients": [{"iss": ISSUER, "jwks": {"keys": [jwk]}, "algorithms": ["ES384"],
                            "fhir_servers": [fhir_base]}]}
    (tmp / "clients.json").write_text(json.dumps(clients))
    db = tmp / "cds.sqlite3"
    script = Path(sys.executable).parent / "leg-pain-cds"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "cds_service.cli"]
    port = free_port()  # CDS_PUBLIC_BASE_URL must name the port before the server starts
    settings = {"CDS_AUTH": "jwt", "CDS_TRUSTED_CLIENTS": str(tmp / "clients.json"),
                "CDS_DATABASE_URL": f"sqlite:///{db}", "CDS_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
                "CDS_MAX_BODY_MB": "16", "CDS_FHIR_TIMEOUT_S": "3", "CDS_FHIR_TOTAL_BUDGET_S": "6"}
    try:
        with serve_subprocess(tmp, settings, args=("--workers", "2"), command=command, port=port) as (_, base):
            yield Service(base, key, db, fhir)
    finally:
        fhir.stop()


# ---------------------------------------------------------------------------------------------- schema checks


def assert_no_null_or_empty(value: Any, path: str = "$") -> None:
    """A-2/A-3: no null and no empty string/array/object anywhere (only `cards: []` may be empty)."""
    assert value is not None, f"null at {path}"
    if isinstance(value, dict):
        assert value or path == "$", f"empty object at {path}"
        for key, item in value.items():
            if path == "$" and key == "cards" and item == []:
                continue
            assert_no_null_or_empty(item, f"{path}.{key}")
    elif isinstance(value, list):
        assert value, f"empty array at {path}"
        for i, item in enumerate(value):
            assert_no_null_or_empty(item, f"{path}[{i}]")
    elif isinstance(value, str):
        assert value, f"empty string at {path}"


def assert_card(card: dict[str, Any]) -> None:
    assert UUID_RE.match(card["uuid"])
    assert isinstance(card["summary"], str) and 0 < len(card["summary"]) < 140                     # D-4
    assert card["indicator"] in {"info", "warning", "critical"}                                    # D-5
    src = card["source"]
    assert src["label"] and src["url"].startswith("https://")                                     # D-6
    assert src["topic"]["system"] and src["topic"]["code"]
    assert isinstance(card["detail"], str)                                                         # D-8
    if "suggestions" in card:                                                                      # D-9/D-10/D-11
        assert card["selectionBehavior"] in {"at-most-one", "any"}
        for s in card["suggestions"]:
            assert s["label"] and UUID_RE.match(s["uuid"])
            for action in s.get("actions", []):
                assert action["type"] in {"create", "update", "delete"} and action["description"]
                if action["type"] in {"create", "update"}:
                    assert action["resource"]["resourceType"]
                else:
                    assert re.match(r"^[A-Za-z]+/[A-Za-z0-9\-.]{1,64}$", action["resourceId"])
    for reason in card.get("overrideReasons", []):                                                 # D-12
        assert reason["code"] and reason["system"] and reason["display"]
    for link in card.get("links", []):                                                             # D-13
        assert link["label"] and link["type"] in {"absolute", "smart"}
        assert re.match(r"^https?://[^/]+", link["url"])
        assert link["type"] == "smart" or "appContext" not in link


def assert_operation_outcome(resp: requests.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["resourceType"] == "OperationOutcome" and body["issue"][0]["diagnostics"]
    assert "Traceback" not in resp.text
    return body


# ---------------------------------------------------------------------------------------------- tests


def test_discovery(service: Service) -> None:
    resp = service.get("/cds-services")
    assert resp.status_code == 200
    body = resp.json()
    assert_no_null_or_empty(body)
    ids = {s["id"]: s for s in body["services"]}
    for svc in body["services"]:
        assert svc["hook"] and svc["description"] and svc["title"] and re.match(r"^[a-z0-9-]+$", svc["id"])
        for template in svc.get("prefetch", {}).values():                                          # B-10/B-11
            # patient-view's token-eligible context fields: userId, patientId, encounterId (B-11)
            assert set(re.findall(r"\{\{(.*?)\}\}", template)) <= {"context.patientId", "context.encounterId"}
    assert ids["leg-pain-causes"]["hook"] == "patient-view"
    assert {"patient", "observations", "medications", "conditions"} <= set(ids["leg-pain-causes"]["prefetch"])


def test_every_call_needs_a_client_jwt(service: Service) -> None:
    resp = requests.get(service.base + "/cds-services", timeout=10)
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    wrong_aud = service.token(service.base + "/cds-services/other")
    resp = requests.get(service.base + "/cds-services", headers={"Authorization": f"Bearer {wrong_aud}"}, timeout=10)
    assert resp.status_code == 401


@pytest.mark.parametrize("name", [s.id for s in samples.list_samples()])
def test_invocation_with_prefetch_gives_valid_cards(service: Service, name: str) -> None:
    request = samples.hook_request(name, datetime.now(timezone.utc))
    resp = service.post("/cds-services/leg-pain-causes", request)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert_no_null_or_empty(body)
    for card in body["cards"]:
        assert_card(card)
    got = {c["source"]["topic"]["code"]: c["indicator"] for c in body["cards"]}
    assert len(got) == len(body["cards"])  # one card per topic
    assert got == samples.sample(name).topics


def test_errors(service: Service) -> None:
    path = "/cds-services/leg-pain-causes"
    assert_operation_outcome(service.post(path, raw=b"{not json"), 400)
    assert_operation_outcome(service.post(path, {"hook": "patient-view", "context": {}}), 400)
    good = samples.hook_request(SAMPLE, datetime.now(timezone.utc))
    assert_operation_outcome(service.post(path, {**good, "hook": "order-sign"}), 400)
    assert_operation_outcome(service.post("/cds-services/no-such-service", good), 404)
    assert_operation_outcome(service.post(path, good, content_type="text/plain"), 415)
    assert_operation_outcome(service.post(path, raw=b" " * (17 * 1024 * 1024)), 413)


def test_cors(service: Service) -> None:
    origin = "https://sandbox.cds-hooks.org"
    pre = requests.options(service.base + "/cds-services/leg-pain-causes", timeout=10, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert pre.status_code in (200, 204)
    assert pre.headers["Access-Control-Allow-Origin"] in ("*", origin)
    allowed = pre.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    actual = service.get("/cds-services", headers={"Origin": origin})
    assert actual.headers["Access-Control-Allow-Origin"] in ("*", origin)


def test_fhir_server_fallback_with_bearer_token(service: Service) -> None:
    now = datetime.now(timezone.utc)
    bundle = samples.materialize(SAMPLE, now)
    service.fhir.clear()
    service.fhir.add(*[e["resource"] for e in bundle["entry"]])
    service.fhir.reset_logs()
    complete = samples.hook_request(SAMPLE, now, fhir_server=service.fhir.base_url, access_token=FHIR_TOKEN)
    with_prefetch = service.post("/cds-services/leg-pain-causes", complete).json()
    assert not service.fhir.requests, "complete prefetch must not touch the FHIR server"
    request = samples.hook_request(SAMPLE, now, with_prefetch=False, fhir_server=service.fhir.base_url,
                                   access_token=FHIR_TOKEN)
    resp = service.post("/cds-services/leg-pain-causes", request)
    assert resp.status_code == 200, resp.text
    fallback = resp.json()
    assert service.fhir.requests and all(r.bearer_token == FHIR_TOKEN for r in service.fhir.requests)
    strip = [(c["source"]["topic"]["code"], c["indicator"], c["summary"]) for c in with_prefetch["cards"]]
    assert [(c["source"]["topic"]["code"], c["indicator"], c["summary"]) for c in fallback["cards"]] == strip


def test_412_when_required_data_is_unavailable(service: Service) -> None:
    request = samples.hook_request(SAMPLE, datetime.now(timezone.utc), with_prefetch=False)
    body = assert_operation_outcome(service.post("/cds-services/leg-pain-causes", request), 412)
    assert "observations" in json.dumps(body)
    wrong_token = samples.hook_request(SAMPLE, datetime.now(timezone.utc), with_prefetch=False,
                                       fhir_server=service.fhir.base_url, access_token="not-the-token")
    assert_operation_outcome(service.post("/cds-services/leg-pain-causes", wrong_token), 412)


def test_feedback_is_stored_and_joined_to_the_issued_card(service: Service) -> None:
    resp = service.post("/cds-services/leg-pain-causes", samples.hook_request(SAMPLE, datetime.now(timezone.utc)))
    card = next(c for c in resp.json()["cards"] if c.get("suggestions"))
    suggestion = card["suggestions"][0]["uuid"]
    feedback = {"feedback": [{"card": card["uuid"], "outcome": "accepted", "acceptedSuggestions": [{"id": suggestion}],
                              "outcomeTimestamp": "2026-11-25T12:00:00Z"}]}
    assert service.post("/cds-services/leg-pain-causes/feedback", feedback).status_code == 200
    bad = {"feedback": [{"card": card["uuid"], "outcome": "maybe", "outcomeTimestamp": "yesterday"}]}
    assert_operation_outcome(service.post("/cds-services/leg-pain-causes/feedback", bad), 400)
    with sqlite3.connect(service.db) as db:
        tables = {r[0] for r in db.execute("select name from sqlite_master where type='table'")}
        feedback_table = next(t for t in tables if "feedback" in t)
        rows = db.execute(f"select * from {feedback_table}").fetchall()  # noqa: S608 - table name from the schema
    assert any(card["uuid"] in map(str, row) for row in rows)
