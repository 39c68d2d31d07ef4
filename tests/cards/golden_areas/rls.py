"""Golden cases of the rls area (issue "Clinical trust, part 2"), merged into the golden tables.

PATIENT_CASES / PATIENT_EXPECTED extend tests/cards/patient_golden_cases.py (service leg-pain-workup);
ORDER_CASES / ORDER_EXPECTED extend tests/cards/order_golden_cases.py (the two order services). Naming and dates
follow those modules: `fires-<topic>-<what>` yields exactly one card of <topic>, `quiet-<what>` none, and a
case with several cards is listed in the EXPECTED table. A patient case may carry its own Patient under
"patient" (sex and age decide how iron deficiency is framed).
"""
from __future__ import annotations

from typing import Any

from tests.fhir_builders import ICD10CM, SNOMED, cond, days_ago, draft_order, med, obs, patient

PRAMIPEXOLE = ("746741", "pramipexole")
SERTRALINE = ("312941", "sertraline 50 MG Oral Tablet")
DULOXETINE = ("596926", "duloxetine 20 MG Delayed Release Oral Capsule")
MAN_60 = patient(birth="1966-05-01", gender="male")
WOMAN_34 = patient(birth="1992-02-10", gender="female")


def _rls(rid: str | None = None) -> dict[str, Any]:
    return cond("G25.81", ICD10CM, display="Restless legs syndrome", rid=rid)


def _pregnancy(days: float) -> dict[str, Any]:
    c = cond("77386006", SNOMED, display="Pregnancy")
    c["onsetDateTime"] = days_ago(days)
    return c


def _ferritin(value: float) -> dict[str, Any]:
    return obs("2276-4", value, "ng/mL", days=60, low=15, high=150, rid="obs-ferritin")


def _tsat(value: float) -> dict[str, Any]:
    return obs("2502-3", value, "%", days=60, low=20, high=50, rid="obs-tsat")


def _neuropathy() -> dict[str, Any]:
    return cond("E11.42", ICD10CM, display="Type 2 diabetes mellitus with diabetic polyneuropathy",
                rid="cond-neuropathy")


PATIENT_CASES: dict[str, dict[str, list[dict[str, Any]]]] = {
    # AASM 2024 good practice statement 1: ferritin 75-100 ng/mL -> IV iron only ("IV iron may help"), info.
    "fires-restless-legs-ferritin-85-iv-iron": {"conditions": [_rls()], "observations": [_ferritin(85), _tsat(25)]},
    "quiet-ferritin-85-no-rls": {"observations": [_ferritin(85), _tsat(25)]},
    # An active dopamine agonist in RLS: augmentation review (AASM 2024 suggests against standard use).
    "fires-restless-legs-pramipexole-augmentation": {
        "conditions": [_rls()], "observations": [_ferritin(150), _tsat(30)], "medications": [med(*PRAMIPEXOLE)]},
    "quiet-pramipexole-without-rls-iron-replete": {"observations": [_ferritin(150), _tsat(30)],
                                                   "medications": [med(*PRAMIPEXOLE)]},
    # A pregnancy recorded five years ago is not secondary RLS; one dated four months ago is.
    "fires-restless-legs-pregnancy-5-years-ago-not-secondary": {
        "patient": [WOMAN_34], "conditions": [_rls(), _pregnancy(5 * 365)]},
    "fires-restless-legs-current-pregnancy-secondary": {
        "patient": [WOMAN_34], "conditions": [_rls(), _pregnancy(120)]},
    "quiet-old-pregnancy-no-rls-ferritin-90": {"patient": [WOMAN_34], "conditions": [_pregnancy(5 * 365)],
                                               "observations": [_ferritin(90)]},
    # RLS in pregnancy (SNOMED 1052284009 is in both RLS value sets): one diagnosis line.
    "fires-restless-legs-in-pregnancy-code-listed-once": {
        "patient": [WOMAN_34],
        "conditions": [cond("1052284009", SNOMED, display="Restless legs syndrome in pregnancy")]},
    # No "repeat iron studies to follow iron therapy" without iron therapy on record; with it, the repeat is offered.
    "fires-restless-legs-ferritin-40-no-iron-therapy": {"conditions": [_rls()],
                                                        "observations": [_ferritin(40), _tsat(22)]},
    "fires-restless-legs-ferritin-40-on-ferrous-sulfate": {
        "conditions": [_rls()], "observations": [_ferritin(40), _tsat(22)],
        "medications": [med(text="ferrous sulfate 325 mg tablet")]},
    # Iron deficiency in a man: its cause must be found (haemoglobin, GI evaluation per AGA 2020).
    "fires-restless-legs-ferritin-12-man-60-find-cause": {"patient": [MAN_60], "observations": [_ferritin(12)]},
    "fires-restless-legs-ferritin-12-woman-34-find-cause": {"patient": [WOMAN_34], "observations": [_ferritin(12)]},
    "quiet-ferritin-80-man-60": {"patient": [MAN_60], "observations": [_ferritin(80), _tsat(28)]},
    # Review 14, item 12: ferritin 40 drawn on oral iron taken for 200 days - consider IV iron (AASM 2024: oral iron
    # failed), no "iron therapy" and no repeat; oral iron with iron studies above the thresholds and no RLS: quiet.
    "fires-restless-legs-ferritin-40-drawn-on-oral-iron-consider-iv": {
        "conditions": [_rls()], "observations": [_ferritin(40), _tsat(22)],
        "medications": [med(text="ferrous sulfate 325 mg tablet", effectivePeriod={"start": days_ago(200)})]},
    "quiet-oral-iron-ferritin-120-no-rls": {
        "observations": [_ferritin(120), _tsat(30)],
        "medications": [med(text="ferrous sulfate 325 mg tablet", effectivePeriod={"start": days_ago(200)})]},
}
PATIENT_EXPECTED: dict[str, list[tuple[str, str]]] = {}

ORDER_CASES: dict[str, tuple[dict[str, list[dict[str, Any]]], list[Any]]] = {
    # Duloxetine for painful diabetic neuropathy (first-line: ADA 2025 section 12, AAN 2021), no RLS: no card.
    "quiet-duloxetine-neuropathy-no-rls-ferritin-60": (
        {"conditions": [_neuropathy()], "observations": [_ferritin(60)]},
        [draft_order("draft-duloxetine", DULOXETINE)]),
    "quiet-sertraline-low-ferritin-no-rls": ({"observations": [_ferritin(42)]},
                                             [draft_order("draft-sertraline", SERTRALINE)]),
    "fires-restless-legs-sertraline-with-rls": ({"conditions": [_rls("cond-rls")], "observations": [_ferritin(120)]},
                                                [draft_order("draft-sertraline", SERTRALINE)]),
    "fires-restless-legs-duloxetine-with-rls-ferritin-60": (
        {"conditions": [_rls("cond-rls"), _neuropathy()], "observations": [_ferritin(60)]},
        [draft_order("draft-duloxetine", DULOXETINE)]),
}
ORDER_EXPECTED: dict[str, set[str]] = {}
