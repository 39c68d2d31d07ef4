"""Golden requests for "when cards appear": the same chart through `leg-pain-causes` and `leg-pain-workup`.

`python -m tests.cards.relevance_golden_cases` (re)writes tests/golden/<service>/relevance-<case>.request.json for
both patient-view services; test_relevance_golden_requests.py checks the files equal this output and that each
service shows exactly the topics EXPECTED names. The .response.json files come from `pytest --update-golden`.

`leg-pain-causes` (default setting `when-symptomatic`) shows actionable cards on every chart, possible-cause cards
only with leg-symptom context; `leg-pain-workup` shows both always (cards/relevance.py).
"""
from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

from tests.cards.golden_areas.pad_circulation import _abi
from tests.cards.golden_areas.statin import SIMVA20
from tests.cards.order_golden_cases import CLARITHRO
from tests.cards.patient_golden_cases import ATORVASTATIN, FUROSEMIDE, SERTRALINE
from tests.fhir_builders import ICD10CM, PATIENT_ID, bundle, cond, days_ago, med, obs, patient
from tests.golden_cases import GOLDEN, hook_instance

SERVICES = ("leg-pain-causes", "leg-pain-workup")
USER = "Practitioner/example"
ENCOUNTER_ID = "enc-today"
KEYS = ("observations", "medications", "medicationRequests", "conditions")

STATIN = "statin-muscle-symptoms"
ELECTROLYTE = "electrolyte-imbalance"
DIURETIC = "diuretic-effect"
PAD = "peripheral-artery-disease"
MEDICATION = "medication-effect"
RLS = "restless-legs"
STENOSIS = "spinal-stenosis"


def leg_problem(code: str = "M79.604", display: str = "Pain in right leg", *, days: float = 30,
                verification: str | None = None) -> dict[str, Any]:
    c = cond(code, ICD10CM, display=display, verification=verification)
    c["recordedDate"] = days_ago(days)[:10]
    return c


def encounter(code: str, display: str) -> dict[str, Any]:
    return {"resourceType": "Encounter", "id": ENCOUNTER_ID, "status": "in-progress",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB",
                      "display": "ambulatory"},
            "subject": {"reference": f"Patient/{PATIENT_ID}"},
            "reasonCode": [{"coding": [{"system": ICD10CM, "code": code, "display": display}], "text": display}]}


def _potassium(value: float) -> dict[str, Any]:
    return obs("2823-3", value, "mmol/L", days=3, low=3.5, high=5.1)


# case -> the chart (prefetch keys as lists; "encounter": the Encounter of context.encounterId)
CASES: dict[str, dict[str, Any]] = {
    # A possible cause alone: shown with leg-symptom context, withheld without it.
    "statin-no-leg-symptoms": {"medications": [med(*ATORVASTATIN)]},
    "statin-leg-pain-on-problem-list": {"medications": [med(*ATORVASTATIN)], "conditions": [leg_problem()]},
    "statin-leg-pain-recorded-two-years-ago": {"medications": [med(*ATORVASTATIN)],
                                               "conditions": [leg_problem(days=730)]},
    "statin-leg-pain-refuted": {"medications": [med(*ATORVASTATIN)],
                                "conditions": [leg_problem(verification="refuted")]},
    "statin-encounter-reason-cramp": {"medications": [med(*ATORVASTATIN)],
                                      "encounter": encounter("R25.2", "Cramp and spasm")},
    "statin-encounter-reason-hypertension": {"medications": [med(*ATORVASTATIN)],
                                             "encounter": encounter("I10", "Essential (primary) hypertension")},
    "sertraline-no-leg-symptoms": {"medications": [med(*SERTRALINE)]},
    "furosemide-no-labs-no-leg-symptoms": {"medications": [med(*FUROSEMIDE)]},
    "stenosis-recorded-three-years-ago": {"conditions": [leg_problem(
        "M48.061", "Spinal stenosis, lumbar region without neurogenic claudication", days=1100)]},
    # Actionable: shown on every chart.
    "low-potassium-on-furosemide-no-leg-symptoms": {"medications": [med(*FUROSEMIDE)],
                                                    "observations": [_potassium(3.0)]},
    "simvastatin-clarithromycin-no-leg-symptoms": {"medications": [med(*SIMVA20), med(*CLARITHRO)]},
    "abi-035-no-leg-symptoms": {"observations": [_abi(0.35, 20)]},
    # Both on one chart: only the actionable one without context.
    "low-potassium-and-statin-no-leg-symptoms": {"medications": [med(*ATORVASTATIN)],
                                                 "observations": [_potassium(3.0)]},
    # A leg-symptom diagnosis is its own context.
    "restless-legs-this-year": {"conditions": [leg_problem("G25.81", "Restless legs syndrome", days=60)]},
}

# case -> (topics leg-pain-causes shows, topics leg-pain-workup shows), in response order
EXPECTED: dict[str, tuple[list[str], list[str]]] = {
    "statin-no-leg-symptoms": ([], [STATIN]),
    "statin-leg-pain-on-problem-list": ([STATIN], [STATIN]),
    "statin-leg-pain-recorded-two-years-ago": ([], [STATIN]),
    "statin-leg-pain-refuted": ([], [STATIN]),
    "statin-encounter-reason-cramp": ([STATIN], [STATIN]),
    "statin-encounter-reason-hypertension": ([], [STATIN]),
    "sertraline-no-leg-symptoms": ([], [MEDICATION]),
    "furosemide-no-labs-no-leg-symptoms": ([], [DIURETIC]),
    "stenosis-recorded-three-years-ago": ([], [STENOSIS]),
    "low-potassium-on-furosemide-no-leg-symptoms": ([DIURETIC, ELECTROLYTE], [DIURETIC, ELECTROLYTE]),
    "simvastatin-clarithromycin-no-leg-symptoms": ([STATIN], [STATIN]),
    "abi-035-no-leg-symptoms": ([PAD], [PAD]),
    "low-potassium-and-statin-no-leg-symptoms": ([ELECTROLYTE], [ELECTROLYTE, STATIN]),
    "restless-legs-this-year": ([RLS], [RLS]),
}


def request(case: str, service: str) -> dict[str, Any]:
    chart = copy.deepcopy(CASES[case])
    prefetch: dict[str, Any] = {"patient": patient()}
    for key in KEYS:
        prefetch[key] = bundle(*chart[key]) if chart.get(key) else {"resourceType": "Bundle", "type": "searchset",
                                                                    "total": 0}
    context: dict[str, Any] = {"userId": USER, "patientId": PATIENT_ID}
    if "encounter" in chart:
        context["encounterId"] = ENCOUNTER_ID
        prefetch["encounter"] = chart["encounter"]
    # Stable ids: the generator's counters differ between runs of different tables.
    for key in KEYS:
        for n, entry in enumerate(prefetch[key].get("entry", ())):
            entry["resource"]["id"] = f"{key}-{n + 1}"
    return {"hook": "patient-view", "hookInstance": hook_instance(service, f"relevance-{case}"), "context": context,
            "prefetch": prefetch}


def render(case: str, service: str) -> str:
    return json.dumps(request(case, service), indent=2, sort_keys=True) + "\n"


def path(case: str, service: str) -> Path:
    return GOLDEN / service / f"relevance-{case}.request.json"


def write() -> None:
    for case in CASES:
        for service in SERVICES:
            target = path(case, service)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(render(case, service))


if __name__ == "__main__":
    write()
    sys.exit(0)
