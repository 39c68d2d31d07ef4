"""A medicationReference to a Medication that was not prefetched: read from fhirServer, or said on the cards.

Discovery's medication templates ``_include`` the Medication, which is outside the spec's recommended prefetch
subset; a client that skips it sends MedicationStatements whose drug is only a reference. The drug must not silently
disappear from every card. Against a real HTTP server on 127.0.0.1 (tests/test_fhir_data.py's FakeFhir).
"""
from __future__ import annotations

from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from cds_service import create_app
from tests.test_fhir_data import TOKEN, FakeFhir, Reply

SERVICE = "/cds-services/leg-pain-causes"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UNIDENTIFIED_MEDICATION = "a medication could not be identified"  # the start of cards.facts.UNIDENTIFIED_MEDICATION
FUROSEMIDE = {"resourceType": "Medication", "id": "m1",
              "code": {"coding": [{"system": RXNORM, "code": "4603", "display": "furosemide"}]}}


@pytest.fixture
def fhir() -> Iterator[FakeFhir]:
    server = FakeFhir()
    yield server
    server.close()


def _statement(reference: str, status: str = "active", rid: str = "ms1") -> dict[str, Any]:
    return {"resourceType": "MedicationStatement", "id": rid, "status": status,
            "subject": {"reference": "Patient/pat-1"}, "medicationReference": {"reference": reference}}


def _body(build: Any, *medications: dict[str, Any], server: FakeFhir | None = None) -> dict[str, Any]:
    prefetch = build.full_prefetch(build.potassium(2.9))
    prefetch["medications"] = build.bundle(*medications)
    body = build.hook_request(prefetch)
    if server is not None:
        body["fhirServer"] = server.base
        body["fhirAuthorization"] = {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 300,
                                     "scope": "patient/*.read", "subject": "cds-service"}
    return body


def _medication_route(found: dict[str, dict[str, Any]]) -> Any:
    def route(path: str) -> Reply:
        mid = urlsplit(path).path.rsplit("/", 1)[-1]
        if mid in found:
            return 200, found[mid], {}
        return 404, {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]}, {}
    return route


def _summaries(resp: Any) -> list[str]:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return [c["summary"] for c in resp.get_json()["cards"]]


def _details(resp: Any) -> str:
    return "\n".join(c["detail"] for c in resp.get_json()["cards"])


def test_a_referenced_medication_not_prefetched_is_read_from_fhir_server(client: FlaskClient, build: Any,
                                                                         fhir: FakeFhir) -> None:
    fhir.routes["Medication"] = _medication_route({"m1": FUROSEMIDE})
    resp = client.post(SERVICE, json=_body(build, _statement("Medication/m1"), server=fhir))
    assert any(s.startswith("Furosemide may explain low potassium") for s in _summaries(resp))
    assert UNIDENTIFIED_MEDICATION not in _details(resp)
    [(path, headers)] = fhir.requests  # the one missing resource, nothing else: every key was prefetched
    assert urlsplit(path).path == "/fhir/Medication/m1"
    assert headers["authorization"] == f"Bearer {TOKEN}"


def test_an_absolute_reference_on_fhir_server_is_read_too(client: FlaskClient, build: Any, fhir: FakeFhir) -> None:
    fhir.routes["Medication"] = _medication_route({"m1": FUROSEMIDE})
    resp = client.post(SERVICE, json=_body(build, _statement(f"{fhir.base}/Medication/m1"), server=fhir))
    assert any(s.startswith("Furosemide may explain") for s in _summaries(resp))
    assert [urlsplit(p).path for p in fhir.paths()] == ["/fhir/Medication/m1"]


def test_a_medication_that_cannot_be_fetched_is_said_on_the_cards(client: FlaskClient, build: Any,
                                                                  fhir: FakeFhir) -> None:
    fhir.routes["Medication"] = _medication_route({})  # 404
    resp = client.post(SERVICE, json=_body(build, _statement("Medication/m1"), server=fhir))
    assert _summaries(resp) and not any("Furosemide" in s for s in _summaries(resp))
    assert f"**Not evaluated:** {UNIDENTIFIED_MEDICATION} (" in _details(resp)
    assert len(fhir.paths("Medication")) == 1


def test_without_fhir_server_the_unidentified_medication_is_said_on_the_cards(client: FlaskClient,
                                                                              build: Any) -> None:
    resp = client.post(SERVICE, json=_body(build, _statement("Medication/m1")))
    assert _summaries(resp)
    assert UNIDENTIFIED_MEDICATION in _details(resp)


def test_a_server_off_the_allowlist_is_not_asked(app_overrides: dict[str, Any], build: Any,
                                                 fhir: FakeFhir) -> None:
    client = create_app({**app_overrides, "ALLOW_FHIR_SERVER": lambda _url: False}).test_client()
    fhir.routes["Medication"] = _medication_route({"m1": FUROSEMIDE})
    resp = client.post(SERVICE, json=_body(build, _statement("Medication/m1"), server=fhir))
    assert fhir.requests == []
    assert UNIDENTIFIED_MEDICATION in _details(resp)


@pytest.mark.parametrize("reference", [
    "Medication/..",  # would leave the base path
    "Medication/m1/../../Patient/pat-2",
    "http://elsewhere.example/fhir/Medication/m1",  # another server: the token is not sent there
    "Medication/" + "x" * 65,  # not a FHIR id
])
def test_references_that_cannot_be_read_from_fhir_server_are_not_requested(client: FlaskClient, build: Any,
                                                                            fhir: FakeFhir, reference: str) -> None:
    resp = client.post(SERVICE, json=_body(build, _statement(reference), server=fhir))
    assert fhir.requests == []
    assert UNIDENTIFIED_MEDICATION in _details(resp)


def test_a_stopped_medication_costs_no_request_and_no_note(client: FlaskClient, build: Any,
                                                           fhir: FakeFhir) -> None:
    resp = client.post(SERVICE, json=_body(build, _statement("Medication/m1", status="stopped"), server=fhir))
    assert fhir.requests == []
    assert _summaries(resp) and UNIDENTIFIED_MEDICATION not in _details(resp)


def test_each_medication_is_fetched_once(client: FlaskClient, build: Any, fhir: FakeFhir) -> None:
    fhir.routes["Medication"] = _medication_route({"m1": FUROSEMIDE})
    statements = [_statement("Medication/m1", rid=f"ms{i}") for i in range(5)]
    _summaries(client.post(SERVICE, json=_body(build, *statements, server=fhir)))
    assert len(fhir.paths("Medication")) == 1


def test_a_draft_order_naming_an_unsent_medication_is_read(client: FlaskClient, build: Any,
                                                           fhir: FakeFhir) -> None:
    """order-sign: a drafted thiazide given only as a reference, while potassium is low."""
    hctz = {"resourceType": "Medication", "id": "hctz",
            "code": {"coding": [{"system": RXNORM, "code": "5487", "display": "hydrochlorothiazide"}]}}
    fhir.routes["Medication"] = _medication_route({"hctz": hctz})
    body = _body(build, server=fhir)
    body["hook"] = "order-sign"
    body["context"]["draftOrders"] = build.bundle({
        "resourceType": "MedicationRequest", "id": "d1", "status": "draft", "intent": "order",
        "subject": {"reference": "Patient/pat-1"}, "medicationReference": {"reference": "Medication/hctz"}})
    resp = client.post("/cds-services/leg-pain-order-sign", json=body)
    assert [urlsplit(p).path for p in fhir.paths()] == ["/fhir/Medication/hctz"]
    assert any("hydrochlorothiazide" in c["detail"].lower() for c in resp.get_json()["cards"]), _summaries(resp)


def test_unresolved_references_are_those_no_medication_answers() -> None:
    from cards.facts import UNIDENTIFIED_MEDICATION as NOTE, unresolved_medication_references

    assert NOTE.startswith(UNIDENTIFIED_MEDICATION)
    statements = [_statement("Medication/a", rid="1"), _statement("Medication/b", rid="2"),
                  _statement("#contained", rid="3"), _statement("Medication/c", status="stopped", rid="4"),
                  _statement("https://ehr.example/fhir/Medication/b", rid="5")]
    drafts = [{"resourceType": "MedicationRequest", "medicationReference": {"reference": "Medication/d"}}]
    assert unresolved_medication_references([*statements, {"resourceType": "Medication", "id": "a"}], drafts) == [
        "Medication/b", "https://ehr.example/fhir/Medication/b", "Medication/d"]


def test_a_medication_fetch_stays_within_the_call_budget(client: FlaskClient, build: Any, fhir: FakeFhir) -> None:
    """The server stalls past the read timeout (FHIR_TIMEOUT_S in the tests): cards still come, with the note."""
    fhir.routes["Medication"] = _medication_route({"m1": FUROSEMIDE})
    fhir.stall = 30.0  # released when the fixture closes the server
    resp = client.post(SERVICE, json=_body(build, _statement("Medication/m1"), server=fhir))
    assert _summaries(resp) and UNIDENTIFIED_MEDICATION in _details(resp)
