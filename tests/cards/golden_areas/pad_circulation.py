"""Golden cases of the pad circulation area (issue "Clinical trust, part 2"), merged into the golden tables.

PATIENT_CASES / PATIENT_EXPECTED extend tests/cards/patient_golden_cases.py (service leg-pain-workup);
ORDER_CASES / ORDER_EXPECTED extend tests/cards/order_golden_cases.py (the two order services). Naming and dates
follow those modules: `fires-<topic>-<what>` yields exactly one card of <topic>, `quiet-<what>` none, and a
case with several cards is listed in the EXPECTED table.
"""
from __future__ import annotations

from typing import Any

from tests.fhir_builders import ICD10CM, cond, draft_order, med, obs

CILOSTAZOL = ("21107", "cilostazol")
VENOUS = ("I87.2", ICD10CM)
NEUROPATHY = ("E11.42", ICD10CM)


def _abi(value: float, days: float, side: str | None = None) -> dict[str, Any]:
    """An ABI Observation; the leg, when given, in bodySite as EHRs send it."""
    extra = {"bodySite": {"text": f"{side} lower limb"}} if side else {}
    return obs("77194-9", value, "{ratio}", days=days, **extra)


PATIENT_CASES: dict[str, dict[str, list[dict[str, Any]]]] = {
    # Point 2: compression safety (the poor-circulation card reads the PAD card's per-leg ABI first).
    "multi-venous-insufficiency-abi-038-no-compression": {
        "observations": [_abi(0.38, 30)],
        "conditions": [cond(*VENOUS, display="Venous insufficiency")]},
    "multi-venous-insufficiency-left-045-avoid-compression": {
        "observations": [_abi(0.45, 30, "left"), _abi(1.05, 30, "right")],
        "conditions": [cond(*VENOUS, display="Venous insufficiency")]},
    "fires-poor-circulation-venous-diabetes-no-abi-confirm-first": {
        "conditions": [cond(*VENOUS, display="Venous insufficiency"),
                       cond("E11.9", ICD10CM, display="Type 2 diabetes mellitus without complications")]},
    "fires-poor-circulation-venous-normal-abi-usual-compression": {
        "observations": [_abi(1.08, 60)],
        "conditions": [cond(*VENOUS, display="Venous insufficiency"),
                       cond("E11.9", ICD10CM, display="Type 2 diabetes mellitus without complications")]},
    "quiet-diabetes-normal-abi-no-venous-disease": {
        "observations": [_abi(1.12, 60)],
        "conditions": [cond("E11.9", ICD10CM, display="Type 2 diabetes mellitus without complications")]},
    # Point 3: the latest ABI per leg; an old abnormal ABI is old, never dropped.
    "fires-peripheral-artery-disease-left-low-right-remeasured": {
        "observations": [_abi(0.45, 40, "left"), _abi(1.05, 40, "right"), _abi(1.10, 12, "right")]},
    "quiet-pad-left-abnormal-superseded-by-newer-normal": {
        "observations": [_abi(0.45, 200, "left"), _abi(1.05, 200, "right"), _abi(1.04, 12, "left")]},
    "fires-peripheral-artery-disease-abnormal-abi-14-months-old": {"observations": [_abi(0.62, 425)]},
    "quiet-pad-normal-abi-14-months-old": {"observations": [_abi(1.10, 425)]},
    # Point 9: ulcer, gangrene and rest pain named as such; cilostazol with heart failure.
    "fires-peripheral-artery-disease-ischaemic-ulcer": {
        "conditions": [cond("I70.234", ICD10CM, display="Atherosclerosis of native arteries of right leg with "
                                                         "ulceration of heel and midfoot")]},
    "fires-peripheral-artery-disease-gangrene": {
        "conditions": [cond("I70.262", ICD10CM, display="Atherosclerosis of native arteries of extremities with "
                                                         "gangrene, left leg")]},
    "fires-peripheral-artery-disease-abi-065-clti-still-possible": {"observations": [_abi(0.65, 20)]},
    "fires-peripheral-artery-disease-cilostazol-heart-failure": {
        "medications": [med(*CILOSTAZOL)],
        "conditions": [cond("I50.22", ICD10CM, display="Chronic systolic (congestive) heart failure"),
                       cond("I70.213", ICD10CM, display="Atherosclerosis of native arteries of extremities with "
                                                         "intermittent claudication, bilateral legs")]},
    "quiet-cilostazol-without-heart-failure": {"medications": [med(*CILOSTAZOL)]},
    # Point 10: diabetic neuropathy (B12 on metformin, HbA1c against the goal, treatments) and post-thrombotic
    # syndrome.
    "fires-poor-circulation-b12-low-on-metformin": {
        "observations": [obs("2132-9", 150, "pg/mL", days=30), obs("4548-4", 6.8, "%", days=30)],
        "medications": [med(text="metformin 1000 mg tablet")],
        "conditions": [cond(*NEUROPATHY, display="Type 2 diabetes mellitus with diabetic polyneuropathy")]},
    "fires-poor-circulation-hba1c-9-5-above-goal": {
        "observations": [obs("2132-9", 420, "pg/mL", days=30), obs("4548-4", 9.5, "%", days=30)],
        "conditions": [cond(*NEUROPATHY, display="Type 2 diabetes mellitus with diabetic polyneuropathy")]},
    "fires-poor-circulation-diabetic-amyotrophy": {
        "conditions": [cond("E11.44", ICD10CM, display="Type 2 diabetes mellitus with diabetic amyotrophy")]},
    "fires-poor-circulation-post-thrombotic-syndrome": {
        "conditions": [cond("I87.012", ICD10CM, display="Postthrombotic syndrome with ulcer of left lower "
                                                         "extremity")]},
    "quiet-polyneuropathy-g63-not-diabetic": {
        "conditions": [cond("G63", ICD10CM, display="Polyneuropathy in diseases classified elsewhere")]},
    # Review 14, item 4: a venous leg ulcer needs an ABI before compression (SVS/AVF 2014); varicose veins with an
    # ulcer (I83.0x) and severe PAD must be told to avoid compression.
    "multi-varicose-ulcer-abi-045-avoid-compression": {
        "observations": [_abi(0.45, 38)],
        "conditions": [cond("I83.013", ICD10CM, display="Varicose veins of right lower extremity with ulcer of ankle"),
                       cond("I73.9", ICD10CM, display="Peripheral vascular disease, unspecified")]},
    "fires-poor-circulation-varicose-ulcer-no-abi-measure-first": {
        "conditions": [cond("I83.022", ICD10CM, display="Varicose veins of left lower extremity with ulcer of calf")]},
    "quiet-varicose-ulcer-resolved": {
        "conditions": [cond("I83.022", ICD10CM, display="Varicose veins of left lower extremity with ulcer of calf",
                            clinical="resolved")]},
}
PATIENT_EXPECTED: dict[str, list[tuple[str, str]]] = {
    "multi-venous-insufficiency-abi-038-no-compression": [("peripheral-artery-disease", "critical"),
                                                          ("poor-circulation", "info")],
    "multi-venous-insufficiency-left-045-avoid-compression": [("peripheral-artery-disease", "warning"),
                                                              ("poor-circulation", "info")],
    "multi-varicose-ulcer-abi-045-avoid-compression": [("peripheral-artery-disease", "warning"),
                                                       ("poor-circulation", "info")],
}
# Order cases are not renumbered by the generator: every resource carries its own id.
ORDER_CASES: dict[str, tuple[dict[str, list[dict[str, Any]]], list[Any]]] = {
    "fires-peripheral-artery-disease-cilostazol-with-heart-failure": (
        {"conditions": [cond("I50.22", ICD10CM, display="Chronic systolic (congestive) heart failure",
                             rid="cond-heart-failure")]},
        [draft_order("draft-cilostazol", CILOSTAZOL)]),
    "quiet-cilostazol-without-heart-failure": (
        {"conditions": [cond("I70.213", ICD10CM, display="Atherosclerosis of native arteries of extremities with "
                                                          "intermittent claudication, bilateral legs",
                             rid="cond-claudication")]},
        [draft_order("draft-cilostazol", CILOSTAZOL)]),
    # A re-order of a current cilostazol is left to the patient-view card, which flags it with the heart failure.
    "quiet-cilostazol-reorder-with-heart-failure": (
        {"medications": [med(*CILOSTAZOL, rid="ms-cilostazol", effectivePeriod={"start": "2025-09-01"})],
         "conditions": [cond("I50.22", ICD10CM, display="Chronic systolic (congestive) heart failure",
                             rid="cond-heart-failure")]},
        [draft_order("draft-cilostazol", CILOSTAZOL)]),
}
ORDER_EXPECTED: dict[str, set[str]] = {}
