"""Drugs other than diuretics and statins that cause or worsen night-time leg symptoms: one entry per class.

Shared by the medication-effect and restless-legs rules and the electrolyte card's cross-references.
Mechanisms and lab links: clinical-reference.md §5.2 (drug -> lab table; standard pharmacology, UNVERIFIED against
labels) and §5.1 rows E (RLS-aggravating drugs, AASM RLS 2024) and I (other medication side effects).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DrugEffect:
    """What a drug class does to the legs, which lab abnormality it can explain, and the source."""

    drug_class: str
    label: str
    symptom: str  # short, for summaries
    mechanism: str
    labs: tuple[tuple[str, str], ...] = ()  # (analyte family, direction) it can explain
    worsens_rls: bool = False
    needs_lab: bool = False  # listed only when the lab abnormality is present (e.g. PPIs: very common drugs)
    guideline_keys: tuple[str, ...] = ()
    source: str = ""


RLS_MECHANISM = "worsens restless legs and periodic limb movements"

EFFECTS: tuple[DrugEffect, ...] = (
    DrugEffect("beta2-agonist", "beta-2 agonist", "cramps",
               "shifts potassium into cells (high or frequent doses) and lowers magnesium; tremor, muscle cramps",
               labs=(("potassium", "low"), ("magnesium", "low")),
               source="clinical-reference §5.2 (standard pharmacology)"),
    DrugEffect("vinca-alkaloid", "vinca alkaloid", "neuropathy",
               "dose-dependent sensorimotor neuropathy with cramps and foot drop; SIADH can lower sodium",
               labs=(("sodium", "low"),), guideline_keys=("asco-cipn-2020",),
               source="ASCO CIPN guideline 2020; clinical-reference §5.2"),
    DrugEffect("antipsychotic", "antipsychotic (dopamine D2 antagonist)", "restless legs",
               RLS_MECHANISM + "; akathisia (G25.71) can mimic RLS", worsens_rls=True,
               guideline_keys=("aasm-rls-2024",), source="AASM RLS guideline 2024; clinical-reference §5.2"),
    DrugEffect("d2-antagonist-antiemetic", "dopamine D2 antagonist antiemetic", "restless legs",
               RLS_MECHANISM + "; akathisia can mimic RLS", worsens_rls=True,
               guideline_keys=("aasm-rls-2024",), source="AASM RLS guideline 2024; clinical-reference §5.2"),
    DrugEffect("sedating-antihistamine", "sedating antihistamine", "restless legs", RLS_MECHANISM,
               worsens_rls=True, guideline_keys=("aasm-rls-2024",),
               source="AASM RLS guideline 2024; clinical-reference §5.2"),
    DrugEffect("ssri", "SSRI", "restless legs",
               RLS_MECHANISM + "; SIADH can lower sodium (older adults, with thiazides)",
               labs=(("sodium", "low"),), worsens_rls=True, guideline_keys=("aasm-rls-2024", "hyponatraemia-2014"),
               source="AASM RLS guideline 2024; clinical-reference §5.2"),
    DrugEffect("snri", "SNRI", "restless legs", RLS_MECHANISM, worsens_rls=True,
               guideline_keys=("aasm-rls-2024",), source="AASM RLS guideline 2024; clinical-reference §5.2"),
    DrugEffect("mirtazapine", "mirtazapine (NaSSA)", "restless legs", RLS_MECHANISM, worsens_rls=True,
               guideline_keys=("aasm-rls-2024",), source="AASM RLS guideline 2024; clinical-reference §5.2"),
    DrugEffect("ppi", "proton-pump inhibitor", "low magnesium",
               "long-term use can cause hypomagnesaemia, which causes cramps", labs=(("magnesium", "low"),),
               needs_lab=True, guideline_keys=("fda-ppi-2011",),
               source="FDA Drug Safety Communication 2011; clinical-reference §5.1 row I"),
)

BY_CLASS: dict[str, DrugEffect] = {e.drug_class: e for e in EFFECTS}
RLS_AGGRAVATING: tuple[str, ...] = tuple(e.drug_class for e in EFFECTS if e.worsens_rls)
