"""Diuretic effect: an active loop or thiazide diuretic with a typical electrolyte effect, or unmonitored.

Fires when: an active loop or thiazide(-like) diuretic AND either a diuretic-typical abnormality in the latest
  result within 90 days - low K, low Mg (both classes); low Na (thiazides; loops less so); high Ca (thiazides);
  low Ca (loops) - or no potassium result in the last 90 days (a monitoring gap).
Warning: a typical abnormality. Info: a monitoring gap only.
Quiet when: no active loop/thiazide diuretic, or its typical electrolytes are in range and potassium was measured.
Needs: medications (+ medicationRequests), observations (potassium, magnesium, sodium, calcium, albumin).
References: clinical-reference.md §5.2 drug -> lab correlations (standard pharmacology); CTCAE v5.0 (2017) for the
  ranges; European hyponatraemia guideline 2014 (thiazide-induced hyponatraemia).
"""
from __future__ import annotations

from dataclasses import dataclass

from cards import card_text
from cards.facts import MedicationUse, PatientFacts
from cards.model import Card, Indicator
from cards.rule import PATIENT_VIEW, Rule
from cards.rules import electrolyte_imbalance as electrolytes
from cards.topics import Topic

LOOKBACK = electrolytes.LOOKBACK  # source: issue 2 - a potassium within 90 days counts as monitored

DIURETIC_CLASSES = ("loop-diuretic", "thiazide-diuretic")
CLASS_NAMES = {"loop-diuretic": "loop diuretic", "thiazide-diuretic": "thiazide"}

# Which (analyte, direction) each class typically causes (clinical-reference.md §5.2).
TYPICAL: dict[str, frozenset[tuple[str, str]]] = {
    "loop-diuretic": frozenset({("potassium", "low"), ("magnesium", "low"), ("calcium", "low")}),
    "thiazide-diuretic": frozenset({("potassium", "low"), ("magnesium", "low"), ("sodium", "low"),
                                    ("calcium", "high")}),
}


@dataclass(frozen=True)
class Finding:
    diuretics: tuple[MedicationUse, ...]
    abnormal: tuple[tuple[electrolytes.Abnormal, tuple[str, ...]], ...]  # (abnormality, implicated classes)
    monitoring_gap: bool
    last_potassium: str | None


def _family(analyte: str) -> str:
    return "calcium" if analyte.startswith("calcium") else analyte


def _applies(facts: PatientFacts) -> Finding | None:
    diuretics = tuple(m for c in DIURETIC_CLASSES for m in facts.medications(c))
    if not diuretics:
        return None
    classes = {c for m in diuretics for c in m.classes if c in DIURETIC_CLASSES}
    abnormal = []
    for result, key, note in electrolytes.latest_graded(facts):
        graded = electrolytes.assess(result, key)
        if graded is None:
            continue
        implicated = tuple(sorted(c for c in classes if (_family(result.analyte), graded.direction) in TYPICAL[c]))
        if implicated:
            abnormal.append((graded, implicated))
    gap = facts.latest("potassium", LOOKBACK) is None
    if not abnormal and not gap:
        return None
    older = facts.older_than("potassium", LOOKBACK)
    return Finding(diuretics, tuple(abnormal), gap, older.date().isoformat() if older else None)


def _card(finding: Finding, facts: PatientFacts) -> Card:
    names = sorted({m.ingredient for m in finding.diuretics})
    drug_text = ", ".join(names)
    lines = [card_text.medication_line(m, facts.now) for m in finding.diuretics]
    if finding.abnormal:
        indicator = Indicator.WARNING
        effects = "; ".join(f"{card_text.ANALYTE_NAMES[a.result.analyte].lower()} {a.direction} "
                            f"{card_text.value_text(a.result)}" for a, _ in finding.abnormal)
        summary = f"{drug_text.capitalize()} may explain {effects} - a cause of night leg cramps"
        rows = [(a.result, a.range_used, f"{a.direction}; typical of "
                 + " and ".join(CLASS_NAMES[c] for c in classes)) for a, classes in finding.abnormal]
        evidence = card_text.lab_table(rows, facts.now)
    else:
        indicator = Indicator.INFO
        summary = f"On {drug_text} with no potassium result in 90 days - check electrolytes"
        last = f"last potassium on file: {finding.last_potassium}" if finding.last_potassium else \
            "no potassium result on file"
        evidence = f"No potassium result in the last 90 days ({last})."
    if finding.abnormal and finding.monitoring_gap:
        evidence += "\n\nNo potassium result in the last 90 days."
    thiazide_high_ca = any(a.direction == "high" and a.result.analyte.startswith("calcium")
                           for a, _ in finding.abnormal)
    steps = ["Review the diuretic's dose and indication.",
             "Check a basic metabolic panel and magnesium.",
             "Consider a potassium-sparing add-on or potassium/magnesium supplement (clinician decision)."]
    if thiazide_high_ca:
        steps.append("Thiazide with high calcium: if it persists, check PTH (thiazides can unmask "
                     "hyperparathyroidism).")
    detail = (
        "Loop and thiazide diuretics waste potassium and magnesium; thiazides also lower sodium and raise calcium, "
        "loops lower calcium. These disturbances cause muscle cramps, often at night.\n\n**Diuretics:**\n"
        + "\n".join(lines) + "\n\n" + evidence
        + "\n\n**Next steps:**\n" + "\n".join(f"- {s}" for s in steps)
    )
    suggestion = card_text.order_suggestion("Order basic metabolic panel and magnesium", facts.patient_id,
                                            card_text.lab_orders("bmp", "magnesium"),
                                            reason=f"Electrolyte monitoring on {drug_text}", recommended=True)
    return card_text.make_card(rule=RULE, indicator=indicator, summary_text=summary, detail=detail,
                               guideline_keys=("ctcae-v5", "hyponatraemia-2014"), suggestions=[suggestion],
                               facts=facts)


RULE = Rule(
    id="diuretic-effect", version="1.0.1", topic=Topic.DIURETIC_EFFECT, hooks=frozenset({PATIENT_VIEW}),
    needs=("patient", "observations", "medications", "medicationRequests"), applies=_applies, card=_card,
    analytes=electrolytes.ANALYTES, drug_classes=DIURETIC_CLASSES,
    summary="Active loop/thiazide diuretic with a typical electrolyte effect, or no potassium in 90 days.",
    fires_when="active loop or thiazide diuretic AND (low K, low Mg, low Na with thiazide, high Ca with thiazide, "
               "low Ca with loop) or no potassium result within 90 days",
    quiet_when="no active loop/thiazide diuretic; or potassium measured within 90 days and no typical abnormality",
    references=("ctcae-v5", "hyponatraemia-2014"),
)
