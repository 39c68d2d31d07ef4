"""Golden cases of the neuro medication area (issue "Clinical trust, part 2"), merged into the golden tables.

PATIENT_CASES / PATIENT_EXPECTED extend tests/cards/patient_golden_cases.py (service leg-pain-workup);
ORDER_CASES / ORDER_EXPECTED extend tests/cards/order_golden_cases.py (the two order services). Naming and dates
follow those modules: `fires-<topic>-<what>` yields exactly one card of <topic>, `quiet-<what>` none, and a
case with several cards is listed in the EXPECTED table.

Point 7: SNRIs lower sodium (SIADH, their labels' Warnings and Precautions: Hyponatremia) like SSRIs, and the card says
how long the drug has been taken. Point 8: a coded cauda equina syndrome is an emergency (critical), a cancer history
or spinal infection with radicular pain is a red flag (warning), and neither without back or radicular pain fires.
"""
from __future__ import annotations

from typing import Any

from tests.fhir_builders import ICD10CM, cond, draft_order, med, obs

VENLAFAXINE = ("39786", "venlafaxine")
DULOXETINE = ("596926", "duloxetine 20 MG Delayed Release Oral Capsule")
SCIATICA = ("M54.31", "Sciatica, right side")
SPIRONOLACTONE = ("313096", "spironolactone 25 MG Oral Tablet")
LISINOPRIL = ("29046", "lisinopril")


def _k(value: float, days: float = 5) -> dict[str, Any]:
    return obs("2823-3", value, "mmol/L", days=days, low=3.5, high=5.1, rid="obs-k")


def _na(value: float, days: float = 3) -> dict[str, Any]:
    return obs("2951-2", value, "mmol/L", days=days, low=135, high=145)


def _cond(code: str, display: str) -> dict[str, Any]:
    return cond(code, ICD10CM, display=display)


def _text_condition(text: str) -> dict[str, Any]:
    """A problem-list entry with text only (no coding), as the review probes send saddle anaesthesia."""
    return {**cond("x", ICD10CM), "code": {"text": text}}


LOW_BACK_PAIN = ("M54.50", "Low back pain, unspecified")
BONE_METASTASIS = ("C79.51", "Secondary malignant neoplasm of bone")


PATIENT_CASES: dict[str, dict[str, list[dict[str, Any]]]] = {
    # Point 7: venlafaxine started 7 weeks before a sodium of 127 is named for the low sodium (warning).
    "multi-venlafaxine-sodium-127": {
        "medications": [med(*VENLAFAXINE, effectivePeriod={"start": "2026-10-01"})], "observations": [_na(127)]},
    # Duloxetine for years with a normal sodium: the RLS review prompt only (info), no sodium claim.
    "fires-medication-effect-duloxetine-normal-sodium-info": {
        "medications": [med(*DULOXETINE, effectivePeriod={"start": "2022-05-01"})], "observations": [_na(139)]},
    # Point 8.
    "fires-nerve-compression-cauda-equina-g83-4-critical": {
        "conditions": [_cond("G83.4", "Cauda equina syndrome")]},
    "fires-nerve-compression-sciatica-cancer-history": {
        "conditions": [_cond(*SCIATICA), _cond("Z85.3", "Personal history of malignant neoplasm of breast")]},
    "fires-nerve-compression-sciatica-vertebral-osteomyelitis": {
        "conditions": [_cond(*SCIATICA), _cond("M46.26", "Osteomyelitis of vertebra, lumbar region")]},
    "fires-nerve-compression-sciatica-no-red-flags": {"conditions": [_cond(*SCIATICA)]},
    "quiet-cancer-history-without-back-pain": {
        "conditions": [_cond("Z85.3", "Personal history of malignant neoplasm of breast")]},
    "multi-stenosis-and-cauda-equina": {
        "conditions": [_cond("M48.062", "Spinal stenosis, lumbar region with neurogenic claudication"),
                       _cond("G83.4", "Cauda equina syndrome")]},
    # Review 14, items 1-2: cauda equina red flags (text-only saddle anaesthesia, new urinary retention) with sciatica
    # are a possible cauda equina syndrome (critical, no physical therapy); R20.0 and R32 alone are asked about
    # (warning); back pain counts like radicular pain with a red flag; a bone metastasis is the spinal metastasis
    # pathway (warning with back pain, critical with radicular pain); back pain alone or with old incontinence: quiet.
    "fires-nerve-compression-saddle-anaesthesia-retention-text-critical": {
        "conditions": [_cond(*SCIATICA), _text_condition("Saddle anaesthesia"),
                       _text_condition("New urinary retention")]},
    "fires-nerve-compression-skin-anaesthesia-incontinence-ask-warning": {
        "conditions": [_cond("R20.0", "Anesthesia of skin"), _cond("M54.16", "Radiculopathy, lumbar region"),
                       _cond("R32", "Unspecified urinary incontinence")]},
    "fires-nerve-compression-back-pain-bone-metastasis-warning": {
        "conditions": [_cond(*LOW_BACK_PAIN), _cond(*BONE_METASTASIS)]},
    "fires-nerve-compression-radiculopathy-bone-metastasis-critical": {
        "conditions": [_cond("M54.16", "Radiculopathy, lumbar region"), _cond(*BONE_METASTASIS)]},
    "fires-nerve-compression-back-pain-vertebral-osteomyelitis": {
        "conditions": [_cond(*LOW_BACK_PAIN), _cond("M46.26", "Osteomyelitis of vertebra, lumbar region")]},
    "fires-nerve-compression-back-pain-cancer-history": {
        "conditions": [_cond(*LOW_BACK_PAIN), _cond("Z85.3", "Personal history of malignant neoplasm of breast")]},
    "quiet-back-pain-alone": {"conditions": [_cond(*LOW_BACK_PAIN)]},
    "quiet-back-pain-with-incontinence-not-known-to-be-new": {
        "conditions": [_cond(*LOW_BACK_PAIN), _cond("R32", "Unspecified urinary incontinence")]},
    "quiet-bone-metastasis-without-back-pain": {"conditions": [_cond(*BONE_METASTASIS)]},
    # Review 14, item 5: potassium 5.9 on spironolactone and lisinopril - a warning naming spironolactone, halve it
    # (ESC 2021: > 5.5 mmol/L on an MRA), keep the ACE inhibitor (KDIGO 2024); 5.0 on the same drugs is quiet.
    "fires-electrolyte-imbalance-potassium-5-9-on-spironolactone-halve": {
        "medications": [med(*SPIRONOLACTONE), med(*LISINOPRIL)], "observations": [_k(5.9)]},
    "quiet-potassium-5-0-on-spironolactone": {
        "medications": [med(*SPIRONOLACTONE), med(*LISINOPRIL)], "observations": [_k(5.0)]},
}
PATIENT_EXPECTED: dict[str, list[tuple[str, str]]] = {
    "multi-venlafaxine-sodium-127": [("electrolyte-imbalance", "warning"), ("medication-effect", "warning")],
    # One emergency card: the stenosis card refers to the nerve-compression card.
    "multi-stenosis-and-cauda-equina": [("nerve-compression", "critical"), ("spinal-stenosis", "info")],
}
ORDER_CASES: dict[str, tuple[dict[str, list[dict[str, Any]]], list[Any]]] = {
    "fires-medication-effect-duloxetine-draft-sodium-127": (
        {"observations": [obs("2951-2", 127, "mmol/L", days=4, low=136, high=145, rid="obs-na")]},
        [draft_order("draft-duloxetine", DULOXETINE)]),
    "quiet-duloxetine-draft-normal-sodium": (
        {"observations": [obs("2951-2", 139, "mmol/L", days=4, low=136, high=145, rid="obs-na")]},
        [draft_order("draft-duloxetine", DULOXETINE)]),
    # Review 14, item 5 (probe r8): spironolactone drafted on a potassium of 5.9 - do not start it, no "recheck after
    # starting it"; on a potassium of 4.5 no card.
    "fires-diuretic-effect-spironolactone-draft-potassium-5-9": (
        {"medications": [med(*LISINOPRIL)], "observations": [_k(5.9)]},
        [draft_order("draft-spironolactone", SPIRONOLACTONE)]),
    "quiet-spironolactone-draft-potassium-4-5": (
        {"medications": [med(*LISINOPRIL)], "observations": [_k(4.5)]},
        [draft_order("draft-spironolactone", SPIRONOLACTONE)]),
}
ORDER_EXPECTED: dict[str, set[str]] = {}
