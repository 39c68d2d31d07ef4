"""When cards appear, through the web layer: possible-cause cards need leg-symptom context on `leg-pain-causes`,
`leg-pain-workup` and CDS_POSSIBLE_CAUSE_CARDS=always show them, withheld cards are logged and stored by rule id."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from cds_service import cli, create_app
from cds_service.config import ConfigError
from cds_service.security.trusted_clients import TrustedClientsError, parse_trusted_clients

ATORVASTATIN = {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "617312",
                "display": "atorvastatin 10 MG Oral Tablet"}
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"


def statin_statement(build: Any) -> dict[str, Any]:
    return {"resourceType": "MedicationStatement", "id": "ms-1", "status": "active",
            "subject": {"reference": f"Patient/{build.PATIENT_ID}"},
            "medicationCodeableConcept": {"coding": [ATORVASTATIN]}}


def leg_pain(build: Any, recorded: str = "2026-11-01") -> dict[str, Any]:
    return {"resourceType": "Condition", "id": "c-leg", "subject": {"reference": f"Patient/{build.PATIENT_ID}"},
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                           "code": "active"}]},
            "code": {"coding": [{"system": ICD10CM, "code": "M79.604", "display": "Pain in right leg"}]},
            "recordedDate": recorded}


def statin_only(build: Any, *conditions: dict[str, Any]) -> dict[str, Any]:
    prefetch = build.full_prefetch()
    prefetch["medications"] = build.bundle(statin_statement(build))
    prefetch["conditions"] = build.bundle(*conditions)
    return build.hook_request(prefetch)


def topics(resp: Any) -> list[str]:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return [c["source"]["topic"]["code"] for c in resp.get_json()["cards"]]


def withheld_rows(db_path: Path) -> list[tuple[Any, ...]]:
    engine = create_engine(f"sqlite:///{db_path}")
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(
                "select service_id, hook_instance, topic, indicator, rule_ids, reason from withheld_card"))]
    finally:
        engine.dispose()


def test_possible_cause_alone_is_withheld_counted_and_logged(client: FlaskClient, build: Any, db_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="cds_service.api.hooks")
    resp = client.post("/cds-services/leg-pain-causes", json=statin_only(build))
    assert resp.get_json() == {"cards": []}  # CDS Hooks: no decision support -> 200 with an empty array
    rows = withheld_rows(db_path)
    assert len(rows) == 1
    service, hook_instance, topic, indicator, rule_ids, reason = rows[0]
    assert (service, hook_instance, topic, indicator, reason) == (
        "leg-pain-causes", build.HOOK_INSTANCE, "statin-muscle-symptoms", "info", "no-leg-symptom-context")
    assert json.loads(rule_ids)[0].startswith("statin-muscle-symptoms@")
    record = next(r for r in caplog.records if r.getMessage() == "hook answered")
    assert [r.split("@")[0] for r in record.withheld] == ["statin-muscle-symptoms"]  # type: ignore[attr-defined]
    assert "atorvastatin" not in caplog.text.lower()  # rule ids only, never what the patient takes


def test_leg_symptom_context_shows_the_possible_cause(client: FlaskClient, build: Any, db_path: Path) -> None:
    assert topics(client.post("/cds-services/leg-pain-causes", json=statin_only(build, leg_pain(build)))) == [
        "statin-muscle-symptoms"]
    assert withheld_rows(db_path) == []


def test_an_old_leg_complaint_is_not_context(client: FlaskClient, build: Any) -> None:
    req = statin_only(build, leg_pain(build, recorded="2024-06-01"))
    assert topics(client.post("/cds-services/leg-pain-causes", json=req)) == []


def test_the_workup_service_always_shows_possible_causes(client: FlaskClient, build: Any, db_path: Path) -> None:
    assert topics(client.post("/cds-services/leg-pain-workup", json=statin_only(build))) == ["statin-muscle-symptoms"]
    assert withheld_rows(db_path) == []


def test_setting_always_shows_possible_causes(app_overrides: dict[str, Any], build: Any) -> None:
    client = create_app({**app_overrides, "POSSIBLE_CAUSE_CARDS": "always"}).test_client()
    assert topics(client.post("/cds-services/leg-pain-causes", json=statin_only(build))) == ["statin-muscle-symptoms"]


def test_actionable_findings_show_without_context(client: FlaskClient, build: Any) -> None:
    req = statin_only(build)
    req["prefetch"]["observations"] = build.bundle(build.potassium(2.4))
    assert topics(client.post("/cds-services/leg-pain-causes", json=req)) == ["electrolyte-imbalance"]


def test_the_encounter_reason_is_context(client: FlaskClient, build: Any) -> None:
    req = statin_only(build)
    req["context"]["encounterId"] = "enc-1"
    req["prefetch"]["encounter"] = {
        "resourceType": "Encounter", "id": "enc-1", "status": "in-progress",
        "subject": {"reference": f"Patient/{build.PATIENT_ID}"},
        "reasonCode": [{"coding": [{"system": ICD10CM, "code": "G47.62"}], "text": "Night cramps"}]}
    assert topics(client.post("/cds-services/leg-pain-causes", json=req)) == ["statin-muscle-symptoms"]
    # Another encounter's reason is not this visit's.
    req["prefetch"]["encounter"]["id"] = "enc-2"
    assert topics(client.post("/cds-services/leg-pain-causes", json=req)) == []


@pytest.mark.parametrize("value", [12, "", ["enc-1"]])
def test_a_malformed_encounter_id_is_400(client: FlaskClient, build: Any, value: Any) -> None:
    req = statin_only(build)
    req["context"]["encounterId"] = value
    resp = client.post("/cds-services/leg-pain-causes", json=req)
    assert resp.status_code == 400
    assert "encounterId" in json.dumps(resp.get_json())


def test_discovery_describes_both_patient_view_services(client: FlaskClient) -> None:
    services = {s["id"]: s for s in client.get("/cds-services").get_json()["services"]}
    assert services["leg-pain-causes"]["hook"] == services["leg-pain-workup"]["hook"] == "patient-view"
    assert "leg symptoms" in services["leg-pain-causes"]["description"]
    assert "whatever the chart says" in services["leg-pain-workup"]["description"]
    assert services["leg-pain-causes"]["prefetch"]["encounter"] == "Encounter/{{context.encounterId}}"


def test_a_bad_setting_stops_the_service(app_overrides: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="CDS_POSSIBLE_CAUSE_CARDS"):
        create_app({**app_overrides, "POSSIBLE_CAUSE_CARDS": "sometimes"})


def test_a_trusted_client_may_choose_its_own_setting() -> None:
    doc = {"clients": [{"iss": "https://ehr.test", "jwks": {"keys": []}, "jwks_urls": ["https://ehr.test/jwks"],
                        "possible_cause_cards": "always"}]}
    assert parse_trusted_clients(doc).get("https://ehr.test").possible_cause_cards == "always"  # type: ignore
    doc["clients"][0]["possible_cause_cards"] = "never"
    with pytest.raises(TrustedClientsError, match="possible_cause_cards"):
        parse_trusted_clients(doc)


def test_evaluate_lists_withheld_cards(tmp_path: Path, build: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "req.json"
    path.write_text(json.dumps(statin_only(build)))
    assert cli.main(["evaluate", str(path), "--now", "2026-11-25T12:00:00Z"]) == 0
    out = capsys.readouterr().out
    assert "withheld: no leg-symptom context - INFO statin-muscle-symptoms" in out
    assert cli.main(["evaluate", str(path), "--now", "2026-11-25T12:00:00Z", "--possible-causes", "always"]) == 0
    out = capsys.readouterr().out
    assert "withheld" not in out and "statin-muscle-symptoms" in out
