"""Electrolyte imbalance: potassium, magnesium, calcium or sodium out of range.

Fires when: the most recent usable result within LOOKBACK of potassium, magnesium, calcium (albumin-corrected total
  calcium when an albumin from the same day exists, else ionized calcium when it is as recent, else total calcium)
  or sodium is outside the lab's reference range (else the lab's interpretation flag, else the default range).
Critical when: the lab flags LL/HH/AA, or K < 2.5 or > 6.5 mmol/L, Na < 120 or > 160 mmol/L, corrected Ca < 6.5 or
  > 13 mg/dL, Mg < 1.0 mg/dL, ionized Ca < 0.8 or > 1.8 mmol/L. Other out-of-range values: warning.
Quiet when: every latest result is in range, or there are no results within LOOKBACK.
Needs: observations (potassium, magnesium, calcium, albumin, sodium); medications (to relate a diuretic, or another
  drug that explains the abnormality: beta-2 agonist, SSRI, vincristine, PPI - see cards/drug_effects.py).
References: CTCAE v5.0 (2017); European hyponatraemia guideline 2014; UK Kidney Association hyperkalaemia 2020;
  Payne 1973 (corrected calcium).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from cards import card_text, drug_effects
from cards.facts import LabResult, PatientFacts
from cards.model import Card, Indicator
from cards.rule import PATIENT_VIEW, Rule
from cards.topics import Topic

# source: leg-pain issue 2 / clinical-reference.md §6.5 - electrolytes older than 90 days are stale.
LOOKBACK = timedelta(days=90)

# Default adult reference ranges when the lab sends none.
# source: clinical-reference.md §1.4 (NIH CC ranges [NLM]).
DEFAULT_RANGES: dict[str, tuple[float, float]] = {
    "potassium": (3.5, 5.0),          # mmol/L, NIH CC [NLM]
    "sodium": (135.0, 145.0),         # mmol/L, NIH CC [NLM]
    "magnesium": (1.7, 2.2),          # mg/dL, clinical-reference §1.4 usual adult range
    "calcium-corrected": (8.6, 10.2),  # mg/dL, NIH CC [NLM]
    "calcium-total": (8.6, 10.2),     # mg/dL, NIH CC [NLM]
    "calcium-ionized": (1.15, 1.33),  # mmol/L, typical (UNVERIFIED in clinical-reference §1.4)
}

# Critical (panic) thresholds: strictly below LOW or strictly above HIGH is critical.
# source: K, Na, corrected Ca, Mg from issue 2 (CTCAE v5.0 2017 grade 4 / NIH CC panic values, clinical-reference
# §1.4); ionized Ca: CTCAE v5.0 grade 4 (< 0.8 / > 1.8 mmol/L).
CRITICAL: dict[str, tuple[float | None, float | None]] = {
    "potassium": (2.5, 6.5),
    "sodium": (120.0, 160.0),
    "calcium-corrected": (6.5, 13.0),
    "calcium-total": (6.5, 13.0),
    "magnesium": (1.0, None),
    "calcium-ionized": (0.8, 1.8),
}

CRITICAL_FLAGS = frozenset({"LL", "HH", "AA"})
LOW_FLAGS = frozenset({"L", "LL", "LU"})
HIGH_FLAGS = frozenset({"H", "HH", "HU"})
ABNORMAL_FLAGS = LOW_FLAGS | HIGH_FLAGS | frozenset({"A", "AA"})

# source: Payne 1973 - Ca_corr (mg/dL) = Ca + 0.8 x (4.0 - albumin g/dL).
ALBUMIN_REFERENCE_G_DL = 4.0
CALCIUM_PER_ALBUMIN = 0.8

ANALYTES = ("potassium", "magnesium", "sodium", "calcium-total", "calcium-ionized", "calcium-corrected", "albumin")


@dataclass(frozen=True)
class Abnormal:
    result: LabResult
    direction: str  # "low" | "high" | "abnormal"
    critical: bool
    range_used: str
    note: str = ""


@dataclass(frozen=True)
class Finding:
    abnormal: tuple[Abnormal, ...]
    normal: tuple[LabResult, ...]


def assess(result: LabResult, key: str | None = None) -> Abnormal | None:
    """Grade one result: None when in range. Lab range first, then lab flag, then the default range."""
    key = key or result.analyte
    default = DEFAULT_RANGES.get(key)
    flags = result.interpretation
    direction: str | None = None
    if result.ref_low is not None or result.ref_high is not None:
        range_used = card_text.range_text(result)
        if result.ref_low is not None and result.value < result.ref_low:
            direction = "low"
        elif result.ref_high is not None and result.value > result.ref_high:
            direction = "high"
    elif flags & ABNORMAL_FLAGS or "N" in flags:
        range_used = "lab flag"
        if flags & LOW_FLAGS:
            direction = "low"
        elif flags & HIGH_FLAGS:
            direction = "high"
        elif flags & {"A", "AA"}:
            direction = "abnormal"
    else:
        range_used = card_text.range_text(result, default)
        if default and result.value < default[0]:
            direction = "low"
        elif default and result.value > default[1]:
            direction = "high"
    low_crit, high_crit = CRITICAL.get(key, (None, None))
    beyond_critical = (low_crit is not None and result.value < low_crit) or (
        high_crit is not None and result.value > high_crit)
    if beyond_critical and direction is None:
        direction = "low" if low_crit is not None and result.value < low_crit else "high"
    if direction is None:
        return None
    critical = bool(flags & CRITICAL_FLAGS) or beyond_critical
    return Abnormal(result, direction, critical, range_used)


def calcium(facts: PatientFacts) -> tuple[LabResult, str, str] | None:
    """The calcium to grade: (result, grading key, note). Corrected > ionized > total, newest first."""
    total = facts.latest("calcium-total", LOOKBACK)
    ionized = facts.latest("calcium-ionized", LOOKBACK)
    reported_corrected = facts.latest("calcium-corrected", LOOKBACK)
    if ionized is not None and (total is None or ionized.day >= total.day):
        return ionized, "calcium-ionized", ""
    if reported_corrected is not None and (total is None or reported_corrected.day >= total.day):
        return reported_corrected, "calcium-corrected", "corrected by the lab"
    if total is None:
        return None
    albumin = next((a for a in facts.results("albumin", LOOKBACK) if a.day == total.day), None)
    if albumin is None:
        return total, "calcium-total", "not corrected: no albumin from the same day"
    corrected_value = total.value + CALCIUM_PER_ALBUMIN * (ALBUMIN_REFERENCE_G_DL - albumin.value)
    corrected = replace(total, analyte="calcium-corrected", value=corrected_value,
                        original=f"total {card_text.fmt_value(total.value)} mg/dL, "
                                 f"albumin {card_text.fmt_value(albumin.value)} g/dL")
    return corrected, "calcium-corrected", "estimated (Payne 1973); unreliable in CKD and critical illness"


def latest_graded(facts: PatientFacts) -> list[tuple[LabResult, str, str]]:
    graded: list[tuple[LabResult, str, str]] = []
    for analyte in ("potassium", "magnesium", "sodium"):
        result = facts.latest(analyte, LOOKBACK)
        if result is not None:
            graded.append((result, analyte, ""))
    ca = calcium(facts)
    if ca is not None:
        graded.append(ca)
    return graded


def _applies(facts: PatientFacts) -> Finding | None:
    abnormal: list[Abnormal] = []
    normal: list[LabResult] = []
    for result, key, note in latest_graded(facts):
        graded = assess(result, key)
        if graded is None:
            normal.append(result)
        else:
            abnormal.append(replace(graded, note=note))
    if not abnormal:
        return None
    abnormal.sort(key=lambda a: (not a.critical, a.result.analyte))
    return Finding(tuple(abnormal), tuple(normal))


DIURETIC_LINKS = {  # clinical-reference.md §5.2 (standard pharmacology)
    ("potassium", "low"): ("loop-diuretic", "thiazide-diuretic"),
    ("magnesium", "low"): ("loop-diuretic", "thiazide-diuretic"),
    ("sodium", "low"): ("thiazide-diuretic", "loop-diuretic"),
    ("calcium-corrected", "high"): ("thiazide-diuretic",), ("calcium-total", "high"): ("thiazide-diuretic",),
    ("calcium-ionized", "high"): ("thiazide-diuretic",),
    ("calcium-corrected", "low"): ("loop-diuretic",), ("calcium-total", "low"): ("loop-diuretic",),
    ("calcium-ionized", "low"): ("loop-diuretic",),
}


def _card(finding: Finding, facts: PatientFacts) -> Card:
    first = finding.abnormal[0]
    critical = any(a.critical for a in finding.abnormal)
    indicator = Indicator.CRITICAL if critical else Indicator.WARNING
    parts = [f"{card_text.ANALYTE_NAMES[a.result.analyte]} {a.direction} {card_text.value_text(a.result)}"
             f" ({a.result.day.isoformat()})" for a in finding.abnormal]
    prefix = "Critical electrolyte value" if critical else "Electrolyte imbalance"
    summary = f"{prefix}: " + "; ".join(parts) + " - can cause night leg cramps"
    rows = [(a.result, a.range_used, ("**critical** " if a.critical else "") + a.direction
             + (f"; {a.note}" if a.note else "")) for a in finding.abnormal]
    rows += [(r, card_text.range_text(r, DEFAULT_RANGES.get(r.analyte)), "in range") for r in finding.normal]
    related = []
    for a in finding.abnormal:
        classes = DIURETIC_LINKS.get((a.result.analyte, a.direction), ())
        meds = [m for c in classes for m in facts.medications(c)]
        if meds:
            names = ", ".join(sorted({m.ingredient for m in meds}))
            related.append(f"{card_text.ANALYTE_NAMES[a.result.analyte]} {a.direction} may be explained by "
                           f"{names} (see the *Diuretic effect* card).")
        family = "calcium" if a.result.analyte.startswith("calcium") else a.result.analyte
        others = sorted({m.ingredient for e in drug_effects.EFFECTS if (family, a.direction) in e.labs
                         for m in facts.medications(e.drug_class)})
        if others:
            related.append(f"{card_text.ANALYTE_NAMES[a.result.analyte]} {a.direction} may also be explained by "
                           f"{', '.join(others)} (see the *Medication side effect* card).")
    steps = ["Repeat a basic metabolic panel with magnesium (and albumin or ionized calcium) to confirm."]
    analytes = {a.result.analyte for a in finding.abnormal}
    if "potassium" in analytes and "magnesium" not in analytes:
        steps.append("Check magnesium: hypokalaemia is refractory while magnesium is low.")
    if any(a.critical for a in finding.abnormal) or any(
            a.result.analyte == "potassium" and (a.result.value < 3.0 or a.result.value >= 6.0)
            for a in finding.abnormal):
        steps.append("Consider an ECG (K < 3.0 or >= 6.0 mmol/L, or a critical value) and same-day review.")
    steps.append("Look for culprit drugs and GI or renal losses; replete magnesium before or with potassium.")
    detail = (
        "Low or high potassium, magnesium, calcium or sodium can cause muscle cramps and leg pain at night.\n\n"
        + card_text.lab_table(rows, facts.now)
        + ("\n\n**Related:** " + " ".join(related) if related else "")
        + "\n\n**Next steps:**\n" + "\n".join(f"- {s}" for s in steps)
    )
    orders = card_text.lab_orders("bmp", "magnesium")
    if any(a.result.analyte.startswith("calcium") for a in finding.abnormal):
        orders += card_text.lab_orders("albumin", "calcium-ionized")
    suggestion = card_text.order_suggestion("Repeat basic metabolic panel and magnesium", facts.patient_id, orders,
                                            reason=f"Confirm {first.result.analyte} {first.direction}",
                                            recommended=True)
    return card_text.make_card(rule=RULE, indicator=indicator, summary_text=summary, detail=detail,
                               guideline_keys=("ctcae-v5", "hyponatraemia-2014", "hyperkalaemia-2020"),
                               suggestions=[suggestion], facts=facts)


RULE = Rule(
    id="electrolyte-imbalance", version="1.1.0", topic=Topic.ELECTROLYTE_IMBALANCE, hooks=frozenset({PATIENT_VIEW}),
    needs=("patient", "observations", "medications", "medicationRequests"), applies=_applies, card=_card,
    analytes=ANALYTES,
    summary="Latest potassium, magnesium, calcium or sodium out of range (lab range first).",
    fires_when="latest K, Mg, Ca (corrected/ionized) or Na within 90 days is outside the lab's range, lab flag or "
               "default range",
    quiet_when="all latest values in range, or no results within 90 days",
    references=("ctcae-v5", "hyponatraemia-2014", "hyperkalaemia-2020", "payne-1973"),
)
