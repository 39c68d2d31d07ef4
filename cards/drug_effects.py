"""Drugs other than diuretics and statins that cause or worsen night-time leg symptoms: one entry per class.

Shared by the medication-effect and restless-legs rules (patient view and order time) and the electrolyte card's
cross-references. Each entry carries its own primary sources (`guideline_keys`, keys of cards.guidelines) and its own
next step (`review`): a card shows the steps of the classes the patient takes and no other class's text.
Sources: beta-2 agonists - albuterol label (Hypokalemia) and Bodenhamer et al. 1992 (potassium and magnesium fall
with frequently nebulized albuterol); vincristine - ASCO CIPN guideline 2020 (neuropathy) and the European
hyponatraemia guideline 2014 (drugs causing SIAD); SSRIs - European hyponatraemia guideline 2014 (SIAD); SNRIs
(venlafaxine, duloxetine, desvenlafaxine) - their US labels, Warnings and Precautions: Hyponatremia (SIADH, as with
SSRIs; milnacipran and levomilnacipran are not in the drug tables); RLS-aggravating
classes - AASM RLS guideline 2024 (antidopaminergic, antihistaminergic and serotonergic medications exacerbate RLS);
PPIs - FDA Drug Safety Communication 2011 (hypomagnesaemia with long-term use).
"""
from __future__ import annotations

from dataclasses import dataclass

from cards import guidelines


@dataclass(frozen=True)
class DrugEffect:
    """What a drug class does to the legs, which lab abnormality it can explain, its next step and its sources."""

    drug_class: str
    label: str
    symptom: str  # short, for summaries and the card's opening line
    mechanism: str
    review: str  # the class's own next step; "{drugs}" is replaced by the patient's drugs of this class
    labs: tuple[tuple[str, str], ...] = ()  # (analyte family, direction) it can explain
    worsens_rls: bool = False
    rls_property: str = ""  # the property an RLS-friendlier alternative lacks ("dopamine-blocking", ...)
    needs_lab: bool = False  # listed only when the lab abnormality is present (e.g. PPIs: very common drugs)
    guideline_keys: tuple[str, ...] = ()

    def step(self, drugs: list[str] | tuple[str, ...]) -> str:
        """The next step for this class, naming the patient's own drugs of it (never a drug they do not take)."""
        names = ", ".join(dict.fromkeys(drugs))
        return self.review.replace("{drugs}", names[:1].upper() + names[1:])

    @property
    def with_article(self) -> str:
        """The label with its indefinite article ("an antipsychotic", "an SSRI", "a beta-2 agonist")."""
        vowel_sound = self.label[:1].lower() in "aeiou" or self.label[:4] in ("SSRI", "SNRI")
        return f"{'an' if vowel_sound else 'a'} {self.label}"

    @property
    def source(self) -> str:
        """The sources by label ("AASM RLS guideline 2024; ..."), from `guideline_keys`."""
        return "; ".join(guidelines.get(k).label for k in self.guideline_keys)


RLS_MECHANISM = "worsens restless legs and periodic limb movements"
RLS_SOURCE = ("aasm-rls-2024",)

EFFECTS: tuple[DrugEffect, ...] = (
    DrugEffect("beta2-agonist", "beta-2 agonist", "cramps",
               "shifts potassium into cells (high or frequent doses) and lowers magnesium; tremor, muscle cramps",
               review="{drugs}: ask how often it is used - frequent or nebulised doses lower potassium and "
                      "magnesium most (albuterol label; Bodenhamer 1992).",
               labs=(("potassium", "low"), ("magnesium", "low")),
               guideline_keys=("albuterol-label", "bodenhamer-1992")),
    DrugEffect("vinca-alkaloid", "vinca alkaloid", "neuropathy",
               "dose-dependent sensorimotor neuropathy with cramps and foot drop; SIAD can lower sodium",
               review="{drugs}: report the neuropathy to the treating oncology team, who decide about dose changes "
                      "(ASCO 2020).",
               labs=(("sodium", "low"),), guideline_keys=("asco-cipn-2020", "hyponatraemia-2014")),
    DrugEffect("antipsychotic", "antipsychotic (dopamine D2 antagonist)", "restless legs",
               RLS_MECHANISM + "; akathisia (G25.71) can mimic RLS",
               review="{drugs}: review the indication and dose with the prescriber; tell akathisia (inner "
                      "restlessness) apart from RLS.",
               worsens_rls=True, rls_property="dopamine-blocking", guideline_keys=RLS_SOURCE),
    DrugEffect("d2-antagonist-antiemetic", "dopamine D2 antagonist antiemetic", "restless legs",
               RLS_MECHANISM + "; akathisia can mimic RLS",
               review="{drugs}: review whether the antiemetic is still needed.",
               worsens_rls=True, rls_property="dopamine-blocking", guideline_keys=RLS_SOURCE),
    DrugEffect("sedating-antihistamine", "sedating antihistamine", "restless legs", RLS_MECHANISM,
               review="{drugs}: often taken at night for sleep or allergy; review whether it is needed.",
               worsens_rls=True, rls_property="antihistamine", guideline_keys=RLS_SOURCE),
    DrugEffect("ssri", "SSRI", "restless legs",
               RLS_MECHANISM + "; SIAD can lower sodium (older adults, with thiazides)",
               review="{drugs}: review the indication and dose with the prescriber.",
               labs=(("sodium", "low"),), worsens_rls=True, rls_property="serotonergic",
               guideline_keys=RLS_SOURCE + ("hyponatraemia-2014",)),
    DrugEffect("snri", "SNRI", "restless legs",
               RLS_MECHANISM + "; SIADH can lower sodium (older adults, with diuretics or volume depletion)",
               review="{drugs}: review the indication and dose with the prescriber.",
               labs=(("sodium", "low"),), worsens_rls=True, rls_property="serotonergic",
               guideline_keys=RLS_SOURCE + ("snri-labels-hyponatremia",)),
    DrugEffect("mirtazapine", "mirtazapine (NaSSA)", "restless legs", RLS_MECHANISM,
               review="{drugs}: review the indication and dose with the prescriber.",
               worsens_rls=True, rls_property="serotonergic", guideline_keys=RLS_SOURCE),
    DrugEffect("ppi", "proton-pump inhibitor", "cramps (low magnesium)",
               "long-term use can cause hypomagnesaemia, which causes cramps",
               review="{drugs} with low magnesium: review the indication and the need for long-term use "
                      "(FDA 2011).",
               labs=(("magnesium", "low"),), needs_lab=True, guideline_keys=("fda-ppi-2011",)),
)

BY_CLASS: dict[str, DrugEffect] = {e.drug_class: e for e in EFFECTS}
RLS_AGGRAVATING: tuple[str, ...] = tuple(e.drug_class for e in EFFECTS if e.worsens_rls)
