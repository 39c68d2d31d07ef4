"""`leg-pain-cds evaluate` on real files: Bundles identified by urn:uuid fullUrls, several Patients, date templates.

The pure part (fhir_data.read_bundle / record_prefetch) is tested on small Bundles; the CLI on a transaction Bundle
shaped like Synthea's output (urn:uuid fullUrls, POST entries, subjects as urn:uuid references, conditional
references to Organization/Practitioner, a MedicationRequest with RxNorm 316049 "Hydrochlorothiazide 25 MG").
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from cards import registry
from cds_service import cli, samples
from cds_service.fhir import gather as fhir_data
NOW = "2026-11-25T12:00:00+00:00"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
PAT = "5cbc121b-cd71-4428-b8b7-31e53eba8184"
OTHER = "0e6a9b1f-1d0c-4a53-9f3b-8c2f7a0d4e21"
ENC = "6f1e4a3c-2b8d-4c5e-9a7f-0d1e2f3a4b5c"
MEDREQ = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
OBS = "3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a98"
ORG_REF = "Organization?identifier=https://github.com/synthetichealth/synthea|ef58ea08-d883-3957-8300-150554edc8fb"
SERVICE = registry.service(cli.DEFAULT_SERVICE)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _write(tmp_path: Path, data: Any, name: str = "file.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def _topics(out: str) -> list[str]:
    return [c["source"]["topic"]["code"] for c in json.loads(out)["cards"]]


def potassium(value: float, subject: str, *, when: str = "2026-11-20T08:00:00+00:00") -> dict[str, Any]:
    return {"resourceType": "Observation", "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "laboratory", "display": "laboratory"}]}],
            "code": {"coding": [{"system": LOINC, "code": "6298-4",
                                 "display": "Potassium [Moles/volume] in Blood"}],
                     "text": "Potassium [Moles/volume] in Blood"},
            "subject": {"reference": subject}, "encounter": {"reference": f"urn:uuid:{ENC}"},
            "effectiveDateTime": when, "issued": when,
            "valueQuantity": {"value": value, "unit": "mmol/L", "system": UCUM, "code": "mmol/L"}}


def synthea_bundle(*, patient_id: bool = False, k: float = 3.0) -> dict[str, Any]:
    """A transaction Bundle as Synthea writes it (trimmed): everything identified by urn:uuid fullUrls."""
    patient: dict[str, Any] = {
        "resourceType": "Patient", "gender": "female", "birthDate": "1950-03-04",
        "name": [{"use": "official", "family": "Testpatient", "given": ["Alma"]}],
        "identifier": [{"system": "https://github.com/synthetichealth/synthea", "value": PAT}]}
    if patient_id:
        patient["id"] = PAT
    subject = f"urn:uuid:{PAT}"
    return {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": subject, "resource": patient, "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": f"urn:uuid:{ENC}",
         "resource": {"resourceType": "Encounter", "status": "finished",
                      "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                      "subject": {"reference": subject, "display": "Ms. Alma Testpatient"},
                      "serviceProvider": {"reference": ORG_REF, "display": "A CLINIC"},
                      "period": {"start": "2026-11-20T08:00:00+00:00", "end": "2026-11-20T08:30:00+00:00"}},
         "request": {"method": "POST", "url": "Encounter"}},
        {"fullUrl": f"urn:uuid:{OBS}", "resource": potassium(k, subject),
         "request": {"method": "POST", "url": "Observation"}},
        {"fullUrl": f"urn:uuid:{MEDREQ}",
         "resource": {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
                      "medicationCodeableConcept": {
                          "coding": [{"system": RXNORM, "code": "316049", "display": "Hydrochlorothiazide 25 MG"}],
                          "text": "Hydrochlorothiazide 25 MG"},
                      "subject": {"reference": subject}, "encounter": {"reference": f"urn:uuid:{ENC}"},
                      "authoredOn": "2025-01-10T08:00:00+00:00",
                      "requester": {"reference": "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999999999"}},
         "request": {"method": "POST", "url": "MedicationRequest"}},
        {"fullUrl": "urn:uuid:7d6c5b4a-3928-4716-a5b4-c3d2e1f0a9b8",
         "resource": {"resourceType": "Claim", "status": "active", "use": "claim",
                      "patient": {"reference": subject}, "prescription": {"reference": f"urn:uuid:{MEDREQ}"}},
         "request": {"method": "POST", "url": "Claim"}},
    ]}


# ---------------------------------------------------------------------------------------------- read_bundle (pure)


def test_urn_uuid_fullurls_give_ids_and_every_reference_to_an_entry_is_resolved() -> None:
    bundle = synthea_bundle()
    before = copy.deepcopy(bundle)
    record = fhir_data.read_bundle(bundle)
    assert bundle == before  # pure: the input is not modified
    assert record.patient_id == PAT
    by_type = {r["resourceType"]: r for r in record.resources}
    assert by_type["Patient"]["id"] == PAT and by_type["MedicationRequest"]["id"] == MEDREQ
    assert by_type["Observation"]["subject"] == {"reference": f"Patient/{PAT}"}
    assert by_type["Observation"]["encounter"] == {"reference": f"Encounter/{ENC}"}
    assert by_type["Encounter"]["subject"] == {"reference": f"Patient/{PAT}", "display": "Ms. Alma Testpatient"}
    assert by_type["Claim"]["patient"] == {"reference": f"Patient/{PAT}"}
    assert by_type["Claim"]["prescription"] == {"reference": f"MedicationRequest/{MEDREQ}"}
    # References to nothing in the Bundle stay as they were (conditional references, identifiers).
    assert by_type["Encounter"]["serviceProvider"]["reference"] == ORG_REF
    assert by_type["MedicationRequest"]["requester"]["reference"].startswith("Practitioner?identifier=")


def test_an_id_the_resource_has_wins_over_its_fullurl() -> None:
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:aaaaaaaa-0000-4000-8000-000000000001",
         "resource": {"resourceType": "Patient", "id": "p1"}},
        {"fullUrl": "urn:uuid:aaaaaaaa-0000-4000-8000-000000000002",
         "resource": {"resourceType": "Observation", "id": "o1",
                      "subject": {"reference": "urn:uuid:aaaaaaaa-0000-4000-8000-000000000001"}}}]}
    record = fhir_data.read_bundle(bundle)
    assert record.patient_id == "p1"
    assert record.resources[1]["subject"]["reference"] == "Patient/p1"


def test_absolute_fullurls_medication_references_and_nested_references() -> None:
    base = "https://ehr.example.org/fhir"
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [
        {"fullUrl": f"{base}/Patient/123", "resource": {"resourceType": "Patient", "id": "123"}},
        {"fullUrl": f"{base}/Medication/m9/_history/2", "resource": {"resourceType": "Medication"}},
        {"fullUrl": "urn:uuid:bbbbbbbb-0000-4000-8000-000000000003",
         "resource": {"resourceType": "MedicationStatement", "status": "active",
                      "subject": {"reference": f"{base}/Patient/123"},
                      "medicationReference": {"reference": f"{base}/Medication/m9/_history/2"},
                      "contained": [{"resourceType": "Medication", "id": "c1"}],
                      "derivedFrom": [{"reference": "#c1"}, {"reference": f"{base}/Patient/123"}]}}]}
    record = fhir_data.read_bundle(bundle)
    medication, statement = record.resources[1], record.resources[2]
    assert medication["id"] == "m9"  # taken from the URL, its version left out
    assert statement["id"] == "bbbbbbbb-0000-4000-8000-000000000003"
    assert statement["subject"]["reference"] == "Patient/123"
    assert statement["medicationReference"]["reference"] == "Medication/m9"
    assert statement["derivedFrom"] == [{"reference": "#c1"}, {"reference": "Patient/123"}]


def test_several_patients_need_a_choice_by_id_or_fullurl() -> None:
    bundle = synthea_bundle()
    bundle["entry"].append({"fullUrl": f"urn:uuid:{OTHER}", "resource": {"resourceType": "Patient"}})
    with pytest.raises(fhir_data.AmbiguousPatient) as err:
        fhir_data.read_bundle(bundle)
    assert err.value.ids == [PAT, OTHER] and "2 Patients" in str(err.value)
    assert fhir_data.read_bundle(bundle, OTHER).patient_id == OTHER
    assert fhir_data.read_bundle(bundle, f"urn:uuid:{PAT}").patient_id == PAT
    with pytest.raises(fhir_data.BundleError, match=f"no Patient 'nobody' .*{PAT}, {OTHER}"):
        fhir_data.read_bundle(bundle, "nobody")


def test_the_same_patient_twice_is_one_patient() -> None:
    patient = {"resourceType": "Patient", "id": "p1"}
    bundle = {"resourceType": "Bundle", "type": "searchset",
              "entry": [{"resource": patient, "search": {"mode": "match"}},
                        {"resource": patient, "search": {"mode": "include"}}]}
    assert fhir_data.read_bundle(bundle).patient_id == "p1"


@pytest.mark.parametrize(("bundle", "message"), [
    ({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Observation"}}]},
     "holds no Patient"),
    ({"resourceType": "Bundle", "type": "collection"}, "holds no Patient"),
    ({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Patient"}}]},
     "neither an id nor a fullUrl"),
    ({"resourceType": "Bundle", "type": "history", "entry": []}, "type 'history' is not a patient record"),
    ({"resourceType": "Bundle", "type": "transaction-response"}, "not a patient record"),
    ({"resourceType": "Bundle", "type": "collection", "entry": {"resource": {}}}, "Bundle.entry is not an array"),
])
def test_bundles_that_are_not_one_patients_record_are_refused(bundle: dict[str, Any], message: str) -> None:
    with pytest.raises(fhir_data.BundleError, match=message):
        fhir_data.read_bundle(bundle)


def test_transaction_entries_without_a_resource_are_passed_over() -> None:
    bundle = synthea_bundle()
    bundle["entry"].append({"request": {"method": "DELETE", "url": "Observation/old"}})
    bundle["entry"].append("not an entry")
    assert len(fhir_data.read_bundle(bundle).resources) == 5


def test_record_prefetch_fills_every_data_key_by_resource_type() -> None:
    bundle = synthea_bundle()
    bundle["entry"].append({"fullUrl": f"urn:uuid:{OTHER}", "resource": {"resourceType": "Patient"}})
    bundle["entry"].append({"fullUrl": "urn:uuid:cccccccc-0000-4000-8000-000000000004",
                            "resource": {"resourceType": "Medication", "code": {"text": "x"}}})
    prefetch = fhir_data.record_prefetch(fhir_data.read_bundle(bundle, PAT), SERVICE)
    # Every key but the Encounter, which a record without a current encounter cannot fill.
    keys = [k for k in SERVICE.data_keys if k.context_field == "patientId"]
    assert set(prefetch) == {k.key for k in keys}
    assert prefetch["patient"]["id"] == PAT  # the chosen Patient only
    for key in keys:
        if key.key == "patient":
            continue
        value = prefetch[key.key]
        assert value["resourceType"] == "Bundle" and value["type"] == "searchset"
        matches = [e["resource"] for e in value["entry"] if e["search"]["mode"] == "match"]
        assert all(r["resourceType"] == key.resource_type for r in matches) and value["total"] == len(matches)
    entries = prefetch["medicationRequests"]["entry"]
    assert [e["resource"]["id"] for e in entries] == [MEDREQ, "cccccccc-0000-4000-8000-000000000004"]
    assert prefetch["medications"]["total"] == 0  # Synthea writes no MedicationStatement


# ---------------------------------------------------------------------------------------------- the CLI


@pytest.mark.parametrize("with_id", [False, True])
def test_evaluate_a_synthea_transaction_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               with_id: bool) -> None:
    path = _write(tmp_path, synthea_bundle(patient_id=with_id))
    code, out, err = _run(capsys, "evaluate", path, "--format", "json", "--now", NOW)
    assert code == 0, err
    cards = json.loads(out)["cards"]
    assert [c["source"]["topic"]["code"] for c in cards] == ["diuretic-effect", "electrolyte-imbalance"]
    assert "Hydrochlorothiazide" in cards[0]["summary"] and "potassium" in cards[0]["summary"].lower()
    assert "Hydrochlorothiazide 25 MG" in cards[0]["detail"] and "MedicationRequest" in cards[0]["detail"]
    # The MedicationRequests were read: nothing is reported as not evaluated.
    assert not any("Not evaluated" in c["detail"] for c in cards)


@pytest.mark.parametrize("kind", fhir_data.RECORD_BUNDLE_TYPES)
def test_evaluate_every_record_bundle_type(tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    bundle = synthea_bundle(k=2.4)
    bundle["type"] = kind
    for entry in bundle["entry"]:
        if kind not in ("transaction", "batch"):
            entry.pop("request")
        if kind == "searchset":
            entry["search"] = {"mode": "match"}
    if kind == "document":  # a document opens with its Composition
        bundle["entry"].insert(0, {"fullUrl": "urn:uuid:dddddddd-0000-4000-8000-000000000005", "resource": {
            "resourceType": "Composition", "status": "final", "type": {"text": "Summary"}, "title": "Summary",
            "date": "2026-11-20", "subject": {"reference": f"urn:uuid:{PAT}"}, "author": [{"display": "x"}],
            "section": [{"entry": [{"reference": f"urn:uuid:{OBS}"}]}]}})
    code, out, err = _run(capsys, "evaluate", _write(tmp_path, bundle), "--format", "json", "--now", NOW)
    assert code == 0, err
    assert sorted(_topics(out)) == ["diuretic-effect", "electrolyte-imbalance"]
    assert "critical" in [c["indicator"] for c in json.loads(out)["cards"]]


def test_several_patients_exit_2_unless_patient_chooses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = synthea_bundle(k=3.0)
    other = f"urn:uuid:{OTHER}"
    bundle["entry"] += [
        {"fullUrl": other, "resource": {"resourceType": "Patient", "gender": "male", "birthDate": "1960-01-01"},
         "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": "urn:uuid:eeeeeeee-0000-4000-8000-000000000006", "resource": potassium(4.2, other),
         "request": {"method": "POST", "url": "Observation"}}]
    path = _write(tmp_path, bundle)
    code, out, err = _run(capsys, "evaluate", path, "--now", NOW)
    assert code == 2 and out == ""
    assert err.startswith(f"leg-pain-cds: {path}: ") and "2 Patients" in err and PAT in err and OTHER in err
    assert "--patient" in err
    code, out, _ = _run(capsys, "evaluate", path, "--format", "json", "--now", NOW, "--patient", PAT)
    assert code == 0 and _topics(out) == ["diuretic-effect", "electrolyte-imbalance"]
    code, out, _ = _run(capsys, "evaluate", path, "--format", "json", "--now", NOW, "--patient", other)
    assert code == 0 and _topics(out) == []  # the other patient: a normal potassium, no diuretic
    code, _, err = _run(capsys, "evaluate", path, "--now", NOW, "--patient", "nobody")
    assert code == 2 and path in err and "no Patient 'nobody'" in err


def test_patient_option_on_a_hook_request_must_match_its_patient(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    request = samples.hook_request("lpc-healthy-control", samples.EXAMPLE_NOW)
    path = _write(tmp_path, request)
    code, _, err = _run(capsys, "evaluate", path, "--patient", "someone-else", "--now", NOW)
    assert code == 2 and path in err and "context.patientId" in err
    code, _, _ = _run(capsys, "evaluate", path, "--patient", request["context"]["patientId"], "--now", NOW)
    assert code == 0


def _cards_without_uuids(out: str) -> list[dict[str, Any]]:
    cards = json.loads(out)["cards"]
    for card in cards:
        card.pop("uuid")
        for suggestion in card.get("suggestions", ()):
            suggestion.pop("uuid", None)
    return cards


@pytest.mark.parametrize("name", ["lpc-diuretic-hypokalemia", "lpc-synthea-style", "lpc-healthy-control"])
def test_a_raw_sample_file_is_resolved_like_samples_request(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                            name: str) -> None:
    raw = Path(samples.__file__).parent / samples.sample(name).file
    assert "{{now-" in raw.read_text()
    code, from_raw, err = _run(capsys, "evaluate", str(raw), "--format", "json", "--now", NOW)
    assert code == 0
    assert f"{raw}: " in err and "relative dates" in err and "resolved as of 2026-11-25T12:00:00+00:00" in err
    code, request, _ = _run(capsys, "samples", "request", name, "--now", NOW)
    assert code == 0
    code, from_request, _ = _run(capsys, "evaluate", _write(tmp_path, json.loads(request)), "--format", "json",
                                 "--now", NOW)
    assert code == 0 and _cards_without_uuids(from_raw) == _cards_without_uuids(from_request)
    assert bool(json.loads(from_raw)["cards"]) == bool(samples.sample(name).expect)


def test_relative_dates_follow_now(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p1", "birthDate": "{{date-25000d}}"}},
        {"resource": {**potassium(2.4, "Patient/p1"), "id": "k1", "effectiveDateTime": "{{now-2d}}"}}]}
    path = _write(tmp_path, bundle)
    code, out, err = _run(capsys, "evaluate", path, "--format", "json", "--now", NOW)
    assert code == 0 and "2 relative dates" in err
    [card] = json.loads(out)["cards"]
    assert card["indicator"] == "critical" and "2026-11-23" in card["detail"]


@pytest.mark.parametrize(("value", "where"), [
    ("{{now-5h}}", "entry[1].resource.effectiveDateTime"),
    ("{{ now-5d }}", "entry[1].resource.effectiveDateTime"),
    ("taken {{now-5d}}", "entry[1].resource.effectiveDateTime"),
])
def test_unresolved_templates_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str,
                                          where: str) -> None:
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p1"}},
        {"resource": {**potassium(2.4, "Patient/p1"), "effectiveDateTime": value}}]}
    path = _write(tmp_path, bundle)
    code, out, err = _run(capsys, "evaluate", path, "--now", NOW)
    assert code == 2 and out == ""
    assert err.startswith(f"leg-pain-cds: {path}: unresolved template placeholder") and where in err


def test_an_unfilled_prefetch_template_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    request = samples.hook_request("lpc-healthy-control", samples.EXAMPLE_NOW)
    request["prefetch"]["patient"] = None
    request["context"]["patientId"] = "{{context.patientId}}"
    path = _write(tmp_path, request)
    code, _, err = _run(capsys, "evaluate", path, "--now", NOW)
    assert code == 2 and path in err and "{{context.patientId}} at context.patientId" in err


def test_narrative_is_not_taken_for_a_template(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = synthea_bundle()
    bundle["entry"][0]["resource"]["text"] = {"status": "generated",
                                              "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">{{x}}</div>"}
    code, _, err = _run(capsys, "evaluate", _write(tmp_path, bundle), "--now", NOW)
    assert code == 0, err


def test_medication_requests_read_through_the_medications_key_are_evaluated(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A prefetch whose `medications` key returned MedicationRequests (no medicationRequests key): they were read."""
    record = fhir_data.read_bundle(synthea_bundle(patient_id=True))
    prefetch = fhir_data.record_prefetch(record, SERVICE)
    prefetch["medications"] = prefetch.pop("medicationRequests")
    request = {"hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "hook": "patient-view",
               "context": {"userId": "Practitioner/1", "patientId": PAT}, "prefetch": prefetch}
    code, out, _ = _run(capsys, "evaluate", _write(tmp_path, request), "--format", "json", "--now", NOW)
    cards = json.loads(out)["cards"]
    assert code == 0 and [c["source"]["topic"]["code"] for c in cards] == ["diuretic-effect", "electrolyte-imbalance"]
    assert not any("Not evaluated" in c["detail"] for c in cards)

    # Genuinely missing: no MedicationRequest anywhere and the key not prefetched -> still noted.
    prefetch["medications"] = {"resourceType": "Bundle", "type": "searchset", "entry": []}
    code, out, _ = _run(capsys, "evaluate", _write(tmp_path, request), "--format", "json", "--now", NOW)
    cards = json.loads(out)["cards"]
    assert code == 0 and cards
    assert all("**Not evaluated:** medicationRequests (not prefetched" in c["detail"] for c in cards)


@pytest.mark.parametrize(("content", "message"), [
    ("[1, 2]", "must hold a JSON object"),
    ('{"resourceType": "Patient", "id": "p1"}', "holds a FHIR Patient, not a CDS Hooks request or a Bundle"),
    ('{"hook": "patient-view", "context": {}}', "not a valid CDS Hooks request"),
    ('{"resourceType": "Bundle", "type": "message", "entry": []}', "type 'message' is not a patient record"),
    ("{", "not valid JSON"),
    ("[" * 5000 + "]" * 5000, "not valid JSON"),
    ('{"a": ' + "[" * 1020 + "]" * 1020 + "}", "nested too deeply"),
])
def test_refusals_name_the_file_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str,
                                           message: str) -> None:
    path = tmp_path / "input.json"
    path.write_text(content)
    code, out, err = _run(capsys, "evaluate", str(path), "--now", NOW)
    assert code == 2 and out == ""
    assert err.startswith(f"leg-pain-cds: {path}: ") and message in err, err


def test_argument_refusals_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, synthea_bundle())
    code, _, err = _run(capsys, "evaluate", path, "--now", "yesterday")
    assert code == 2 and path in err and "--now must be an ISO 8601 date-time" in err
    code, _, err = _run(capsys, "evaluate", path, "--service", "nope")
    assert code == 2 and path in err and "unknown service 'nope'" in err and cli.DEFAULT_SERVICE in err
    code, _, err = _run(capsys, "evaluate", str(tmp_path))
    assert code == 2 and "cannot read the file" in err


def test_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["evaluate", "--help"])
    out = capsys.readouterr().out
    assert "--patient" in out and "exit status:" in out and "0  the cards were printed" in out
    assert "2  bad input" in out and "1  the request cannot be evaluated" in out
