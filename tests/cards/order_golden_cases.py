"""Golden request files for the order-time services, generated from one table so that they cannot drift.

`python -m tests.cards.order_golden_cases` (re)writes tests/golden/leg-pain-order-select/<case>.request.json: each
case is stored once, as its order-select call, and the golden runner runs it for order-sign too (tests/golden_cases.py
says how); test_order_golden_requests.py checks the files equal this output and that each case fires or stays quiet
as its name says for both order services. Dates are relative to tests.fhir_builders.NOW (2026-11-25T12:00Z), the
clock golden runs use. The .response.json files are written by the golden runner (`--update-golden`), never here.

Case names: `fires-<topic>-<what>` yields exactly one card, of <topic>; `quiet-<what>` yields no card at all;
EXPECTED lists the topics of cases with several cards.
"""
from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from tests.cards.golden_areas import AREAS
from tests.cards.patient_golden_cases import LISINOPRIL
from tests.fhir_builders import ICD10CM, PATIENT_ID, RXNORM, SNOMED, bundle, cond, draft_order, med, obs, patient
from tests.golden_cases import GOLDEN, ORDER_SELECT_SERVICE, hook_instance

USER = "Practitioner/example"

FUROSEMIDE = ("313988", "furosemide 40 MG Oral Tablet")
HCTZ = ("310798", "hydrochlorothiazide 25 MG Oral Tablet")
SIMVA = ("312961", "simvastatin 20 MG Oral Tablet")
CLARITHRO = ("197517", "clarithromycin 500 MG Oral Tablet")
ALBUTEROL = ("745752", "albuterol 0.09 MG/ACTUAT Metered Dose Inhaler [ProAir]")
SERTRALINE = ("312941", "sertraline 50 MG Oral Tablet")
QUETIAPINE = ("312744", "quetiapine 25 MG Oral Tablet")
SPIRONOLACTONE = ("313096", "spironolactone 25 MG Oral Tablet")


def _lab(rid: str, code: str, value: float, unit: str, low: float, high: float, days: float = 4) -> dict[str, Any]:
    return obs(code, value, unit, days=days, low=low, high=high, rid=rid)


def _k(value: float) -> dict[str, Any]:
    return _lab("obs-k", "2823-3", value, "mmol/L", 3.5, 5.1)


def _na(value: float) -> dict[str, Any]:
    return _lab("obs-na", "2951-2", value, "mmol/L", 136, 145)


def _ck(value: float) -> dict[str, Any]:
    return _lab("obs-ck", "2157-6", value, "U/L", 30, 200, days=10)


def _ferritin(value: float) -> dict[str, Any]:
    return _lab("obs-ferritin", "2276-4", value, "ng/mL", 15, 150, days=60)


def _statement(rid: str, code: tuple[str, str]) -> dict[str, Any]:
    return med(*code, rid=rid, effectivePeriod={"start": "2026-06-01"})


def _rls() -> dict[str, Any]:
    return cond("G25.81", ICD10CM, display="Restless legs syndrome", rid="cond-rls")


def _rls_snomed() -> dict[str, Any]:
    return cond("32914008", SNOMED, display="Restless legs", rid="cond-rls")


def _simva_request_with_included_medication() -> list[dict[str, Any]]:
    """A current simvastatin order whose drug is a referenced Medication included in the same Bundle."""
    request = {"resourceType": "MedicationRequest", "id": "mr-simva", "status": "active", "intent": "order",
               "subject": {"reference": f"Patient/{PATIENT_ID}"}, "authoredOn": "2026-05-02",
               "medicationReference": {"reference": "Medication/m-simva"}}
    medication = {"resourceType": "Medication", "id": "m-simva",
                  "code": {"coding": [{"system": RXNORM, "code": SIMVA[0], "display": SIMVA[1]}]}}
    return [request, medication]


# case -> (chart resources by prefetch key, draft orders)
Chart = dict[str, list[dict[str, Any]]]
CASES: dict[str, tuple[Chart, list[Any]]] = {
    "fires-diuretic-effect-thiazide-low-sodium": ({"observations": [_na(129), _k(4.1)]},
                                                  [draft_order("draft-hctz", HCTZ)]),
    "quiet-thiazide-sodium-normal": ({"observations": [_na(139), _k(4.1)]}, [draft_order("draft-hctz", HCTZ)]),
    "fires-diuretic-effect-loop-low-potassium": ({"observations": [_k(3.1)]},
                                                 [draft_order("draft-furosemide", FUROSEMIDE)]),
    "quiet-loop-potassium-normal": ({"observations": [_k(4.2)]}, [draft_order("draft-furosemide", FUROSEMIDE)]),
    "quiet-loop-already-current": ({"observations": [_k(3.1)],
                                    "medications": [_statement("ms-furosemide", FUROSEMIDE)]},
                                   [draft_order("draft-furosemide", FUROSEMIDE)]),
    "fires-diuretic-effect-spironolactone-high-potassium": ({"observations": [_k(5.6)]},
                                                            [draft_order("draft-spironolactone", SPIRONOLACTONE)]),
    "quiet-spironolactone-low-potassium": ({"observations": [_k(3.2)]},
                                           [draft_order("draft-spironolactone", SPIRONOLACTONE)]),
    # A drafted ACE inhibitor with a high potassium (UK Kidney Association 2020 hyperkalaemia guideline: review the
    # potassium-raising drugs); 5.1 mmol/L is the lab's upper limit, still in range, so the same draft is quiet.
    "fires-electrolyte-imbalance-lisinopril-high-potassium": ({"observations": [_k(5.6)]},
                                                              [draft_order("draft-lisinopril", LISINOPRIL)]),
    "quiet-lisinopril-potassium-at-upper-limit": ({"observations": [_k(5.1)]},
                                                  [draft_order("draft-lisinopril", LISINOPRIL)]),
    "fires-statin-muscle-symptoms-simvastatin-with-clarithromycin": (
        {"medications": [_statement("ms-clarithro", CLARITHRO)]}, [draft_order("draft-simva", SIMVA)]),
    "fires-statin-muscle-symptoms-clarithromycin-with-current-simvastatin": (
        {"medicationRequests": _simva_request_with_included_medication()}, [draft_order("draft-clarithro", CLARITHRO)]),
    "quiet-simvastatin-without-interaction": ({"observations": [_ck(120)]}, [draft_order("draft-simva", SIMVA)]),
    "fires-statin-muscle-symptoms-simvastatin-high-ck": ({"observations": [_ck(900)]},  # 5.3 x ULN (> 4 x)
                                                         [draft_order("draft-simva", SIMVA)]),
    "fires-restless-legs-quetiapine-with-rls": ({"conditions": [_rls()]}, [draft_order("draft-quetiapine", QUETIAPINE)]),
    # RLS on record: low iron alone no longer fires the order check (issue 14, point 6).
    "fires-restless-legs-sertraline-low-ferritin": ({"observations": [_ferritin(42), _na(140)],
                                                     "conditions": [_rls()]},
                                                    [draft_order("draft-sertraline", SERTRALINE)]),
    "quiet-quetiapine-no-rls-iron-replete": ({"observations": [_ferritin(120)]},
                                             [draft_order("draft-quetiapine", QUETIAPINE)]),
    "fires-medication-effect-albuterol-low-potassium": ({"observations": [_k(3.2)]},
                                                        [draft_order("draft-albuterol", ALBUTEROL)]),
    "quiet-albuterol-potassium-normal": ({"observations": [_k(4.0)]}, [draft_order("draft-albuterol", ALBUTEROL)]),
    "fires-medication-effect-sertraline-low-sodium": ({"observations": [_na(130), _ferritin(120)]},
                                                      [draft_order("draft-sertraline", SERTRALINE)]),
    "quiet-sertraline-sodium-normal": ({"observations": [_na(140), _ferritin(120)]},
                                       [draft_order("draft-sertraline", SERTRALINE)]),
    "quiet-unrelated-draft": ({"observations": [_k(3.0), _na(128)], "conditions": [_rls_snomed()]},
                              [draft_order("draft-levothyroxine", ("10582", "levothyroxine"))]),
    "quiet-empty-draft-orders": ({"observations": [_k(2.9)], "conditions": [_rls()]}, []),
    # CDS Hooks Sandbox shapes: category as an object, no medication, no id.
    "fires-diuretic-effect-sandbox-category-object": (
        {"observations": [_k(3.1)]},
        [draft_order("draft-furosemide", FUROSEMIDE, category={"coding": [{"code": "outpatient"}]})]),
    "quiet-sandbox-draft-without-medication": ({"observations": [_k(3.1)]},
                                               [draft_order("draft-empty", None, category={"text": "outpatient"})]),
    "fires-diuretic-effect-sandbox-draft-without-id": ({"observations": [_k(3.1)]}, [draft_order(None, FUROSEMIDE)]),
    "fires-four-topics-several-drafts": (
        {"observations": [_k(3.1)], "conditions": [_rls()]},
        [draft_order("draft-simva", SIMVA), draft_order("draft-clarithro", CLARITHRO), draft_order("draft-furosemide", FUROSEMIDE),
         draft_order("draft-quetiapine", QUETIAPINE), draft_order("draft-albuterol", ALBUTEROL)]),
}


EXPECTED = {"fires-four-topics-several-drafts": {"diuretic-effect", "statin-muscle-symptoms", "restless-legs",
                                                 "medication-effect"}}

# Cases of later issues live beside this table, one module per clinical area (tests/cards/golden_areas/).
for _area in AREAS:
    CASES.update(_area.ORDER_CASES)
    EXPECTED.update(_area.ORDER_EXPECTED)


def expected_topics(case: str) -> set[str]:
    """The card topics a case must yield (from EXPECTED, else from its name)."""
    if case in EXPECTED:
        return EXPECTED[case]
    if case.startswith("quiet-"):
        return set()
    from cards.topics import Topic

    return {next(t.value for t in Topic if case.startswith(f"fires-{t.value}-"))}


_BUILDER_ID = re.compile(r"^(med|obs|cond)-\d+$")


def _stable_ids(chart: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Ids the builders numbered globally (med-17) renumbered within the case, so that a file does not depend on
    which tables were built before it in the same process; ids a case chose itself are kept."""
    counts: Counter[str] = Counter()
    out: dict[str, list[dict[str, Any]]] = {}
    for key, resources in chart.items():
        out[key] = []
        for resource in resources:
            match = _BUILDER_ID.match(str(resource.get("id", "")))
            if match:
                resource = {**resource}
                counts[match.group(1)] += 1
                resource["id"] = f"{match.group(1)}-{counts[match.group(1)]}"
            out[key].append(resource)
    return out


def request(case: str) -> dict[str, Any]:
    """The CDS Hooks 2.0 order-select call of one case, prefetch complete (no fhirServer needed)."""
    chart, drafts = CASES[case]
    # selections (required by order-select): the newly selected order, here the last draft. A draft without an id
    # cannot be referenced, so its selection points nowhere - as a careless client's would.
    ids = [d["id"] for d in drafts if isinstance(d, dict) and isinstance(d.get("id"), str)]
    context: dict[str, Any] = {"userId": USER, "patientId": PATIENT_ID,
                               "selections": [f"MedicationRequest/{ids[-1] if ids else 'unsaved-selection'}"]}
    context["draftOrders"] = {"resourceType": "Bundle", "type": "collection",
                              "entry": [{"resource": d} for d in drafts]}
    if not drafts:
        del context["draftOrders"]["entry"]  # FHIR forbids empty arrays
    prefetch: dict[str, Any] = {"patient": patient()}
    chart = _stable_ids(chart)
    for key in ("observations", "medications", "medicationRequests", "conditions"):
        prefetch[key] = bundle(*chart.get(key, []))
        if not chart.get(key):
            prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "total": 0}
    return {"hook": "order-select", "hookInstance": hook_instance(ORDER_SELECT_SERVICE, case), "context": context,
            "prefetch": prefetch}


def render(case: str) -> str:
    return json.dumps(request(case), indent=2, sort_keys=True) + "\n"


def path(case: str) -> Path:
    return GOLDEN / ORDER_SELECT_SERVICE / f"{case}.request.json"


def write() -> None:
    for case in CASES:
        target = path(case)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(case))


if __name__ == "__main__":
    write()
    sys.exit(0)
