"""Restless legs syndrome: an RLS diagnosis, or iron deficiency by the AASM 2024 RLS thresholds.

Fires when: an active RLS diagnosis (incl. RLS in pregnancy); or iron deficiency in the latest results within
  IRON_LOOKBACK - ferritin <= 75 ng/mL or transferrin saturation < 20 % (TSAT reported, or iron / TIBC x 100 from
  the same day). These thresholds apply even inside the lab's normal range (AASM 2024).
Warning: RLS diagnosis with ferritin <= 75 or TSAT < 20 %; or, without an RLS diagnosis, iron deficiency in the
  general sense (ferritin < 30 ng/mL or TSAT < 20 %).
Info: RLS diagnosis without iron deficiency (or without iron studies: iron studies are suggested); or, without an
  RLS diagnosis, ferritin 30-75 ng/mL - low only by the RLS treatment threshold. Iron deficiency is a cause of RLS
  symptoms, not a diagnosis of RLS: without a diagnosis the card says "a treatable cause of restless legs - ask
  about RLS symptoms" and never calls it RLS.
Secondary RLS: with pregnancy, or CKD G5 / dialysis (coded, or eGFR < 15 within IRON_LOOKBACK) the card names
  RLS as secondary. Other CKD stages are mentioned, not labelled secondary: the AASM 2024 secondary-RLS
  recommendations address end-stage kidney disease on dialysis, and KDIGO G5 (eGFR < 15) is where the evidence is.
Also named: active RLS-aggravating drugs (antipsychotics, metoclopramide, sedating antihistamines, SSRIs/SNRIs,
  mirtazapine), an active iron supplement (ferritin may already be rising), diabetic neuropathy (an RLS mimic).
Quiet when: no active RLS diagnosis and ferritin > 75 ng/mL and TSAT >= 20 % (or no iron studies).
Needs: conditions, observations (ferritin, TSAT, iron, TIBC, eGFR), medications.
References: AASM RLS/PLMD guideline 2024 (Winkelman, J Clin Sleep Med 2025;21:137); KDIGO CKD 2024 (G5 < 15).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from cards import card_text
from cards.drug_effects import RLS_AGGRAVATING
from cards.facts import ConditionMatch, LabResult, MedicationUse, PatientFacts
from cards.model import Card, Indicator
from cards.rule import PATIENT_VIEW, Rule
from cards.topics import Topic

IRON_LOOKBACK = timedelta(days=365)  # source: clinical-reference.md §6.5 - iron studies stale after 12 months
FERRITIN_RLS_MAX = 75.0  # source: AASM RLS 2024 - ferritin <= 75 ng/mL: iron therapy in RLS
TSAT_RLS_MIN = 20.0  # source: AASM RLS 2024 - transferrin saturation < 20 %: iron therapy in RLS
FERRITIN_ABSOLUTE_DEFICIENCY = 30.0  # source: clinical-reference.md §1.4 - ferritin < 30 ng/mL absolute deficiency
EGFR_KIDNEY_FAILURE = 15.0  # source: KDIGO CKD 2024 - eGFR < 15 mL/min/1.73 m2 is G5 (kidney failure)
TSAT_PER_IRON_TIBC = 100.0  # source: clinical-reference.md §1.3 - TSAT % = iron / TIBC x 100 (same draw only)

RLS_VALUESETS = ("cond-rls", "cond-rls-pregnancy")


@dataclass(frozen=True)
class Finding:
    rls: tuple[ConditionMatch, ...]
    ferritin: LabResult | None
    tsat: LabResult | None
    tsat_calculated: bool
    pregnancy: tuple[ConditionMatch, ...]
    kidney_failure: tuple[str, ...]
    ckd: tuple[ConditionMatch, ...]
    aggravating: tuple[MedicationUse, ...]
    iron_supplements: tuple[MedicationUse, ...]
    neuropathy: tuple[ConditionMatch, ...]
    iron_deficiency_anaemia: tuple[ConditionMatch, ...]

    @property
    def ferritin_low(self) -> bool:
        return self.ferritin is not None and self.ferritin.value_in("ng/mL") <= FERRITIN_RLS_MAX

    @property
    def tsat_low(self) -> bool:
        return self.tsat is not None and self.tsat.value_in("%") < TSAT_RLS_MIN

    @property
    def iron_deficient(self) -> bool:
        return self.ferritin_low or self.tsat_low

    @property
    def secondary(self) -> tuple[str, ...]:
        causes = []
        if self.pregnancy or any(c.valueset == "cond-rls-pregnancy" for c in self.rls):
            causes.append("pregnancy")
        if self.kidney_failure:
            causes.append("CKD G5 / dialysis")
        return tuple(causes)


def transferrin_saturation(facts: PatientFacts) -> tuple[LabResult | None, bool]:
    """Reported TSAT, else iron / TIBC x 100 from the same day (never from different draws)."""
    reported = facts.latest("tsat", IRON_LOOKBACK)
    iron = facts.latest("iron", IRON_LOOKBACK)
    if iron is not None and (reported is None or iron.day > reported.day):
        tibc = next((t for t in facts.results("tibc", IRON_LOOKBACK) if t.day == iron.day), None)
        if tibc is not None and tibc.value_in("ug/dL") > 0:
            value = iron.value_in("ug/dL") / tibc.value_in("ug/dL") * TSAT_PER_IRON_TIBC
            calculated = LabResult(analyte="tsat", value=value, unit="%", date=iron.date, code="",
                                   display="Transferrin saturation (calculated)", observation_id=None,
                                   original=f"iron {card_text.fmt_value(iron.value_in('ug/dL'))} / TIBC "
                                            f"{card_text.fmt_value(tibc.value_in('ug/dL'))} ug/dL")
            return calculated, True
    return reported, False


def _kidney_failure(facts: PatientFacts) -> tuple[str, ...]:
    found = [c.display for c in facts.conditions("cond-ckd-g5-dialysis")]
    egfr = facts.latest("egfr", IRON_LOOKBACK)
    if egfr is not None and egfr.value < EGFR_KIDNEY_FAILURE:  # eGFR has one unit (mL/min/1.73 m2)
        found.append(f"eGFR {card_text.fmt_value(egfr.value)} ({egfr.day.isoformat()})")
    return tuple(found)


def _applies(facts: PatientFacts) -> Finding | None:
    rls = tuple(c for vs in RLS_VALUESETS for c in facts.conditions(vs))
    ferritin = facts.latest("ferritin", IRON_LOOKBACK)
    tsat, calculated = transferrin_saturation(facts)
    iron_deficient = (ferritin is not None and ferritin.value_in("ng/mL") <= FERRITIN_RLS_MAX) or (
        tsat is not None and tsat.value_in("%") < TSAT_RLS_MIN)
    if not rls and not iron_deficient:
        return None
    kidney_failure = _kidney_failure(facts)
    g5_ids = {c.condition_id for c in facts.conditions("cond-ckd-g5-dialysis")}
    return Finding(
        rls=rls, ferritin=ferritin, tsat=tsat, tsat_calculated=calculated,
        pregnancy=tuple(facts.conditions("cond-pregnancy")), kidney_failure=kidney_failure,
        ckd=tuple(c for c in facts.conditions("cond-ckd") if c.condition_id is None or c.condition_id not in g5_ids),
        aggravating=tuple(m for c in RLS_AGGRAVATING for m in facts.medications(c)),
        iron_supplements=tuple(facts.medications("iron-supplement")),
        neuropathy=tuple(facts.conditions("cond-diabetic-neuropathy")),
        iron_deficiency_anaemia=tuple(facts.conditions("cond-iron-deficiency-anemia")),
    )


def grade(finding: Finding) -> Indicator:
    if finding.rls:
        return Indicator.WARNING if finding.iron_deficient else Indicator.INFO
    absolute = finding.ferritin is not None and finding.ferritin.value_in("ng/mL") < FERRITIN_ABSOLUTE_DEFICIENCY
    return Indicator.WARNING if absolute or finding.tsat_low else Indicator.INFO


def _iron_text(finding: Finding) -> str:
    shown = []
    if finding.ferritin_low and finding.ferritin is not None:
        shown.append(f"ferritin {card_text.fmt_value(finding.ferritin.value_in('ng/mL'))} ng/mL "
                     f"({finding.ferritin.day.isoformat()})")
    if finding.tsat_low and finding.tsat is not None:
        shown.append(f"TSAT {card_text.fmt_value(finding.tsat.value_in('%'))}% ({finding.tsat.day.isoformat()})")
    return " and ".join(shown)


def _summary(finding: Finding) -> str:
    drugs = sorted({m.ingredient for m in finding.aggravating})
    if not finding.rls:
        kind = "iron deficiency" if grade(finding) is Indicator.WARNING else "below the RLS iron target (<= 75)"
        iron = _iron_text(finding)
        return f"{iron[:1].upper()}{iron[1:]}: {kind} - a treatable cause of restless legs; ask about symptoms"
    name = "Secondary restless legs (" + ", ".join(finding.secondary) + ")" if finding.secondary else "Restless legs"
    if finding.iron_deficient:
        return f"{name} with {_iron_text(finding)}: AASM 2024 suggests iron therapy"
    if finding.ferritin is None and finding.tsat is None:
        return f"{name} on the problem list, no iron studies in 12 months - check ferritin and TSAT"
    if drugs:
        return f"{name}: iron studies adequate; {', '.join(drugs)} can worsen RLS - review"
    return f"{name} on the problem list; ferritin and TSAT above the AASM 2024 iron-therapy thresholds"


def _assess_ferritin(result: LabResult) -> str:
    if result.value_in("ng/mL") < FERRITIN_ABSOLUTE_DEFICIENCY:
        return "absolute iron deficiency (< 30)"
    if result.value_in("ng/mL") <= FERRITIN_RLS_MAX:
        return "low for RLS (<= 75, AASM 2024)"
    return "above the RLS iron-therapy threshold"


def _evidence(finding: Finding, facts: PatientFacts) -> list[str]:
    parts = []
    if finding.rls:
        parts.append(card_text.bullets("Diagnosis", (card_text.condition_line(c, facts.now) for c in finding.rls)))
    rows = []
    if finding.ferritin is not None:
        rows.append((finding.ferritin, "<= 75 ng/mL treat (AASM 2024)", _assess_ferritin(finding.ferritin)))
    if finding.tsat is not None:
        note = "calculated from iron/TIBC of the same day; " if finding.tsat_calculated else ""
        rows.append((finding.tsat, "< 20% treat (AASM 2024)",
                     note + ("low for RLS (< 20%)" if finding.tsat_low else "adequate")))
    if rows:
        parts.append(card_text.lab_table(rows, facts.now) + "\n\nAASM thresholds apply even inside the lab's "
                     "normal range.")
    else:
        parts.append("No ferritin or transferrin saturation in the last 12 months.")
    context = []
    if finding.secondary:
        context.append("Secondary RLS: " + ", ".join(finding.secondary) + " ("
                       + "; ".join([c.display for c in finding.pregnancy] + list(finding.kidney_failure)) + ").")
    if finding.ckd and "CKD G5 / dialysis" not in finding.secondary:
        context.append("CKD on the problem list (" + "; ".join(c.display for c in finding.ckd) + "): RLS is more "
                       "common in CKD; the AASM 2024 secondary-RLS advice addresses kidney failure on dialysis.")
    for med in finding.aggravating:
        context.append(f"{med.display} ({med.ingredient}) can worsen RLS (see the *Medication side effect* card).")
    for med in finding.iron_supplements:
        context.append(f"On {med.display}: ferritin may already be rising; recheck before adding more iron.")
    for c in finding.neuropathy:
        context.append(f"{c.display}: neuropathy can cause or mimic RLS.")
    for c in finding.iron_deficiency_anaemia:
        context.append(f"{c.display} on the problem list supports iron deficiency.")
    if context:
        parts.append(card_text.bullets("Related", context))
    return parts


def _card(finding: Finding, facts: PatientFacts) -> Card:
    indicator = grade(finding)
    parts = ["Restless legs: an urge to move the legs, starting or worse at rest and in the evening or night, "
             "relieved by moving. Iron deficiency is its most treatable cause."]
    parts += _evidence(finding, facts)
    steps = []
    if finding.iron_deficient:
        steps.append("Ferritin <= 75 ng/mL or TSAT < 20%: oral or IV iron (AASM 2024); ferritin 75-100 ng/mL: "
                     "IV iron only.")
    if not finding.rls:
        steps.append("Ask about restless legs symptoms (urge to move, worse at rest and at night, eased by moving).")
    if finding.aggravating:
        steps.append("Review RLS-aggravating drugs (dopamine antagonists, sedating antihistamines, "
                     "serotonergic antidepressants).")
    steps.append("Iron studies: a morning draw, no iron supplement or food in the 24 hours before (AASM 2024).")
    if finding.rls:
        steps.append("AASM 2024 advises against standard use of dopamine agonists (augmentation risk).")
    parts.append(card_text.bullets("Next steps", steps))
    missing = finding.ferritin is None or finding.tsat is None
    label = "Order iron studies (ferritin, iron, TIBC, transferrin saturation)" if missing else \
        "Repeat iron studies to follow iron therapy"
    suggestion = card_text.order_suggestion(label, facts.patient_id,
                                            card_text.lab_orders("ferritin", "iron", "tibc", "tsat"),
                                            reason="Restless legs / iron deficiency (AASM 2024)",
                                            recommended=(bool(finding.rls) and missing) or None)
    keys = ("aasm-rls-2024",) + (("kdigo-ckd-2024",) if finding.kidney_failure else ())
    return card_text.make_card(rule=RULE, indicator=indicator, summary_text=_summary(finding),
                               detail="\n\n".join(p for p in parts if p), guideline_keys=keys,
                               suggestions=[suggestion], facts=facts)


RULE = Rule(
    id="restless-legs", version="1.0.0", topic=Topic.RESTLESS_LEGS, hooks=frozenset({PATIENT_VIEW}),
    needs=("patient", "observations", "medications", "medicationRequests", "conditions"),
    applies=_applies, card=_card, analytes=("ferritin", "tsat", "iron", "tibc", "egfr"),
    valuesets=RLS_VALUESETS + ("cond-pregnancy", "cond-ckd", "cond-ckd-g5-dialysis", "cond-diabetic-neuropathy",
                               "cond-iron-deficiency-anemia"),
    drug_classes=RLS_AGGRAVATING + ("iron-supplement",),
    summary="RLS diagnosis, or ferritin <= 75 ng/mL / TSAT < 20 % (AASM 2024); secondary RLS and aggravating drugs "
            "named.",
    fires_when="active RLS diagnosis; or latest ferritin within 12 months <= 75 ng/mL or TSAT < 20 % (even inside "
               "the lab range). Warning: RLS + iron deficiency, or ferritin < 30 / TSAT < 20 % without RLS",
    quiet_when="no RLS diagnosis and ferritin > 75 ng/mL and TSAT >= 20 % (or no iron studies within 12 months)",
    references=("aasm-rls-2024", "kdigo-ckd-2024"),
)
