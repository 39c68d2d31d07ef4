"""Sample patients: manifest, R4 validity, relative dates, hook requests, loading and the CLI glue."""
from __future__ import annotations

import argparse
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fhir.resources.R4B.bundle import Bundle

from cards.topics import Topic
from cds_service import samples
from leg_pain_cds_bench.fhir_standin import Fault, FhirStandIn

NAMES = [s.id for s in samples.list_samples()]
EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"


def _observation_dates(bundle: dict) -> dict[str, str]:
    return {r["id"]: r["effectiveDateTime"] for r in samples.resources_of(bundle)
            if r["resourceType"] == "Observation"}


def test_manifest_covers_every_topic_and_a_control() -> None:
    listed = samples.list_samples()
    assert 8 <= len(listed) <= 12
    covered = {e.topic for s in listed for e in s.expect}
    assert covered == {t.value for t in Topic}
    assert any(not s.expect for s in listed), "a healthy control with no expected cards"
    for s in listed:
        assert s.title.startswith("Sample, ")
        assert all(e.indicator in ("info", "warning", "critical") for e in s.expect)
        assert len(s.topics) == len(s.expect), "one card per topic"


@pytest.mark.parametrize("name", NAMES)
def test_sample_materializes_to_a_valid_r4_transaction(name: str, sample_now: datetime) -> None:
    bundle = samples.materialize(name, sample_now)
    Bundle.model_validate(bundle)  # raises on any structural error
    assert "{{" not in json.dumps(bundle), "every relative date token resolved"
    assert bundle["type"] == "transaction"
    pid = samples.patient_id(bundle)
    assert pid == name
    ids = set()
    for entry in bundle["entry"]:
        res, req = entry["resource"], entry["request"]
        assert req == {"method": "PUT", "url": f"{res['resourceType']}/{res['id']}"}
        assert res["id"].startswith(name), "stable ids, namespaced by patient"
        ids.add((res["resourceType"], res["id"]))
        ref = (res.get("subject") or {}).get("reference")
        assert ref in (None, f"Patient/{pid}")
        med_ref = (res.get("medicationReference") or {}).get("reference")
        if med_ref and not med_ref.startswith("#"):
            assert ("Medication", med_ref.split("/")[1]) in ids, "referenced Medication is loaded first"
    patient = bundle["entry"][0]["resource"]
    assert patient["resourceType"] == "Patient" and patient["name"][0]["family"] == "Sample"


def test_relative_dates_move_with_now() -> None:
    a = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
    b = a + timedelta(days=400)
    da = _observation_dates(samples.materialize("lpc-diuretic-hypokalemia", a))
    db = _observation_dates(samples.materialize("lpc-diuretic-hypokalemia", b))
    assert da.keys() == db.keys()
    for oid in da:
        shift = datetime.fromisoformat(db[oid].replace("Z", "+00:00")) - datetime.fromisoformat(
            da[oid].replace("Z", "+00:00"))
        assert shift == timedelta(days=400)
    # the "5 days ago" potassium is 5 days old whenever it is materialized
    newest = max(datetime.fromisoformat(v.replace("Z", "+00:00")) for v in db.values())
    assert b - newest == timedelta(days=5)
    birth_a = samples.materialize("lpc-diuretic-hypokalemia", a)["entry"][0]["resource"]["birthDate"]
    birth_b = samples.materialize("lpc-diuretic-hypokalemia", b)["entry"][0]["resource"]["birthDate"]
    assert birth_a != birth_b, "ages stay constant: birth dates move too"


def test_now_must_be_aware() -> None:
    with pytest.raises(samples.SampleError):
        samples.materialize("lpc-healthy-control", datetime(2026, 1, 1))
    with pytest.raises(samples.SampleError):
        samples.materialize("no-such-sample", datetime(2026, 1, 1, tzinfo=timezone.utc))


def test_hook_request_prefetch_keys_and_included_medication(sample_now: datetime) -> None:
    req = samples.hook_request("lpc-messy-meds", sample_now)
    assert req["hook"] == "patient-view"
    assert req["context"]["patientId"] == "lpc-messy-meds"
    assert set(req["prefetch"]) == {"patient", "observations", "medications", "conditions", "medicationRequests"}
    meds = req["prefetch"]["medications"]
    kinds = [(e["resource"]["resourceType"], e["search"]["mode"]) for e in meds["entry"]]
    assert ("Medication", "include") in kinds
    assert meds["total"] == sum(1 for _, mode in kinds if mode == "match")
    # Its one Condition is the leg complaint its story describes (the leg-symptom context, cards/relevance.py).
    conditions = req["prefetch"]["conditions"]
    assert conditions["total"] == 1
    assert conditions["entry"][0]["resource"]["code"]["coding"][0]["code"] == "G47.62"
    for key in ("observations", "medications", "medicationRequests"):
        Bundle.model_validate(req["prefetch"][key])
    assert "fhirServer" not in req
    assert samples.hook_request("lpc-messy-meds", sample_now) == req, "reproducible for a given moment"


def test_hook_request_without_prefetch_names_the_server(sample_now: datetime) -> None:
    req = samples.hook_request("lpc-rls-iron", sample_now, with_prefetch=False,
                               fhir_server="http://127.0.0.1:9/fhir/", access_token="tok")
    assert "prefetch" not in req
    assert req["fhirServer"] == "http://127.0.0.1:9/fhir"
    assert req["fhirAuthorization"]["access_token"] == "tok"
    assert req["fhirAuthorization"]["token_type"] == "Bearer"


def test_sandbox_link_uses_documented_parameters() -> None:
    link = samples.sandbox_link("https://hapi.fhir.org/baseR4", "lpc-rls-iron", "http://localhost:8080")
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}/" == samples.SANDBOX_URL
    q = parse_qs(parts.query)
    assert q == {"fhirServiceUrl": ["https://hapi.fhir.org/baseR4"], "patientId": ["lpc-rls-iron"],
                 "serviceDiscoveryURL": ["http://localhost:8080/cds-services"], "hook": ["patient-view"]}


def test_load_into_standin_with_token_is_idempotent(fhir_standin: FhirStandIn, sample_now: datetime) -> None:
    fhir_standin.required_token = "tok-123"
    first = samples.load(fhir_standin.base_url, token="tok-123", now=sample_now)
    assert first.ok, first.failures
    total = sum(len(samples.materialize(n, sample_now)["entry"]) for n in NAMES)
    assert sum(first.created.values()) == total and not first.updated
    count_after_first = len(fhir_standin.resources())
    second = samples.load(fhir_standin.base_url, token="tok-123", now=sample_now + timedelta(days=30))
    assert second.ok and not second.created and sum(second.updated.values()) == total
    assert len(fhir_standin.resources()) == count_after_first == total
    assert all(r.bearer_token == "tok-123" for r in fhir_standin.requests)
    assert set(second.links) == set(NAMES)


def test_load_reports_failure_and_cli_exits_non_zero(fhir_standin: FhirStandIn, sample_now: datetime) -> None:
    fhir_standin.required_token = "right"
    report = samples.load(fhir_standin.base_url, token="wrong", now=sample_now, names=["lpc-healthy-control"])
    assert not report.ok and "HTTP 401" in report.failures[0]
    fhir_standin.required_token = None
    fhir_standin.fault = Fault.ERROR_500
    args = argparse.Namespace(fhir_server=fhir_standin.base_url, token=None, now=None, only=["lpc-rls-iron"],
                              service_url=samples.DEFAULT_SERVICE_URL)
    assert samples._cmd_load(args, out=io.StringIO()) == 1


def test_load_falls_back_to_put_when_transactions_are_refused(fhir_standin: FhirStandIn,
                                                              sample_now: datetime) -> None:
    fhir_standin.accept_transactions = False
    report = samples.load(fhir_standin.base_url, now=sample_now, names=["lpc-healthy-control"])
    assert report.ok, report.failures
    n = len(samples.materialize("lpc-healthy-control", sample_now)["entry"])
    assert sum(report.created.values()) == n == len(fhir_standin.resources())
    assert [r.method for r in fhir_standin.requests].count("PUT") == n


def test_load_does_not_follow_redirects(fhir_standin: FhirStandIn, sample_now: datetime) -> None:
    with FhirStandIn() as elsewhere:
        fhir_standin.fault, fhir_standin.redirect_to = Fault.REDIRECT, f"http://127.0.0.1:{elsewhere.port}"
        report = samples.load(fhir_standin.base_url, token="secret", now=sample_now, names=["lpc-rls-iron"])
        assert not report.ok
        assert elsewhere.connections == [], "the token never travels to the redirect target"


def test_cli_list_and_request() -> None:
    parser = argparse.ArgumentParser()
    samples.register(parser.add_subparsers(dest="command", required=True))
    out = io.StringIO()
    args = parser.parse_args(["samples", "list"])
    assert args.func(args, out=out) == 0
    assert all(name in out.getvalue() for name in NAMES)
    out = io.StringIO()
    args = parser.parse_args(["samples", "request", "lpc-rls-iron", "--no-prefetch", "--fhir-server",
                              "http://127.0.0.1:8090/fhir", "--now", "2026-06-15T09:30:00Z"])
    assert args.func(args, out=out) == 0
    req = json.loads(out.getvalue())
    assert "prefetch" not in req and req["fhirServer"] == "http://127.0.0.1:8090/fhir"
    assert samples.main(["samples", "request", "nope"]) == 2


@pytest.mark.parametrize("filename", sorted(samples.example_requests()))
def test_shipped_examples_are_generated_by_the_code(filename: str) -> None:
    expected = samples.dumps(samples.example_requests()[filename])
    assert (EXAMPLES_DIR / filename).read_text(encoding="utf-8") == expected
