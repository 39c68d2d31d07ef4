"""Dehydration: a raised BUN/creatinine ratio with high sodium or osmolality, from the same draw.

Fires when: within LOOKBACK, on the most recent day that has a BUN, a creatinine and a sodium or serum osmolality
  (the same draw: results of one calendar day, never combined across days), the BUN/creatinine ratio is > 20 AND
  (sodium > 145 mmol/L OR measured serum osmolality > 295 mOsm/kg).
Critical: sodium > 160 mmol/L. Warning otherwise.
Window: LOOKBACK is 90 days, the electrolyte window of issue 2 (clinical-reference.md §6.5). Volume depletion is
  an acute state, so the card shows the draw's date and age and asks to reassess before acting; older draws are
  ignored. The newest complete draw decides: a newer draw without the ratio or without high sodium/osmolality
  silences an older one.
Quiet when: no complete draw within 90 days, ratio <= 20, or sodium <= 145 and osmolality <= 295.
Also named: an active loop or thiazide diuretic as a contributor (see the Diuretic effect card).
Needs: observations (BUN, creatinine, sodium, osmolality), medications.
References: ESPEN geriatric hydration guideline 2019 (osmolality > 295/300 mOsm/kg); clinical-reference.md §1.4
  (BUN/creatinine > 20 suggests pre-renal volume depletion - convention, UNVERIFIED guideline); CTCAE v5.0
  (hypernatraemia > 160 mmol/L grade 4).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from cards import card_text
from cards.facts import LabResult, MedicationUse, PatientFacts
from cards.model import Card, Indicator
from cards.rule import PATIENT_VIEW, Rule
from cards.rules import diuretic_effect
from cards.topics import Topic

LOOKBACK = timedelta(days=90)  # source: issue 2 / clinical-reference.md §6.5 - electrolyte window (see docstring)
BUN_CREATININE_RATIO_MIN = 20.0  # source: clinical-reference.md §1.4 - BUN:Cr > 20 suggests volume depletion
SODIUM_HIGH = 145.0  # source: clinical-reference.md §1.4 - Na > 145 mmol/L above the NIH CC range (hypernatraemia)
OSMOLALITY_HIGH = 295.0  # source: ESPEN 2019 - serum osmolality > 295 mOsm/kg: impending/low-intake dehydration
SODIUM_CRITICAL = 160.0  # source: CTCAE v5.0 hypernatraemia grade 4 / NIH CC danger value (> 160 mmol/L)
BUN_DEFAULT_RANGE = (7.0, 20.0)  # source: clinical-reference.md §1.4 - NIH CC BUN range [NLM], mg/dL
OSMOLALITY_DEFAULT_RANGE = (275.0, OSMOLALITY_HIGH)  # source: clinical-reference.md §1.4 / ESPEN 2019, mOsm/kg
SODIUM_DEFAULT_RANGE = (135.0, SODIUM_HIGH)  # source: clinical-reference.md §1.4 - NIH CC sodium range [NLM]


@dataclass(frozen=True)
class Draw:
    day: date
    bun: LabResult
    creatinine: LabResult
    sodium: LabResult | None
    osmolality: LabResult | None

    @property
    def ratio(self) -> float:
        return self.bun.value_in("mg/dL") / self.creatinine.value_in("mg/dL")


@dataclass(frozen=True)
class Finding:
    draw: Draw
    diuretics: tuple[MedicationUse, ...]

    @property
    def critical(self) -> bool:
        return self.draw.sodium is not None and self.draw.sodium.value_in("mmol/L") > SODIUM_CRITICAL


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
            return Draw(day, bun, creatinine, sodium, osmolality)
    return None


def _sodium_high(draw: Draw) -> bool:
    return draw.sodium is not None and draw.sodium.value_in("mmol/L") > SODIUM_HIGH


def _osmolality_high(draw: Draw) -> bool:
    return draw.osmolality is not None and draw.osmolality.value_in("mosm/kg") > OSMOLALITY_HIGH


def _applies(facts: PatientFacts) -> Finding | None:
    draw = latest_draw(facts)
    if draw is None or draw.ratio <= BUN_CREATININE_RATIO_MIN:
        return None
    high_na = _sodium_high(draw)
    high_osm = _osmolality_high(draw)
    if not (high_na or high_osm):
        return None
    diuretics = tuple(m for c in diuretic_effect.DIURETIC_CLASSES for m in facts.medications(c))
    return Finding(draw, diuretics)


def _card(finding: Finding, facts: PatientFacts) -> Card:
    draw = finding.draw
    ratio = card_text.fmt_value(draw.ratio)
    marker = (f"sodium {card_text.value_text(draw.sodium)}" if draw.sodium is not None and _sodium_high(draw) else
              f"osmolality {card_text.value_text(draw.osmolality)}" if draw.osmolality is not None else "")
    if finding.critical:
        indicator = Indicator.CRITICAL
        summary = f"Severe hypernatraemia: {marker}, BUN/creatinine {ratio} ({draw.day.isoformat()}) - assess today"
    else:
        indicator = Indicator.WARNING
        summary = f"Dehydration likely: BUN/creatinine {ratio} with {marker} ({draw.day.isoformat()}) - night cramps"
    rows = [(draw.bun, card_text.range_text(draw.bun, BUN_DEFAULT_RANGE), f"BUN/creatinine ratio {ratio} (> 20)"),
            (draw.creatinine, card_text.range_text(draw.creatinine), "-")]
    if draw.sodium is not None:
        high = _sodium_high(draw)
        rows.append((draw.sodium, card_text.range_text(draw.sodium, SODIUM_DEFAULT_RANGE),
                     ("**critical** " if finding.critical else "") + ("high" if high else "not high")))
    if draw.osmolality is not None:
        rows.append((draw.osmolality, card_text.range_text(draw.osmolality, OSMOLALITY_DEFAULT_RANGE),
                     "high (> 295)" if _osmolality_high(draw) else "not high"))
    parts = ["Water and volume depletion cause muscle cramps, often at night. All values below are from the same "
             "draw.", card_text.lab_table(rows, facts.now)]
    related = []
    if finding.diuretics:
        names = ", ".join(sorted({m.ingredient for m in finding.diuretics}))
        see = " (see the *Diuretic effect* card)" if diuretic_effect.RULE.applies(facts) is not None else ""
        related.append(f"Active {names} may be contributing to volume depletion{see}.")
    if _sodium_high(draw):
        related.append("The high sodium also appears on the *Electrolyte imbalance* card.")
    if related:
        parts.append(card_text.bullets("Related", related))
    steps = ["Assess volume status (orthostatic blood pressure, mucous membranes, weight, intake).",
             "Oral or IV fluids as appropriate; review diuretic dose and fluid intake (ESPEN 2019).",
             "Repeat sodium, BUN, creatinine and serum osmolality to confirm."]
    if finding.critical:
        steps.insert(0, "Sodium > 160 mmol/L: same-day assessment; correct slowly.")
    parts.append(card_text.bullets("Next steps", steps))
    suggestion = card_text.order_suggestion("Repeat basic metabolic panel and serum osmolality", facts.patient_id,
                                            card_text.lab_orders("bmp", "osmolality"),
                                            reason=f"Suspected dehydration (BUN/creatinine {ratio})",
                                            recommended=True)
    return card_text.make_card(rule=RULE, indicator=indicator, summary_text=summary, detail="\n\n".join(parts),
                               guideline_keys=("espen-2019", "ctcae-v5"), suggestions=[suggestion], facts=facts)


RULE = Rule(
    id="dehydration", version="1.0.0", topic=Topic.DEHYDRATION, hooks=frozenset({PATIENT_VIEW}),
    needs=("patient", "observations", "medications", "medicationRequests"), applies=_applies, card=_card,
    analytes=("bun", "creatinine", "sodium", "osmolality"), drug_classes=diuretic_effect.DIURETIC_CLASSES,
    summary="BUN/creatinine > 20 with sodium > 145 mmol/L or osmolality > 295 mOsm/kg, same draw; critical if "
            "Na > 160.",
    fires_when="newest same-day draw within 90 days: BUN/creatinine > 20 AND (Na > 145 mmol/L OR serum osmolality "
               "> 295 mOsm/kg)",
    quiet_when="no same-day BUN + creatinine + sodium/osmolality within 90 days, or ratio <= 20, or Na <= 145 and "
               "osmolality <= 295",
    references=("espen-2019", "ctcae-v5"),
)
