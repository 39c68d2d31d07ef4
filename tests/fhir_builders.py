"""Small builders for FHIR R4 JSON used across tests (plain dicts, like the wire format)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
V3 = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
PATIENT_ID = "pat-1"
_counter = iter(range(1, 10**9))


def days_ago(days: float) -> str:
    return (NOW - timedelta(days=days)).isoformat()


def patient(pid: str = PATIENT_ID, birth: str = "1950-03-04", gender: str = "female") -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "birthDate": birth, "gender": gender,
            "name": [{"family": "Testpatient", "given": ["Alma"]}]}


def obs(code: str, value: float | None, unit: str | None = None, *, days: float = 5, status: str = "final",
        system: str = LOINC, low: float | None = None, high: float | None = None, flag: str | None = None,
        ucum: bool = True, rid: str | None = None, **extra: Any) -> dict[str, Any]:
    o: dict[str, Any] = {"resourceType": "Observation", "id": rid or f"obs-{next(_counter)}", "status": status,
                         "code": {"coding": [{"system": system, "code": code}]},
                         "subject": {"reference": f"Patient/{PATIENT_ID}"}, "effectiveDateTime": days_ago(days)}
    if value is not None:
        q: dict[str, Any] = {"value": value}
        if unit is not None:
            q["unit"] = unit
            if ucum:
                q.update(system=UCUM, code=unit)
        o["valueQuantity"] = q
    if low is not None or high is not None:
        rr: dict[str, Any] = {}
        if low is not None:
            rr["low"] = {"value": low, "unit": unit, "system": UCUM, "code": unit}
        if high is not None:
            rr["high"] = {"value": high, "unit": unit, "system": UCUM, "code": unit}
        o["referenceRange"] = [rr]
    if flag:
        o["interpretation"] = [{"coding": [{"system": V3, "code": flag}]}]
    o.update(extra)
    return o


def med(rxcui: str | None = None, display: str | None = None, *, resource: str = "MedicationStatement",
        status: str = "active", text: str | None = None, rid: str | None = None, **extra: Any) -> dict[str, Any]:
    concept: dict[str, Any] = {}
    if rxcui:
        concept["coding"] = [{"system": RXNORM, "code": rxcui, **({"display": display} if display else {})}]
    if text:
        concept["text"] = text
    m: dict[str, Any] = {"resourceType": resource, "id": rid or f"med-{next(_counter)}", "status": status,
                         "subject": {"reference": f"Patient/{PATIENT_ID}"}, "medicationCodeableConcept": concept}
    if resource == "MedicationRequest":
        m["intent"] = "order"
    m.update(extra)
    return m


def cond(code: str, system: str = SNOMED, *, display: str | None = None, clinical: str = "active",
         verification: str | None = None, text: str | None = None, rid: str | None = None) -> dict[str, Any]:
    c: dict[str, Any] = {"resourceType": "Condition", "id": rid or f"cond-{next(_counter)}",
                         "subject": {"reference": f"Patient/{PATIENT_ID}"},
                         "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                                        "condition-clinical", "code": clinical}]},
                         "code": {"coding": [{"system": system, "code": code,
                                              **({"display": display} if display else {})}]}}
    if text:
        c["code"]["text"] = text
    if verification:
        c["verificationStatus"] = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                               "condition-ver-status", "code": verification}]}
    return c


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def draft_order(rid: str | None, code: tuple[str, str] | None, **extra: Any) -> dict[str, Any]:
    """A draft MedicationRequest as EHRs put it in context.draftOrders (RxNorm coded when `code` is given)."""
    r: dict[str, Any] = {"resourceType": "MedicationRequest", "status": "draft", "intent": "proposal",
                         "subject": {"reference": f"Patient/{PATIENT_ID}"}, "authoredOn": "2026-11-25",
                         "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                                   "medicationrequest-category", "code": "outpatient",
                                                   "display": "Outpatient"}]}],
                         "dosageInstruction": [{"text": "as directed"}]}
    if rid is not None:
        r["id"] = rid
    if code is not None:
        r["medicationCodeableConcept"] = {"coding": [{"system": RXNORM, "code": code[0], "display": code[1]}],
                                          "text": code[1]}
    r.update(extra)
    return r
