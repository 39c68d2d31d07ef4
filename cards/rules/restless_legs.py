"""Restless legs syndrome: an RLS diagnosis, or iron deficiency by the AASM 2024 RLS thresholds.

Numbers and windows: cards/knowledge/data/rls.json (the rule reads them there; the values below are the current ones).
Fires when: an active RLS diagnosis (incl. RLS in pregnancy); or iron deficiency in the latest results within the
  iron window - ferritin <= 75 ng/mL or transferrin saturation < 20 % (TSAT reported, or iron / TIBC x 100 from
  the same day). These thresholds apply even inside the lab's normal range (AASM 2024, good practice statement 1).
Warning: RLS diagnosis with ferritin <= 75 or TSAT < 20 %; or, without an RLS diagnosis, iron deficiency in the
  general sense (ferritin < 30 ng/mL, a product choice, or TSAT < 20 %).
Info: RLS diagnosis without iron deficiency (or without iron studies: iron studies are suggested); or, without an
  RLS diagnosis, ferritin 30-75 ng/mL - low only by the RLS treatment threshold. Iron deficiency is a cause of RLS
  symptoms, not a diagnosis of RLS: without a diagnosis the card says "a treatable cause of restless legs - ask
  about RLS symptoms" and never calls it RLS.
Secondary RLS: with pregnancy, or CKD G5 / dialysis (coded, or eGFR < 15 within IRON_LOOKBACK) the card names
  RLS as secondary. Other CKD stages are mentioned, not labelled secondary: the AASM 2024 secondary-RLS
  recommendations address end-stage kidney disease on dialysis, and KDIGO G5 (eGFR < 15) is where the evidence is.
Also named: active RLS-aggravating drugs (antipsychotics, metoclopramide, sedating antihistamines, SSRIs/SNRIs,
  mirtazapine: cards.drug_effects), an active iron supplement (ferritin may already be rising), diabetic neuropathy
  (an RLS mimic).
Quiet when: no active RLS diagnosis and ferritin > 75 ng/mL and TSAT >= 20 % (or no iron studies).
Needs: conditions, observations (ferritin, TSAT, iron, TIBC, eGFR), medications.
References: AASM RLS/PLMD guideline 2024 (Winkelman, J Clin Sleep Med 2025;21:137); KDIGO CKD 2024 (G5 < 15).
"""
from __future__ import annotations

from dataclasses import dataclass

from cards import card_text
from cards.drug_effects import BY_CLASS, RLS_AGGRAVATING
from cards.facts import ConditionMatch, LabResult, MedicationUse, PatientFacts
from cards.knowledge import threshold
from cards.model import Card, Indicator
from cards.rule import PATIENT_VIEW, Rule
from cards.topics import Topic

IRON_WINDOW = threshold("rls.iron-lookback")
IRON_LOOKBACK = IRON_WINDOW.days
WINDOW_TEXT = f"{IRON_WINDOW.value * 12 / 365:g} months"
FERRITIN_RLS = threshold("rls.ferritin-iron-therapy")  # ferritin <= 75 ng/mL
TSAT_RLS = threshold("rls.tsat-iron-therapy")  # transferrin saturation < 20 %
FERRITIN_IV_ONLY = threshold("rls.ferritin-iv-iron-only")  # 75-100 ng/mL: IV iron only
FERRITIN_DEFICIENT = threshold("rls.ferritin-iron-deficiency")  # < 30 ng/mL: iron deficiency in general
EGFR_KIDNEY_FAILURE = threshold("rls.egfr-kidney-failure")  # eGFR < 15: CKD G5
TSAT_PER_IRON_TIBC = threshold("rls.tsat-from-iron-tibc").value  # percent
FERRITIN_TEXT = f"{FERRITIN_RLS.compare} {FERRITIN_RLS.value:g} ng/mL"  # "<= 75 ng/mL"
TSAT_TEXT = f"{TSAT_RLS.compare} {TSAT_RLS.value:g}%"  # "< 20%"

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
        return ferritin_low(self.ferritin)

    @property
    def tsat_low(self) -> bool:
        return tsat_low(self.tsat)

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


def ferritin_low(result: LabResult | None) -> bool:
    """Ferritin at or below the AASM 2024 iron-therapy cut-off (even inside the lab's range)."""
    return result is not None and FERRITIN_RLS.met(result.value_in("ng/mL"))


def tsat_low(result: LabResult | None) -> bool:
    """Transferrin saturation below the AASM 2024 iron-therapy cut-off."""
    return result is not None and TSAT_RLS.met(result.value_in("%"))


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
    if egfr is not None and EGFR_KIDNEY_FAILURE.met(egfr.value):  # eGFR has one unit (mL/min/1.73 m2)
        found.append(f"eGFR {card_text.fmt_value(egfr.value)} ({egfr.day.isoformat()})")
    return tuple(found)


def _applies(facts: PatientFacts) -> Finding | None:
    rls = tuple(c for vs in RLS_VALUESETS for c in facts.conditions(vs))
    ferritin = facts.latest("ferritin", IRON_LOOKBACK)
    tsat, calculated = transferrin_saturation(facts)
    if not rls and not (ferritin_low(ferritin) or tsat_low(tsat)):
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
    absolute = finding.ferritin is not None and FERRITIN_DEFICIENT.met(finding.ferritin.value_in("ng/mL"))
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
        kind = "iron deficiency" if grade(finding) is Indicator.WARNING else \
            f"below the RLS iron target ({FERRITIN_RLS.compare} {FERRITIN_RLS.value:g})"
        iron = _iron_text(finding)
        return f"{iron[:1].upper()}{iron[1:]}: {kind} - a treatable cause of restless legs; ask about symptoms"
    name = "Secondary restless legs (" + ", ".join(finding.secondary) + ")" if finding.secondary else "Restless legs"
    if finding.iron_deficient:
        return f"{name} with {_iron_text(finding)}: AASM 2024 suggests iron therapy"
    if finding.ferritin is None and finding.tsat is None:
        return f"{name} on the problem list, no iron studies in {WINDOW_TEXT} - check ferritin and TSAT"
    if drugs:
        return f"{name}: iron studies adequate; {', '.join(drugs)} can worsen RLS - review"
    return f"{name} on the problem list; ferritin and TSAT above the AASM 2024 iron-therapy thresholds"


def _assess_ferritin(result: LabResult) -> str:
    if FERRITIN_DEFICIENT.met(result.value_in("ng/mL")):
        return f"absolute iron deficiency ({FERRITIN_DEFICIENT.compare} {FERRITIN_DEFICIENT.value:g})"
    if FERRITIN_RLS.met(result.value_in("ng/mL")):
        return f"low for RLS ({FERRITIN_RLS.compare} {FERRITIN_RLS.value:g}, AASM 2024)"
    return "above the RLS iron-therapy threshold"


def _evidence(finding: Finding, facts: PatientFacts) -> list[str]:
    parts = []
    if finding.rls:
        parts.append(card_text.bullets("Diagnosis", (card_text.condition_line(c, facts.now) for c in finding.rls)))
    rows = []
    if finding.ferritin is not None:
        rows.append((finding.ferritin, f"{FERRITIN_TEXT} treat (AASM 2024)", _assess_ferritin(finding.ferritin)))
    if finding.tsat is not None:
        note = "calculated from iron/TIBC of the same day; " if finding.tsat_calculated else ""
        rows.append((finding.tsat, f"{TSAT_TEXT} treat (AASM 2024)",
                     note + (f"low for RLS ({TSAT_TEXT})" if finding.tsat_low else "adequate")))
    if rows:
        parts.append(card_text.lab_table(rows, facts.now) + "\n\nAASM thresholds apply even inside the lab's "
                     "normal range.")
    else:
        parts.append(f"No ferritin or transferrin saturation in the last {WINDOW_TEXT}.")
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


def aggravating_step(drugs: tuple[MedicationUse, ...]) -> str:
    """The review step naming only the aggravating drugs this patient takes, with their classes."""
    named = dict.fromkeys(f"{m.ingredient} ({BY_CLASS[c].label})" for m in drugs for c in RLS_AGGRAVATING
                          if c in m.classes)
    return f"Review the drugs that can worsen RLS (AASM 2024): {', '.join(named)}."


def _card(finding: Finding, facts: PatientFacts) -> Card:
    indicator = grade(finding)
    parts = ["Restless legs: an urge to move the legs, starting or worse at rest and in the evening or night, "
             "relieved by moving. Iron deficiency is its most treatable cause."]
    parts += _evidence(finding, facts)
    steps = []
    if finding.iron_deficient:
        steps.append(f"Ferritin {FERRITIN_TEXT} or TSAT {TSAT_TEXT}: oral or IV iron (AASM 2024); ferritin "
                     f"{FERRITIN_RLS.value:g}-{FERRITIN_IV_ONLY.value:g} ng/mL: IV iron only.")
    if not finding.rls:
        steps.append("Ask about restless legs symptoms (urge to move, worse at rest and at night, eased by moving).")
    if finding.aggravating:
        steps.append(aggravating_step(finding.aggravating))
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
    id="restless-legs", version="1.1.0", topic=Topic.RESTLESS_LEGS, hooks=frozenset({PATIENT_VIEW}),
    needs=("patient", "observations", "medications", "medicationRequests", "conditions"),
    applies=_applies, card=_card, analytes=("ferritin", "tsat", "iron", "tibc", "egfr"),
    valuesets=RLS_VALUESETS + ("cond-pregnancy", "cond-ckd", "cond-ckd-g5-dialysis", "cond-diabetic-neuropathy",
                               "cond-iron-deficiency-anemia"),
    drug_classes=RLS_AGGRAVATING + ("iron-supplement",),
    summary=f"RLS diagnosis, or ferritin {FERRITIN_TEXT} / TSAT {TSAT_TEXT} (AASM 2024); secondary RLS and "
            "aggravating drugs named.",
    fires_when=f"active RLS diagnosis; or latest ferritin within {WINDOW_TEXT} {FERRITIN_TEXT} or TSAT {TSAT_TEXT} "
               "(even inside the lab range). Warning: RLS + iron deficiency, or ferritin "
               f"{FERRITIN_DEFICIENT.compare} {FERRITIN_DEFICIENT.value:g} / TSAT {TSAT_TEXT} without RLS",
    quiet_when=f"no RLS diagnosis and ferritin > {FERRITIN_RLS.value:g} ng/mL and TSAT >= {TSAT_RLS.value:g}% (or no "
               f"iron studies within {WINDOW_TEXT})",
    advice=f"Ferritin {FERRITIN_TEXT} or TSAT {TSAT_TEXT}: oral or IV iron, ferritin {FERRITIN_RLS.value:g}-"
           f"{FERRITIN_IV_ONLY.value:g} ng/mL IV iron only; iron studies on a morning draw without iron for 24 hours; "
           "review the RLS-aggravating drugs the patient takes; without a diagnosis, ask about RLS symptoms; no "
           "standard use of dopamine agonists (augmentation).",
    references=("aasm-rls-2024", "kdigo-ckd-2024"),
)
