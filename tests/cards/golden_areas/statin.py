"""Golden cases of the statin area (issue "Clinical trust, part 2"), merged into the golden tables.

PATIENT_CASES / PATIENT_EXPECTED extend tests/cards/patient_golden_cases.py (service leg-pain-workup);
ORDER_CASES / ORDER_EXPECTED extend tests/cards/order_golden_cases.py (the two order services). Naming and dates
follow those modules: `fires-<topic>-<what>` yields exactly one card of <topic>, `quiet-<what>` none, and a
case with several cards is listed in the EXPECTED table.

Point 1 (statin interactions by the label, read against the dose) and point 4 (grading by EAS 2015 / NLA 2014 /
2018 AHA/ACC section 5). Review 14: simvastatin 80 mg (FDA 2011), no re-order of a recent CK, quiet order check at a
CK of at most 4 x ULN, each interaction cited from its own statin's label.
"""
from __future__ import annotations

from typing import Any

from tests.fhir_builders import ICD10CM, SNOMED, cond, draft_order, med, obs

SIMVA20 = ("312961", "simvastatin 20 MG Oral Tablet")
SIMVA40 = ("198211", "simvastatin 40 MG Oral Tablet")
ATORVA10 = ("617312", "atorvastatin 10 MG Oral Tablet")
ROSUVA10 = ("859747", "rosuvastatin calcium 10 MG Oral Tablet")
ROSUVA5 = ("859424", "rosuvastatin calcium 5 MG Oral Tablet")
SIMVA80 = ("200345", "simvastatin 80 MG Oral Tablet")
LOVA40 = ("197905", "lovastatin 40 MG Oral Tablet")
ITRACONAZOLE = ("200344", "itraconazole 100 MG Oral Capsule")
ERYTHROMYCIN = ("4053", "erythromycin")
CYCLOSPORINE = ("3008", "cyclosporine")
AMLODIPINE = ("17767", "amlodipine")


def _statement(rid: str, code: tuple[str, str]) -> dict[str, Any]:
    return med(*code, rid=rid)


def _ck(value: float, rid: str = "obs-ck") -> dict[str, Any]:
    return obs("2157-6", value, "U/L", days=5, rid=rid)  # default upper limit 170 U/L (no lab range sent)


def _dosed_simvastatin(rid: str, tablets: float, per_day: int) -> dict[str, Any]:
    """A simvastatin 20 MG order with its dose: tablets per dose x doses per day."""
    return med(*SIMVA20, rid=rid, resource="MedicationRequest", authoredOn="2026-01-10", dosageInstruction=[{
        "text": f"{tablets:g} tablet(s) {per_day} times a day",
        "timing": {"repeat": {"frequency": per_day, "period": 1, "periodUnit": "d"}},
        "doseAndRate": [{"doseQuantity": {"value": tablets, "unit": "tablet"}}]}])


PAD = cond("I73.9", ICD10CM, display="Peripheral vascular disease, unspecified", rid="cond-pad")

PATIENT_CASES: dict[str, dict[str, list[dict[str, Any]]]] = {
    # Point 1: contraindicated pairs (simvastatin label section 4), named as such with both drugs.
    "fires-statin-muscle-symptoms-simvastatin-erythromycin-contraindicated": {
        "medications": [_statement("ms-simva", SIMVA40), _statement("ms-erythro", ERYTHROMYCIN)]},
    "fires-statin-muscle-symptoms-simvastatin-cyclosporine-contraindicated": {
        "medications": [_statement("ms-simva", SIMVA40), _statement("ms-cyclo", CYCLOSPORINE)]},
    # Dose caps against the product strength: 40 mg exceeds the 20 mg maximum with amlodipine; 20 mg does not.
    "fires-statin-muscle-symptoms-simvastatin-40-amlodipine-exceeds-20": {
        "medications": [_statement("ms-simva", SIMVA40), _statement("ms-amlo", AMLODIPINE)]},
    "fires-statin-muscle-symptoms-simvastatin-20-amlodipine-within-cap-info": {
        "medications": [_statement("ms-simva", SIMVA20), _statement("ms-amlo", AMLODIPINE)]},
    # The daily dose from the dosage instruction: 2 x 20 mg tablets a day is 40 mg (exceeds 20 with amlodipine).
    "fires-statin-muscle-symptoms-simvastatin-2-tablets-daily-amlodipine": {
        "medicationRequests": [_dosed_simvastatin("mr-simva", 2, 1), _statement("ms-amlo", AMLODIPINE)]},
    # A free-text statin without strength: the cap is said with "the dose could not be read".
    "fires-statin-muscle-symptoms-simvastatin-no-strength-amlodipine": {
        "medications": [med(text="simvastatin", rid="ms-simva"), _statement("ms-amlo", AMLODIPINE)]},
    # Rosuvastatin's own cap with cyclosporine (5 mg): 10 mg exceeds it, 5 mg does not.
    "fires-statin-muscle-symptoms-rosuvastatin-10-cyclosporine-exceeds-5": {
        "medications": [_statement("ms-rosuva", ROSUVA10), _statement("ms-cyclo", CYCLOSPORINE)]},
    "fires-statin-muscle-symptoms-rosuvastatin-5-cyclosporine-within-cap-info": {
        "medications": [_statement("ms-rosuva", ROSUVA5), _statement("ms-cyclo", CYCLOSPORINE)]},
    "quiet-erythromycin-cyclosporine-amlodipine-without-statin": {
        "medications": [_statement("ms-erythro", ERYTHROMYCIN), _statement("ms-cyclo", CYCLOSPORINE),
                        _statement("ms-amlo", AMLODIPINE)]},
    # Point 4: an active rhabdomyolysis diagnosis is critical with stop advice; a resolved one is not.
    "fires-statin-muscle-symptoms-rhabdomyolysis-m62-82-critical": {
        "medications": [_statement("ms-simva", SIMVA20)],
        "conditions": [cond("M62.82", ICD10CM, display="Rhabdomyolysis", rid="cond-rhabdo")]},
    "fires-statin-muscle-symptoms-rhabdomyolysis-resolved-info": {
        "medications": [_statement("ms-simva", SIMVA20)],
        "conditions": [cond("240131006", SNOMED, display="Rhabdomyolysis", clinical="resolved", rid="cond-rhabdo")]},
    # CK 1.2 x ULN: info, usually continue (NLA 2014) - not "statin muscle injury?".
    "fires-statin-muscle-symptoms-ck-1-2-uln-info": {
        "medications": [_statement("ms-atorva", ATORVA10)], "observations": [_ck(204)]},
    # Review 14, item 6: simvastatin 80 mg started 4 weeks ago (FDA 2011: not to be started) is a warning; taken since
    # 2022 it is the plain statin card.
    "fires-statin-muscle-symptoms-simvastatin-80-started-4-weeks-ago": {
        "medications": [med(*SIMVA80, rid="ms-simva", effectivePeriod={"start": "2026-10-28"})]},
    "fires-statin-muscle-symptoms-simvastatin-80-since-2022-info": {
        "medications": [med(*SIMVA80, rid="ms-simva", effectivePeriod={"start": "2022-03-01"})]},
    # Review 14, item 7: a normal CK 13 days old is not ordered again (TSH and creatinine only).
    "fires-statin-muscle-symptoms-recent-normal-ck-not-reordered": {
        "medications": [med(*ATORVA10, rid="ms-atorva", effectivePeriod={"start": "2018-01-01"})],
        "observations": [obs("2157-6", 100, "U/L", days=13, low=30, high=170, rid="obs-ck")]},
    # Review 14, item 9: lovastatin with itraconazole cites the lovastatin label (contraindication and suspension).
    "fires-statin-muscle-symptoms-lovastatin-itraconazole-own-label": {
        "medications": [_statement("ms-lova", LOVA40), _statement("ms-itra", ITRACONAZOLE)]},
    # A stopped statin is no longer a possible cause (the rule reads active statins only).
    "quiet-simvastatin-stopped": {"medications": [med(*SIMVA20, rid="ms-simva", status="stopped")]},
    # CK 14.7 x ULN with PAD: stop, no rechallenge or keep-the-statin line on this card or the PAD card.
    "multi-statin-ck-14-7-uln-with-pad": {
        "medications": [_statement("ms-simva", SIMVA20)], "observations": [_ck(2500)], "conditions": [PAD]},
}
PATIENT_EXPECTED: dict[str, list[tuple[str, str]]] = {
    "multi-statin-ck-14-7-uln-with-pad": [("statin-muscle-symptoms", "critical"),
                                          ("peripheral-artery-disease", "warning")],
}

ORDER_CASES: dict[str, tuple[dict[str, list[dict[str, Any]]], list[Any]]] = {
    # Point 1, both directions.
    "fires-statin-muscle-symptoms-simvastatin-with-erythromycin": (
        {"medications": [_statement("ms-erythro", ERYTHROMYCIN)]}, [draft_order("draft-simva", SIMVA20)]),
    "fires-statin-muscle-symptoms-erythromycin-with-current-simvastatin": (
        {"medications": [_statement("ms-simva", SIMVA20)]}, [draft_order("draft-erythro", ERYTHROMYCIN)]),
    "fires-statin-muscle-symptoms-simvastatin-with-cyclosporine": (
        {"medications": [_statement("ms-cyclo", CYCLOSPORINE)]}, [draft_order("draft-simva", SIMVA40)]),
    "fires-statin-muscle-symptoms-simvastatin-40-with-amlodipine": (
        {"medications": [_statement("ms-amlo", AMLODIPINE)]}, [draft_order("draft-simva", SIMVA40)]),
    "quiet-simvastatin-20-with-amlodipine": (
        {"medications": [_statement("ms-amlo", AMLODIPINE)]}, [draft_order("draft-simva", SIMVA20)]),
    # Review 14, item 8: a CK of 1.1 x ULN in a PAD patient is no reason to withhold a statin (NLA 2014): quiet.
    "quiet-atorvastatin-ck-1-1-uln-with-pad": (
        {"observations": [_ck(187)], "conditions": [PAD]}, [draft_order("draft-atorva", ATORVA10)]),
    # Review 14, item 6: a drafted simvastatin 80 mg for a new patient, and a renewal of a current 80 mg.
    "fires-statin-muscle-symptoms-simvastatin-80-new-patient": (
        {}, [draft_order("draft-simva", SIMVA80)]),
    "quiet-simvastatin-80-renewal": (
        {"medications": [med(*SIMVA80, rid="ms-simva", effectivePeriod={"start": "2022-03-01"})]},
        [draft_order("draft-simva", SIMVA80)]),
}
ORDER_EXPECTED: dict[str, set[str]] = {}
