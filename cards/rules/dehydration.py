"""Dehydration: a raised BUN/creatinine ratio with high sodium or high osmolality, from the same draw.

Fires when: within LOOKBACK ({dehydration.lookback:value}), on the most recent day that has a BUN, a creatinine and a
  sodium or serum osmolality (the same draw: results of one calendar day, never combined across days), the
  BUN/creatinine ratio is {dehydration.bun-creatinine-ratio} AND (sodium {dehydration.sodium-high} OR measured serum
  osmolality {dehydration.measured-osmolality} OR - only when that draw has no measured osmolality, and in a patient
  aged {dehydration.calculated-min-age:value} or more (the guideline's older persons) - osmolarity calculated with the
  ESPEN equation from Na + K, glucose and urea (its coefficients are the `dehydration.osmolarity-*` entries; all mmol/L;
  needs the same draw's potassium and glucose) {dehydration.calculated-osmolarity}). The card says when osmolarity was
  calculated.
Critical: sodium {dehydration.sodium-critical}. Info when only the calculated osmolarity is high (a screen, which a
  measured value confirms; hyperglycaemia alone raises it). Warning otherwise.
Window: {dehydration.lookback:value}, the electrolyte window; volume depletion is an acute state, so the card shows the
  draw's date and age and asks to reassess before acting; older draws are ignored. The newest complete draw decides: a
  newer draw without the ratio or without a hypertonicity marker silences an older one.
Kidney failure: with an eGFR < {dehydration.osmolality-min-egfr:value} (the draw's own, else CKD-EPI 2021 from its
  creatinine) the osmolality criteria are not used - urea raises osmolality without a water deficit - and fluid advice
  is left to the kidney team.
Quiet when: no complete draw within {dehydration.lookback:value}, ratio <= {dehydration.bun-creatinine-ratio:value}, or
  sodium <= {dehydration.sodium-high:value} with measured osmolality <= {dehydration.measured-osmolality:value} (or,
  with none measured, calculated osmolarity <= {dehydration.calculated-osmolarity:value} or not calculable), or eGFR <
  {dehydration.osmolality-min-egfr:value} with sodium <= {dehydration.sodium-high:value}.
Also named: an active loop or thiazide diuretic as a contributor (pointing to the Diuretic effect card only when that
  card is always shown, i.e. actionable).
Kind: always actionable - every card rests on abnormal values of one draw (a raised BUN/creatinine ratio with a high
  sodium, a high measured osmolality or, in an older person, ESPEN's calculated-osmolarity criterion).
Needs: observations (BUN, creatinine, sodium, potassium, glucose, osmolality), medications.
References: ESPEN geriatric nutrition and hydration guideline 2019 (measured {dehydration.measured-osmolality};
  calculated {dehydration.calculated-osmolarity}); CTCAE v5.0 (hypernatraemia {dehydration.sodium-critical} grade 4).
  The BUN/creatinine ratio {dehydration.bun-creatinine-ratio} is a product decision
  (cards/knowledge/data/thresholds/dehydration.json).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cards import card_text
from cards.facts import LabResult, MedicationUse, PatientFacts
from cards.knowledge import threshold
from cards.model import Card, CardKind, Indicator
from cards.rule import PATIENT_VIEW, Rule
from cards.rules import diuretic_effect, electrolyte_imbalance as electrolytes
from cards.topics import Topic

LOOKBACK = threshold("dehydration.lookback").days
BUN_CREATININE_RATIO = threshold("dehydration.bun-creatinine-ratio")
SODIUM_HIGH = threshold("dehydration.sodium-high")
MEASURED_OSMOLALITY = threshold("dehydration.measured-osmolality")
CALCULATED_OSMOLARITY = threshold("dehydration.calculated-osmolarity")
CALCULATED_MIN_AGE = threshold("dehydration.calculated-min-age")
OSMOLALITY_MIN_EGFR = threshold("dehydration.osmolality-min-egfr")
SODIUM_CRITICAL = threshold("dehydration.sodium-critical")
BUN_DEFAULT_HIGH = threshold("dehydration.bun-default-high")
OSMOLARITY_NA_K = threshold("dehydration.osmolarity-sodium-potassium").value
OSMOLARITY_GLUCOSE = threshold("dehydration.osmolarity-glucose").value
OSMOLARITY_CONSTANT = threshold("dehydration.osmolarity-constant").value


@dataclass(frozen=True)
class Draw:
    day: date
    bun: LabResult
    creatinine: LabResult
    sodium: LabResult | None
    osmolality: LabResult | None
    potassium: LabResult | None = None
    glucose: LabResult | None = None

    @property
    def ratio(self) -> float:
        return self.bun.value_in("mg/dL") / self.creatinine.value_in("mg/dL")

    @property
    def calculated_osmolarity(self) -> float | None:
        """ESPEN 2019: 1.86 x (Na + K) + 1.15 x glucose + urea + 14, all mmol/L; None without every term."""
        if self.sodium is None or self.potassium is None or self.glucose is None:
            return None
        urea = self.bun.value_in("mmol/L")  # urea mmol/L (terminology/data/units.json: BUN mg/dL x 0.357)
        glucose = self.glucose.value_in("mmol/L")
        return (OSMOLARITY_NA_K * (self.sodium.value_in("mmol/L") + self.potassium.value_in("mmol/L"))
                + OSMOLARITY_GLUCOSE * glucose + urea + OSMOLARITY_CONSTANT)


@dataclass(frozen=True)
class Finding:
    draw: Draw
    diuretics: tuple[MedicationUse, ...]

    @property
    def critical(self) -> bool:
        return self.draw.sodium is not None and SODIUM_CRITICAL.met(self.draw.sodium.value_in("mmol/L"))


def latest_draw(facts: PatientFacts) -> Draw | None:
    """The newest day within LOOKBACK with BUN, creatinine (> 0) and sodium or osmolality.

    Candidate days come from the result dates alone, so only the results of days that could form a draw are
    validated and converted (newest first; a day whose results turn out unusable gives way to the next one).
    """
    def days(analyte: str) -> set[date]:
        return facts.candidate_days(analyte, LOOKBACK)

    def last_on(analyte: str, day: date) -> LabResult | None:
        found = facts.results_on(analyte, day)
        return found[0] if found else None  # newest first: the last result of that day

    possible = days("bun") & days("creatinine") & (days("sodium") | days("osmolality"))
    for day in sorted(possible, reverse=True):
        bun, creatinine = last_on("bun", day), last_on("creatinine", day)
        sodium, osmolality = last_on("sodium", day), last_on("osmolality", day)
        if bun and creatinine and creatinine.value_in("mg/dL") > 0 and (sodium or osmolality):
            potassium = last_on("potassium", day) if osmolality is None else None
            glucose = last_on("glucose", day) if osmolality is None else None
            return Draw(day, bun, creatinine, sodium, osmolality, potassium, glucose)
    return None


def _sodium_high(draw: Draw) -> bool:
    return draw.sodium is not None and SODIUM_HIGH.met(draw.sodium.value_in("mmol/L"))


def ckd_epi_2021(creatinine_mg_dl: float, age: int, sex: str | None) -> float | None:
    """eGFR (mL/min/1.73 m2) by the race-free CKD-EPI 2021 creatinine equation (Inker et al., NEJM 2021):
    142 x min(Scr/k, 1)^a x max(Scr/k, 1)^-1.200 x 0.9938^age [x 1.012 if female]; k 0.7 (female) / 0.9 (male),
    a -0.241 (female) / -0.302 (male). None when sex is unknown or the creatinine is not positive."""
    if sex not in ("female", "male") or creatinine_mg_dl <= 0:
        return None
    female = sex == "female"
    kappa, alpha = (0.7, -0.241) if female else (0.9, -0.302)
    ratio = creatinine_mg_dl / kappa
    return float(142 * min(ratio, 1.0) ** alpha * max(ratio, 1.0) ** -1.200 * 0.9938 ** age
                 * (1.012 if female else 1.0))


def draw_egfr(draw: Draw, facts: PatientFacts) -> float | None:
    """The draw's own eGFR when the lab reported one that day, else CKD-EPI 2021 from its creatinine."""
    reported = facts.results_on("egfr", draw.day)
    if reported:
        return reported[0].value
    if facts.age_years is None:
        return None
    return ckd_epi_2021(draw.creatinine.value_in("mg/dL"), facts.age_years, facts.sex)


def _kidney_failure(draw: Draw, facts: PatientFacts) -> bool:
    egfr = draw_egfr(draw, facts)
    return egfr is not None and not OSMOLALITY_MIN_EGFR.met(egfr)


def _osmolality_high(draw: Draw, facts: PatientFacts) -> bool:
    """Measured osmolality > 300 mOsm/kg; only without a measured value, and in an older person (ESPEN 2019's
    population), calculated osmolarity > 295 mmol/L. Neither in severe kidney impairment (eGFR < 30), where urea
    raises osmolality without a water deficit."""
    if _kidney_failure(draw, facts):
        return False
    if draw.osmolality is not None:
        return MEASURED_OSMOLALITY.met(draw.osmolality.value_in("mosm/kg"))
    if facts.age_years is None or not CALCULATED_MIN_AGE.met(facts.age_years):
        return False
    calculated = draw.calculated_osmolarity
    return calculated is not None and CALCULATED_OSMOLARITY.met(calculated)


def _applies(facts: PatientFacts) -> Finding | None:
    draw = latest_draw(facts)
    if draw is None or not BUN_CREATININE_RATIO.met(draw.ratio):
        return None
    if not (_sodium_high(draw) or _osmolality_high(draw, facts)):
        return None
    diuretics = tuple(m for c in diuretic_effect.DIURETIC_CLASSES for m in facts.medications(c))
    return Finding(draw, diuretics)


def _marker(draw: Draw) -> str:
    if _sodium_high(draw) and draw.sodium is not None:
        return f"sodium {card_text.value_text(draw.sodium)}"
    if draw.osmolality is not None:
        return f"osmolality {card_text.value_text(draw.osmolality)}"
    return f"calculated osmolarity {card_text.fmt_value(draw.calculated_osmolarity or 0, 0)} mmol/L"


def _electrolyte_card_has_high_sodium(facts: PatientFacts) -> bool:
    """Whether the electrolyte card shows a high sodium: it grades the newest sodium by the lab's range, which can be
    a newer draw, or a range under which this sodium is not high."""
    found = electrolytes.RULE.applies(facts)
    return found is not None and any(a.family == "sodium" and a.direction == "high" for a in found.abnormal)


def _card(finding: Finding, facts: PatientFacts) -> Card:
    draw = finding.draw
    ratio = card_text.fmt_value(draw.ratio, 1)
    marker = _marker(draw)
    screen_only = not _sodium_high(draw) and draw.osmolality is None
    if finding.critical:
        indicator = Indicator.CRITICAL
        summary = f"Severe hypernatraemia: {marker}, BUN/creatinine {ratio} ({draw.day.isoformat()}) - assess today"
    elif screen_only:
        # ESPEN 2019 uses calculated osmolarity to screen; a measured osmolality confirms. Hyperglycaemia alone
        # raises it without a water deficit, so a calculated value alone is information, not a warning.
        indicator = Indicator.INFO
        summary = (f"Possible dehydration: {marker}, BUN/creatinine {ratio} ({draw.day.isoformat()}) - measure "
                   "serum osmolality")
    else:
        indicator = Indicator.WARNING
        summary = f"Dehydration likely: BUN/creatinine {ratio} with {marker} ({draw.day.isoformat()}) - night cramps"
    rows = [(draw.bun, card_text.range_text(draw.bun, (None, BUN_DEFAULT_HIGH.value)),
             f"BUN/creatinine ratio {ratio} ({BUN_CREATININE_RATIO.text})"),
            (draw.creatinine, card_text.range_text(draw.creatinine), "-")]
    if draw.sodium is not None:
        rows.append((draw.sodium, card_text.range_text(draw.sodium, (None, SODIUM_HIGH.value)),
                     ("**critical** " if finding.critical else "") + ("high" if _sodium_high(draw) else "not high")))
    if draw.osmolality is not None:
        rows.append((draw.osmolality, card_text.range_text(draw.osmolality),
                     f"high ({MEASURED_OSMOLALITY.text}, measured)" if _osmolality_high(draw, facts) else
                     f"not high (measured; dehydration {MEASURED_OSMOLALITY.text})"))
    for extra in (draw.potassium, draw.glucose):
        if extra is not None:
            rows.append((extra, card_text.range_text(extra), "used in the calculated osmolarity"))
    parts = ["Water and volume depletion cause muscle cramps, often at night. All values below are from the same "
             "draw.", card_text.lab_table(rows, facts.now)]
    calculated = draw.calculated_osmolarity
    if draw.osmolality is None and calculated is not None and draw.glucose is not None and _osmolality_high(draw, facts):
        glucose_part = OSMOLARITY_GLUCOSE * draw.glucose.value_in("mmol/L")
        parts.append(f"No measured osmolality on this draw: osmolarity **calculated** with the ESPEN 2019 equation "
                     f"1.86 x (Na + K) + 1.15 x glucose + urea + 14 = **{card_text.fmt_value(calculated, 0)} mmol/L** "
                     f"(screening threshold {CALCULATED_OSMOLARITY.text}; a measured osmolality "
                     f"{MEASURED_OSMOLALITY.text} confirms). Glucose contributes "
                     f"{card_text.fmt_value(glucose_part, 0)} mmol/L of it: high glucose raises osmolarity without a "
                     "water deficit.")
    related = []
    if finding.diuretics:
        names = ", ".join(sorted({m.ingredient for m in finding.diuretics}))
        # This card is always shown: point to the diuretic card only when it is too (not a monitoring gap alone).
        see = " (see the *Diuretic effect* card)" if diuretic_effect.card_kind(facts) is CardKind.ACTIONABLE else ""
        related.append(f"Active {names} may be contributing to volume depletion{see}.")
    if _sodium_high(draw) and _electrolyte_card_has_high_sodium(facts):
        related.append("The high sodium also appears on the *Electrolyte imbalance* card.")
    if related:
        parts.append(card_text.bullets("Related", related))
    steps = ["Assess volume status and fluid intake (orthostatic blood pressure, weight, intake)."]
    if _kidney_failure(draw, facts):
        steps.append(f"eGFR below {OSMOLALITY_MIN_EGFR.value:g}: decide on fluids with the kidney team (fluid "
                     "overload risk); urea raises osmolality without a water deficit.")
    else:
        steps.append("Encourage oral fluids, or IV fluids as appropriate (ESPEN 2019)"
                     + ("; review the diuretic dose." if finding.diuretics else "."))
    steps.append("Repeat sodium, BUN, creatinine and a measured serum osmolality to confirm.")
    if finding.critical:
        steps.insert(0, f"Sodium {SODIUM_CRITICAL.text}: same-day assessment; lower sodium slowly.")
    parts.append(card_text.bullets("Next steps", steps))
    suggestion = card_text.order_suggestion("Repeat basic metabolic panel and serum osmolality", facts.patient_id,
                                            card_text.lab_orders("bmp", "osmolality"),
                                            reason=f"Suspected dehydration (BUN/creatinine {ratio})",
                                            recommended=True)
    return card_text.make_card(rule=RULE, indicator=indicator, summary_text=summary, detail="\n\n".join(parts),
                               guideline_keys=("espen-2019", "ctcae-v5"), suggestions=[suggestion], facts=facts)


RULE = Rule(
    id="dehydration", version="2.2.0", topic=Topic.DEHYDRATION, hooks=frozenset({PATIENT_VIEW}),
    needs=("patient", "observations", "medications", "medicationRequests"), applies=_applies, card=_card,
    analytes=("bun", "creatinine", "sodium", "osmolality", "potassium", "glucose", "egfr"),
    drug_classes=diuretic_effect.DIURETIC_CLASSES,
    summary="BUN/creatinine {dehydration.bun-creatinine-ratio} with sodium {dehydration.sodium-high}, measured "
            "osmolality {dehydration.measured-osmolality} or (none measured) calculated osmolarity "
            "{dehydration.calculated-osmolarity}, same draw; critical if Na {dehydration.sodium-critical}.",
    fires_when="newest same-day draw within {dehydration.lookback:value}: BUN/creatinine "
               "{dehydration.bun-creatinine-ratio} AND (Na {dehydration.sodium-high} OR measured serum osmolality "
               "{dehydration.measured-osmolality} OR, with none measured and age {dehydration.calculated-min-age}, "
               "ESPEN calculated osmolarity {dehydration.calculated-osmolarity})",
    quiet_when="no same-day BUN + creatinine + sodium/osmolality within {dehydration.lookback:value}, or ratio <= "
               "{dehydration.bun-creatinine-ratio:value}, or Na <= {dehydration.sodium-high:value} with measured "
               "osmolality <= {dehydration.measured-osmolality:value} (calculated <= "
               "{dehydration.calculated-osmolarity:value} or not calculable when none measured)",
    advice="Assess volume status and intake, give fluids as appropriate, review the diuretic dose, and confirm with a "
           "repeat panel and a measured osmolality; Na {dehydration.sodium-critical}: same-day assessment.",
    actionable_when="every finding: abnormal values of one recent draw (BUN/creatinine "
                    "{dehydration.bun-creatinine-ratio} with Na {dehydration.sodium-high}, measured osmolality "
                    "{dehydration.measured-osmolality}, or ESPEN calculated osmolarity "
                    "{dehydration.calculated-osmolarity} at age {dehydration.calculated-min-age}); critical at Na "
                    "{dehydration.sodium-critical}",
    possible_cause_when="never",
    references=("espen-2019", "ctcae-v5", "kdigo-ckd-2024", "ckd-epi-2021"),
)
