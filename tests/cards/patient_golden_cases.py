"""Golden patient-view requests for the six later topics, generated from one table so that they cannot drift.

`python -m tests.cards.patient_golden_cases` (re)writes tests/golden/leg-pain-workup/<case>.request.json (the
work-up service shows every card, so each case shows all its rules find; which of them `leg-pain-causes` shows on a
chart open is tested by relevance_golden_cases.py);
test_patient_golden_requests.py checks the files equal this output and that each case fires or stays quiet as its
name says. Dates are relative to tests.fhir_builders.NOW (2026-11-25T12:00Z), the clock golden runs use. The
.response.json files are written by the web layer's golden runner (`pytest --update-golden`), never here.

Case names: `fires-<topic>-<what>` yields exactly one card, of <topic>; `quiet-<what>` yields no card at all;
EXPECTED lists the (topic, indicator) pairs of cases with several cards, in response order.
"""
from __future__ import annotations

import copy
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from tests.cards.golden_areas import AREAS
from tests.fhir_builders import ICD10CM, PATIENT_ID, SNOMED, bundle, cond, med, obs, patient
from tests.golden_cases import GOLDEN, hook_instance

SERVICE = "leg-pain-workup"
USER = "Practitioner/example"
KEYS = ("observations", "medications", "medicationRequests", "conditions")

ALBUTEROL = ("745752", "albuterol 0.09 MG/ACTUAT Metered Dose Inhaler [ProAir]")
SERTRALINE = ("312941", "sertraline 50 MG Oral Tablet")
VINCRISTINE = ("1863343", "1 ML vincristine sulfate 1 MG/ML Injection")
QUETIAPINE = ("312744", "quetiapine 25 MG Oral Tablet")
FUROSEMIDE = ("313988", "furosemide 40 MG Oral Tablet")
ATORVASTATIN = ("617312", "atorvastatin 10 MG Oral Tablet")
LOCAL = "http://hospital.example.org/fhir/CodeSystem/problem-list"

Chart = dict[str, list[dict[str, Any]]]
HCTZ = ("310798", "hydrochlorothiazide 25 MG Oral Tablet")
LISINOPRIL = ("314076", "lisinopril 10 MG Oral Tablet")
RANGE_MEANING = "http://terminology.hl7.org/CodeSystem/referencerange-meaning"


def _censored_potassium() -> dict[str, Any]:
    """A critical potassium as labs send it below the reportable range: comparator "<" and flag LL."""
    o = obs("2823-3", 2.5, "mmol/L", days=1, low=3.5, high=5.1, flag="LL")
    o["valueQuantity"]["comparator"] = "<"
    return o


def _string_potassium() -> dict[str, Any]:
    o = obs("2823-3", None, days=1, flag="LL")
    o["valueString"] = "<2.5"
    return o


def _us_core_potassium() -> dict[str, Any]:
    """US Core's serum potassium example, re-dated: 5.4 mmol/L with its normal range 3.5-5.5 (type normal)."""
    o = obs("2823-3", 5.4, "mmol/L", days=2, low=3.5, high=5.5)
    o["referenceRange"][0]["type"] = {"coding": [{"system": RANGE_MEANING, "code": "normal",
                                                  "display": "Normal Range"}], "text": "Normal Range"}
    return o


def _magnesium_all_ages() -> dict[str, Any]:
    o = obs("19123-9", 1.65, "mg/dL", days=2, low=1.6, high=2.6)
    o["referenceRange"][0]["age"] = {"low": {"value": 0, "unit": "a", "system": "http://unitsofmeasure.org",
                                             "code": "a"},
                                     "high": {"value": 150, "unit": "a", "system": "http://unitsofmeasure.org",
                                              "code": "a"}}
    return o


def _draw(bun: float, creatinine: float, sodium: float | None, osmolality: float | None = None,
          days: float = 3, sodium_days: float | None = None) -> list[dict[str, Any]]:
    """A metabolic panel as labs send it: lab reference ranges and UCUM units."""
    out = [obs("3094-0", bun, "mg/dL", days=days, low=7, high=20), obs("2160-0", creatinine, "mg/dL", days=days,
                                                                       low=0.6, high=1.3)]
    if sodium is not None:
        out.append(obs("2951-2", sodium, "mmol/L", days=sodium_days if sodium_days is not None else days, low=135,
                       high=145))
    if osmolality is not None:
        out.append(obs("2692-2", osmolality, "mosm/kg", days=days, low=275, high=295))
    return out


def _contained_albuterol() -> dict[str, Any]:
    """A MedicationRequest whose medication is a contained Medication (RxNorm product code)."""
    request = med(resource="MedicationRequest", medicationReference={"reference": "#m1"},
                  contained=[{"resourceType": "Medication", "id": "m1", "code": {"coding": [
                      {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": ALBUTEROL[0],
                       "display": ALBUTEROL[1]}]}}], authoredOn="2026-09-01")
    del request["medicationCodeableConcept"]
    return request


def _stenosis_with_radiculopathy() -> dict[str, Any]:
    both = cond("M48.062", ICD10CM, display="Spinal stenosis, lumbar region with neurogenic claudication")
    both["code"]["coding"].append({"system": ICD10CM, "code": "M54.16", "display": "Radiculopathy, lumbar region"})
    return both


CASES: dict[str, Chart] = {
    # medication-effect
    "fires-medication-effect-sertraline-alone-info": {"medications": [med(*SERTRALINE)]},
    "fires-medication-effect-quetiapine-request-info": {"medicationRequests": [med(*QUETIAPINE,
                                                                                  resource="MedicationRequest")]},
    "fires-medication-effect-albuterol-potassium-3-5-info": {
        "medications": [med(*ALBUTEROL)], "observations": [obs("2823-3", 3.5, "mmol/L", low=3.5, high=5.1)]},
    "fires-medication-effect-text-only-metoclopramide": {"medications": [med(text="Reglan 10 mg tablet")]},
    "quiet-omeprazole-normal-magnesium": {"medications": [med(text="omeprazole 20 mg capsule")],
                                          "observations": [obs("19123-9", 2.0, "mg/dL", low=1.7, high=2.2)]},
    "quiet-sertraline-stopped": {"medications": [med(*SERTRALINE, status="stopped")]},
    "multi-albuterol-contained-low-potassium": {"medicationRequests": [_contained_albuterol()],
                                                "observations": [obs("2823-3", 3.4, "mmol/L", low=3.5, high=5.1)]},
    "multi-vincristine-low-sodium": {"medications": [med(*VINCRISTINE)],
                                     "observations": [obs("2951-2", 131, "mmol/L", low=135, high=145)]},
    "multi-omeprazole-low-magnesium": {"medications": [med(text="omeprazole 20 mg capsule")],
                                       "observations": [obs("19123-9", 1.5, "mg/dL", low=1.7, high=2.2)]},
    # restless-legs
    "fires-restless-legs-diagnosis-no-iron-studies": {"conditions": [cond("32914008", SNOMED,
                                                                          display="Restless legs")]},
    "fires-restless-legs-ferritin-75-warning": {
        "conditions": [cond("G25.81", ICD10CM, display="Restless legs syndrome")],
        "observations": [obs("2276-4", 75, "ng/mL", days=60, low=15, high=150)]},
    "fires-restless-legs-ferritin-76-info": {
        "conditions": [cond("G2581", ICD10CM, display="Restless legs syndrome")],
        "observations": [obs("2276-4", 76, "ng/mL", days=60, low=15, high=150),
                         obs("2502-3", 25, "%", days=60, low=20, high=50)]},
    "fires-restless-legs-ferritin-29-no-diagnosis": {"observations": [obs("2276-4", 29, "ng/mL", days=60)]},
    "fires-restless-legs-secondary-dialysis-tsat-19": {
        "conditions": [cond("G25.81", ICD10CM, display="Restless legs syndrome"),
                       cond("N18.6", ICD10CM, display="End stage renal disease")],
        "observations": [obs("2276-4", 300, "ng/mL", days=30), obs("2502-3", 19, "%", days=30)]},
    "fires-restless-legs-text-only-pregnancy": {
        "conditions": [cond("RLS-1", LOCAL, text="Restless legs syndrome"),
                       cond("77386006", SNOMED, display="Pregnancy")]},
    "quiet-ferritin-76-no-diagnosis": {"observations": [obs("2276-4", 76, "ng/mL", days=60)]},
    "quiet-restless-legs-refuted-stale-ferritin": {
        "conditions": [cond("G25.81", ICD10CM, verification="refuted")],
        "observations": [obs("2276-4", 20, "ng/mL", days=400)]},
    # dehydration
    "fires-dehydration-ratio-21-osmolality-301": {"observations": _draw(21, 1.0, 140, osmolality=301)},
    # Measured 297 is not dehydration: 295 is the threshold of *calculated* osmolarity (ESPEN 2019).
    "quiet-dehydration-measured-osmolality-297": {"observations": _draw(30, 1.0, 140, osmolality=297)},
    "quiet-dehydration-ratio-20": {"observations": _draw(20, 1.0, 140, osmolality=300)},
    "quiet-dehydration-osmolality-300": {"observations": _draw(30, 1.0, 140, osmolality=300)},
    "quiet-dehydration-sodium-from-another-day": {"observations": _draw(30, 1.0, 144, days=3)
                                                  + [obs("2692-2", 300, "mosm/kg", days=5)]},
    "quiet-dehydration-stale-draw": {"observations": _draw(30, 1.0, 140, osmolality=305, days=91)},
    "multi-dehydration-sodium-161-on-furosemide": {"observations": _draw(36, 1.2, 161),
                                                   "medications": [med(*FUROSEMIDE)]},
    # issue 13 classes: lab ranges, censored results, direction and severity, calcium, monitoring
    "multi-censored-potassium-ll-on-furosemide": {"observations": [_censored_potassium()],
                                                  "medications": [med(*FUROSEMIDE)]},
    "multi-string-potassium-ll-on-furosemide": {"observations": [_string_potassium()],
                                                "medications": [med(*FUROSEMIDE)]},
    "quiet-us-core-potassium-5-4-normal-range-5-5": {"observations": [_us_core_potassium()]},
    "quiet-magnesium-inside-lab-range-for-all-ages": {"observations": [_magnesium_all_ages()]},
    "fires-electrolyte-imbalance-potassium-6-5-on-lisinopril-critical": {
        "observations": [obs("2823-3", 6.5, "mmol/L", days=1, low=3.5, high=5.1)],
        "medications": [med(*LISINOPRIL)]},
    "multi-calcium-13-6-on-thiazide-not-explained": {
        "observations": [obs("17861-6", 13.6, "mg/dL", days=2, low=8.6, high=10.2)], "medications": [med(*HCTZ)]},
    "quiet-calcium-8-6-with-albumin-4-79": {"observations": [obs("17861-6", 8.6, "mg/dL", days=2, low=8.6, high=10.2),
                                                             obs("1751-7", 4.79, "g/dL", days=2, low=3.5, high=5.0)]},
    "quiet-thiazide-stable-user-yearly-panel": {
        "observations": [obs("2823-3", 4.2, "mmol/L", days=200, low=3.5, high=5.1),
                         obs("2951-2", 139, "mmol/L", days=200, low=135, high=145)],
        "medications": [med(*HCTZ)]},
    "fires-diuretic-effect-no-panel-since-start-info": {
        "observations": [obs("2823-3", 4.2, "mmol/L", days=200, low=3.5, high=5.1)],
        "medicationRequests": [med(*HCTZ, resource="MedicationRequest", authoredOn="2026-10-01")]},
    "fires-dehydration-calculated-osmolarity": {
        "observations": _draw(30, 1.0, 138) + [obs("2823-3", 4.0, "mmol/L", days=3, low=3.5, high=5.1),
                                               obs("2345-7", 190, "mg/dL", days=3, low=70, high=99)]},
    # nerve-compression
    "fires-nerve-compression-icd-without-dot": {"conditions": [cond("M5416", ICD10CM,
                                                                    display="Radiculopathy, lumbar region")]},
    "fires-nerve-compression-text-only-sciatica": {"conditions": [cond("SCI-1", LOCAL, text="Sciatica, left leg")]},
    "fires-nerve-compression-peroneal-neuropathy": {"conditions": [cond("G57.31", ICD10CM, display="Lesion of "
                                                                        "lateral popliteal nerve, right lower limb")]},
    "quiet-nerve-compression-resolved": {"conditions": [cond("M54.16", ICD10CM, clinical="resolved")]},
    # spinal-stenosis
    "fires-spinal-stenosis-claudication-with-radiculopathy-code": {"conditions": [_stenosis_with_radiculopathy()]},
    "quiet-spinal-stenosis-entered-in-error": {"conditions": [cond("M48.062", ICD10CM,
                                                                   verification="entered-in-error")]},
    # poor-circulation
    "fires-poor-circulation-venous-insufficiency": {"conditions": [cond("I87.2", ICD10CM,
                                                                        display="Venous insufficiency")]},
    "fires-poor-circulation-diabetic-neuropathy-b12-low": {
        "conditions": [cond("E11.42", ICD10CM, display="Type 2 diabetes mellitus with diabetic polyneuropathy")],
        "observations": [obs("4548-4", 8.4, "%", days=45), obs("2132-9", 180, "pg/mL", days=45, low=200, high=900)]},
    "quiet-poor-circulation-inactive": {"conditions": [cond("I83.93", ICD10CM, clinical="inactive")]},
    # several causes at once
    "multi-every-cause": {
        "observations": [obs("2823-3", 2.4, "mmol/L", days=3), *_draw(36, 1.2, 151),
                         obs("77194-9", 0.35, "{ratio}", days=40), obs("2276-4", 40, "ng/mL", days=60)],
        "medications": [med(*FUROSEMIDE), med(*ALBUTEROL), med(*ATORVASTATIN)],
        "conditions": [cond("G25.81", ICD10CM, display="Restless legs syndrome"),
                       cond("M54.16", ICD10CM, display="Radiculopathy, lumbar region"),
                       cond("M48.062", ICD10CM, display="Spinal stenosis, lumbar, with neurogenic claudication"),
                       cond("I87.2", ICD10CM, display="Venous insufficiency")]},
}

EXPECTED: dict[str, list[tuple[str, str]]] = {
    # Mild abnormalities (CTCAE grade 1, or mild hyponatraemia): info, and the drug that explains one as urgent.
    "multi-albuterol-contained-low-potassium": [("electrolyte-imbalance", "info"), ("medication-effect", "info")],
    "multi-vincristine-low-sodium": [("electrolyte-imbalance", "info"), ("medication-effect", "info")],
    "multi-omeprazole-low-magnesium": [("electrolyte-imbalance", "info"), ("medication-effect", "info")],
    "multi-censored-potassium-ll-on-furosemide": [("electrolyte-imbalance", "critical"),
                                                  ("diuretic-effect", "warning")],
    "multi-string-potassium-ll-on-furosemide": [("electrolyte-imbalance", "critical"),
                                                ("diuretic-effect", "warning")],
    # The thiazide is not offered as the cause of 13.6 mg/dL; its card is only the missing K/Na monitoring.
    "multi-calcium-13-6-on-thiazide-not-explained": [("electrolyte-imbalance", "critical"), ("diuretic-effect", "info")],
    # Furosemide does not explain a high sodium; its card is only the missing potassium (this draw has none).
    "multi-dehydration-sodium-161-on-furosemide": [("dehydration", "critical"), ("electrolyte-imbalance", "critical"),
                                                   ("diuretic-effect", "info")],
    "multi-every-cause": [
        ("electrolyte-imbalance", "critical"), ("peripheral-artery-disease", "critical"),
        ("dehydration", "warning"), ("diuretic-effect", "warning"), ("medication-effect", "warning"),
        ("restless-legs", "warning"), ("nerve-compression", "info"), ("poor-circulation", "info"),
        ("spinal-stenosis", "info"), ("statin-muscle-symptoms", "info")],
}

# Cases of later issues live beside this table, one module per clinical area (tests/cards/golden_areas/).
for _area in AREAS:
    CASES.update(_area.PATIENT_CASES)
    EXPECTED.update(_area.PATIENT_EXPECTED)


def expected_topics(case: str) -> list[str] | None:
    """The topics the case must yield, in order; None for a multi case (see EXPECTED)."""
    if case in EXPECTED:
        return [topic for topic, _ in EXPECTED[case]]
    if case.startswith("quiet-"):
        return []
    from cards.topics import Topic

    return [next(t.value for t in Topic if case.startswith(f"fires-{t.value}-"))]


def _stable_ids(chart: Chart) -> Chart:
    """Give every resource an id numbered within the case (builders number globally, which would drift)."""
    counts: Counter[str] = Counter()
    out: Chart = {}
    for key in KEYS:
        out[key] = []
        for resource in chart.get(key, []):
            resource = copy.deepcopy(resource)
            prefix = {"Observation": "obs", "Condition": "cond"}.get(resource["resourceType"], "med")
            counts[prefix] += 1
            resource["id"] = f"{prefix}-{counts[prefix]}"
            out[key].append(resource)
    return out


def request(case: str) -> dict[str, Any]:
    chart = _stable_ids(CASES[case])
    # A case may bring its own Patient (`"patient": [patient(...)]`) when sex or age matter; else the default one.
    prefetch: dict[str, Any] = {"patient": CASES[case].get("patient", [patient()])[0]}
    for key in KEYS:
        prefetch[key] = bundle(*chart[key]) if chart[key] else {"resourceType": "Bundle", "type": "searchset",
                                                                "total": 0}
    return {"hook": "patient-view",
            "hookInstance": hook_instance(SERVICE, case),
            "context": {"userId": USER, "patientId": PATIENT_ID}, "prefetch": prefetch}


def render(case: str) -> str:
    return json.dumps(request(case), indent=2, sort_keys=True) + "\n"


def path(case: str) -> Path:
    return GOLDEN / SERVICE / f"{case}.request.json"


def write() -> None:
    for case in CASES:
        target = path(case)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(case))


if __name__ == "__main__":
    write()
    sys.exit(0)
