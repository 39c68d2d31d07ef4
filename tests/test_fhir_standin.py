"""The stdlib FHIR stand-in: search semantics, paging, includes, auth and every fault mode, over real sockets."""
from __future__ import annotations

import socket

import pytest
import requests

from leg_pain_cds_bench.fhir_standin import Fault, FhirStandIn

LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def _obs(oid: str, code: str, when: str, patient: str = "p1", status: str = "final") -> dict:
    return {"resourceType": "Observation", "id": oid, "status": status,
            "code": {"coding": [{"system": LOINC, "code": code}]}, "subject": {"reference": f"Patient/{patient}"},
            "effectiveDateTime": when, "valueQuantity": {"value": 3.1, "unit": "mmol/L"}}


@pytest.fixture
def loaded(fhir_standin: FhirStandIn) -> FhirStandIn:
    fhir_standin.add(
        {"resourceType": "Patient", "id": "p1"},
        _obs("k1", "2823-3", "2026-06-10T08:00:00Z"),
        _obs("k2", "2823-3", "2026-01-10T08:00:00Z"),
        _obs("na1", "2951-2", "2026-06-11T08:00:00Z"),
        _obs("other", "2823-3", "2026-06-11T08:00:00Z", patient="p2"),
        {"resourceType": "Medication", "id": "m1", "code": {"coding": [{"system": RXNORM, "code": "313988"}]}},
        {"resourceType": "MedicationStatement", "id": "ms1", "status": "active", "subject": {"reference": "Patient/p1"},
         "medicationReference": {"reference": "Medication/m1"}},
    )
    return fhir_standin


def _ids(bundle: dict) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


def test_read_and_404(loaded: FhirStandIn) -> None:
    assert requests.get(f"{loaded.base_url}/Patient/p1", timeout=5).json()["id"] == "p1"
    resp = requests.get(f"{loaded.base_url}/Patient/nope", timeout=5)
    assert resp.status_code == 404
    assert resp.json()["resourceType"] == "OperationOutcome"


def test_search_filters_patient_code_list_and_date(loaded: FhirStandIn) -> None:
    url = f"{loaded.base_url}/Observation"
    both = requests.get(url, params={"patient": "p1", "code": f"{LOINC}|2823-3,{LOINC}|2951-2"}, timeout=5).json()
    assert sorted(_ids(both)) == ["k1", "k2", "na1"]
    recent = requests.get(url, params={"patient": "Patient/p1", "code": f"{LOINC}|2823-3",
                                       "date": "ge2026-03-01"}, timeout=5).json()
    assert _ids(recent) == ["k1"]
    wrong_system = requests.get(url, params={"patient": "p1", "code": "http://other|2823-3"}, timeout=5).json()
    assert _ids(wrong_system) == []
    requests.get(url, params={"patient": "p1", "_sort": "-date", "weird": "1"}, timeout=5)
    assert "weird" in loaded.ignored_params


def test_paging_next_links_cover_all_results_once(loaded: FhirStandIn) -> None:
    url: str | None = f"{loaded.base_url}/Observation?patient=p1&_count=1"
    seen = []
    while url:
        bundle = requests.get(url, timeout=5).json()
        seen += _ids(bundle)
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
    assert sorted(seen) == ["k1", "k2", "na1"]


def test_include_medication(loaded: FhirStandIn) -> None:
    bundle = requests.get(f"{loaded.base_url}/MedicationStatement",
                          params={"patient": "p1", "_include": "MedicationStatement:medication"}, timeout=5).json()
    modes = sorted((e["resource"]["resourceType"], e["search"]["mode"]) for e in bundle["entry"])
    assert modes == [("Medication", "include"), ("MedicationStatement", "match")]
    plain = requests.get(f"{loaded.base_url}/MedicationStatement", params={"patient": "p1"}, timeout=5).json()
    assert [e["resource"]["resourceType"] for e in plain["entry"]] == ["MedicationStatement"]


def test_request_log_records_authorization_presence(loaded: FhirStandIn) -> None:
    requests.get(f"{loaded.base_url}/Patient/p1", timeout=5)
    requests.get(f"{loaded.base_url}/Patient/p1", headers={"Authorization": "Bearer abc"}, timeout=5)
    log = loaded.requests
    assert [(r.path, r.authorization_present, r.bearer_token) for r in log] == [
        ("/fhir/Patient/p1", False, None), ("/fhir/Patient/p1", True, "abc")]
    assert log[0].resource_type == "Patient"
    assert len(loaded.connections) >= 1


def test_connection_log_sees_a_bare_tcp_connect(fhir_standin: FhirStandIn) -> None:
    before = len(fhir_standin.connections)
    with socket.create_connection(("127.0.0.1", fhir_standin.port), timeout=5) as sock:
        sock.sendall(b"GET /fhir/metadata HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert sock.recv(12).startswith(b"HTTP/1.")
    assert len(fhir_standin.connections) == before + 1
    assert fhir_standin.requests[-1].path == "/fhir/metadata"


@pytest.mark.parametrize("wrong_status", [401, 403])
def test_bearer_token_required(loaded: FhirStandIn, wrong_status: int) -> None:
    loaded.required_token = "s3cret"
    loaded.wrong_token_status = wrong_status
    url = f"{loaded.base_url}/Patient/p1"
    missing = requests.get(url, timeout=5)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert requests.get(url, headers={"Authorization": "Bearer other"}, timeout=5).status_code == wrong_status
    assert requests.get(url, headers={"Authorization": "Bearer s3cret"}, timeout=5).status_code == 200


def test_fault_slow_exceeds_client_timeout(loaded: FhirStandIn) -> None:
    loaded.fault, loaded.slow_s = Fault.SLOW, 5.0
    with pytest.raises(requests.Timeout):
        requests.get(f"{loaded.base_url}/Patient/p1", timeout=(2, 0.2))


def test_fault_500(loaded: FhirStandIn) -> None:
    loaded.fault = Fault.ERROR_500
    resp = requests.get(f"{loaded.base_url}/Observation?patient=p1", timeout=5)
    assert resp.status_code == 500
    assert resp.json()["resourceType"] == "OperationOutcome"


def test_fault_malformed_json(loaded: FhirStandIn) -> None:
    loaded.fault = Fault.MALFORMED_JSON
    resp = requests.get(f"{loaded.base_url}/Observation?patient=p1", timeout=5)
    assert resp.status_code == 200
    with pytest.raises(ValueError):
        resp.json()


def test_fault_operation_outcome_instead_of_bundle(loaded: FhirStandIn) -> None:
    loaded.fault = Fault.OPERATION_OUTCOME
    resp = requests.get(f"{loaded.base_url}/Observation?patient=p1", timeout=5)
    assert resp.status_code == 200
    assert resp.json()["resourceType"] == "OperationOutcome"


def test_fault_limited_to_resource_types(loaded: FhirStandIn) -> None:
    loaded.fault, loaded.fault_types = Fault.ERROR_500, {"Observation"}
    assert requests.get(f"{loaded.base_url}/Patient/p1", timeout=5).status_code == 200
    assert requests.get(f"{loaded.base_url}/Observation?patient=p1", timeout=5).status_code == 500


def test_fault_endless_next_chain(loaded: FhirStandIn) -> None:
    loaded.fault = Fault.ENDLESS_NEXT
    url = f"{loaded.base_url}/Observation?patient=p1&_count=2"
    for _ in range(10):
        bundle = requests.get(url, timeout=5).json()
        assert _ids(bundle)  # every page carries data
        url = next(link["url"] for link in bundle["link"] if link["relation"] == "next")
    assert "_offset=20" in url


def test_fault_redirect_points_elsewhere_and_target_sees_nothing_unless_followed(loaded: FhirStandIn) -> None:
    with FhirStandIn() as other:
        loaded.fault, loaded.redirect_to = Fault.REDIRECT, f"http://127.0.0.1:{other.port}"
        resp = requests.get(f"{loaded.base_url}/Patient/p1", allow_redirects=False, timeout=5)
        assert resp.status_code == 302
        assert resp.headers["Location"] == f"http://127.0.0.1:{other.port}/fhir/Patient/p1"
        assert other.requests == [] and other.connections == []


def test_put_and_transaction_are_idempotent(fhir_standin: FhirStandIn) -> None:
    pat = {"resourceType": "Patient", "id": "x"}
    assert requests.put(f"{fhir_standin.base_url}/Patient/x", json=pat, timeout=5).status_code == 201
    assert requests.put(f"{fhir_standin.base_url}/Patient/x", json=pat, timeout=5).status_code == 200
    tx = {"resourceType": "Bundle", "type": "transaction",
          "entry": [{"resource": pat, "request": {"method": "PUT", "url": "Patient/x"}},
                    {"resource": {"resourceType": "Patient", "id": "y"},
                     "request": {"method": "PUT", "url": "Patient/y"}}]}
    out = requests.post(fhir_standin.base_url, json=tx, timeout=5).json()
    assert [e["response"]["status"] for e in out["entry"]] == ["200 OK", "201 Created"]
    assert len(fhir_standin.resources("Patient")) == 2


def test_stop_releases_the_port_and_slow_requests() -> None:
    server = FhirStandIn(fault=Fault.SLOW, slow_s=60).start()
    port = server.port
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/fhir/metadata", timeout=2)


def test_per_request_delay_still_answers(loaded: FhirStandIn) -> None:
    loaded.delay_s = 0.005
    assert requests.get(f"{loaded.base_url}/Patient/p1", timeout=5).status_code == 200


def test_stop_cuts_kept_alive_connections() -> None:
    server = FhirStandIn().start()
    server.add({"resourceType": "Patient", "id": "p1"})
    url = f"{server.base_url}/Patient/p1"
    with requests.Session() as session:
        assert session.get(url, timeout=5).status_code == 200
        server.stop()
        with pytest.raises(requests.ConnectionError):
            session.get(url, timeout=5)


@pytest.mark.server
def test_standin_in_its_own_process_serves_and_stops() -> None:
    from leg_pain_cds_bench.fhir_standin import StandInProcess

    with StandInProcess([{"resourceType": "Patient", "id": "p1"}], delay_s=0.001) as proc:
        url = f"{proc.base_url}/Patient/p1"
        assert requests.get(url, timeout=5).json()["id"] == "p1"
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=2)


def test_unreachable_fixture_refuses_connections(unreachable_fhir_url: str) -> None:
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{unreachable_fhir_url}/metadata", timeout=2)
