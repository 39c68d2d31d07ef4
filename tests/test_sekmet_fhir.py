"""Against a real third-party FHIR R4 server (sekmet-fhir): sample loading and the search features the service uses.

One session-scoped server in bearer-token mode (see tests/fhir_servers.py). These tests load the samples once
and then only read, so their order does not matter.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import requests

from cds_service import samples
from .fhir_servers import SekmetServer

pytestmark = pytest.mark.server

TYPES = ("Patient", "Observation", "Condition", "MedicationStatement", "MedicationRequest", "Medication")
LOINC = "http://loinc.org"


@pytest.fixture
def loaded(sekmet_samples: SekmetServer) -> SekmetServer:
    return sekmet_samples


def _expected_counts(now: datetime) -> dict[str, int]:
    counts = dict.fromkeys(TYPES, 0)
    for s in samples.list_samples():
        for res in samples.resources_of(samples.materialize(s.id, now)):
            counts[res["resourceType"]] += 1
    return counts


def _get(server: SekmetServer, path: str, **params: str) -> dict:
    resp = requests.get(f"{server.base_url}/{path}", params=params, headers=server.headers(), timeout=10)
    assert resp.status_code == 200, resp.text[:300]
    return resp.json()


def _match_ids(bundle: dict) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e.get("search", {}).get("mode") == "match"]


def test_samples_load_is_idempotent(loaded: SekmetServer) -> None:
    from .conftest_fhir import SAMPLE_NOW

    before = loaded.counts(TYPES)
    assert before == _expected_counts(SAMPLE_NOW)
    # same moment: the session's resources stay exactly as the other tests expect them
    again = samples.load(loaded.base_url, token=loaded.token, now=SAMPLE_NOW)
    assert again.ok, again.failures
    assert not again.created, "a second run creates nothing"
    assert sum(again.updated.values()) == sum(before.values())
    assert loaded.counts(TYPES) == before


def test_load_without_token_is_refused_and_reported(sekmet_server: SekmetServer, capsys: pytest.CaptureFixture[str]
                                                   ) -> None:
    from .conftest_fhir import SAMPLE_NOW

    report = samples.load(sekmet_server.base_url, token=None, now=SAMPLE_NOW, names=["lpc-healthy-control"])
    assert not report.ok and "HTTP 401" in report.failures[0]
    code = samples.main(["samples", "load", "--fhir-server", sekmet_server.base_url, "--token", "not-the-token",
                         "--only", "lpc-healthy-control"])
    assert code == 1
    err = capsys.readouterr().err
    assert "FAILED" in err and "not-the-token" not in err


def test_read_patient(loaded: SekmetServer) -> None:
    assert _get(loaded, "Patient/lpc-rls-iron")["name"][0]["family"] == "Sample"


def test_token_list_date_ge_count_and_paging(loaded: SekmetServer) -> None:
    """The observations fallback query: token system|code list, date=ge, _count, following ``next``."""
    from .conftest_fhir import SAMPLE_NOW

    since = (SAMPLE_NOW - timedelta(days=90)).date().isoformat()
    codes = f"{LOINC}|2823-3,{LOINC}|2601-3,{LOINC}|2951-2"
    first = _get(loaded, "Observation", patient="lpc-messy-labs", code=codes, date=f"ge{since}", _count="2")
    seen = _match_ids(first)
    url = next((link["url"] for link in first["link"] if link["relation"] == "next"), None)
    pages = 1
    while url and pages < 20:
        page = requests.get(url, headers=loaded.headers(), timeout=10).json()
        seen += _match_ids(page)
        url = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
        pages += 1
    bundle = samples.materialize("lpc-messy-labs", SAMPLE_NOW)
    expected = sorted(r["id"] for r in samples.resources_of(bundle) if r["resourceType"] == "Observation"
                      and r["code"]["coding"][0]["code"] in ("2823-3", "2601-3", "2951-2")
                      and r["effectiveDateTime"][:10] >= since)
    assert pages > 1 and sorted(seen) == expected and len(seen) == len(set(seen))
    assert "lpc-messy-labs-obs-8" not in seen, "the 200-day-old sodium is filtered out by date=ge"


def test_include_medication_for_statements(loaded: SekmetServer) -> None:
    bundle = _get(loaded, "MedicationStatement", patient="lpc-messy-meds",
                  _include="MedicationStatement:medication")
    included = [e["resource"]["id"] for e in bundle["entry"] if e["search"]["mode"] == "include"]
    assert included == ["lpc-messy-meds-hctz"]


def test_contained_medication_survives_the_round_trip(loaded: SekmetServer) -> None:
    bundle = _get(loaded, "MedicationStatement", patient="lpc-venous-neuropathy")
    stmt = bundle["entry"][0]["resource"]
    assert stmt["medicationReference"]["reference"] == "#med1"
    assert stmt["contained"][0]["id"] == "med1"


def test_bearer_mode_401_and_scoped_403(loaded: SekmetServer) -> None:
    url = f"{loaded.base_url}/Observation?patient=lpc-rls-iron"
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, headers=loaded.headers("wrong"), timeout=10).status_code == 401
    patient_only = loaded.smart_token("system/Patient.read")
    assert requests.get(f"{loaded.base_url}/Patient/lpc-rls-iron", headers=loaded.headers(patient_only),
                        timeout=10).status_code == 200
    forbidden = requests.get(url, headers=loaded.headers(patient_only), timeout=10)
    assert forbidden.status_code == 403
    assert forbidden.json()["resourceType"] == "OperationOutcome"


def test_cli_load_prints_counts_and_sandbox_links(loaded: SekmetServer, capsys: pytest.CaptureFixture[str]) -> None:
    from .conftest_fhir import SAMPLE_NOW

    code = samples.main(["samples", "load", "--fhir-server", loaded.base_url, f"--token={loaded.token}",
                         "--now", SAMPLE_NOW.isoformat(), "--only", "lpc-rls-iron",
                         "--service-url", "http://127.0.0.1:8080"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Observation" in out and "lpc-rls-iron: https://sandbox.cds-hooks.org/?fhirServiceUrl=" in out
    assert str(loaded.token) not in out


def test_open_server_needs_no_token(sekmet_open_server: SekmetServer) -> None:
    report = samples.load(sekmet_open_server.base_url, now=datetime.now().astimezone(),
                          names=["lpc-venous-neuropathy"])
    assert report.ok, report.failures
    assert sekmet_open_server.count("Condition", patient="lpc-venous-neuropathy") == 3  # with its leg complaint
