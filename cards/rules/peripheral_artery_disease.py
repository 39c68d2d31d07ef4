"""Peripheral artery disease: a low ankle-brachial index or an active PAD diagnosis.

Fires when: the latest ABI within 12 months is <= 0.90 on the worse leg (critical when <= 0.40: rest pain with an
  ABI this low suggests chronic limb-threatening ischaemia), or 0.91-0.99 (borderline, info), or > 1.40
  (noncompressible arteries, info: a toe-brachial index is needed); or an active PAD diagnosis (warning), or an
  ischaemic rest pain / gangrene diagnosis (critical).
Quiet when: ABI 1.00-1.40 on both legs and no PAD diagnosis; or no ABI within 12 months and no PAD diagnosis.
ABI may come as one Observation, one per leg, or left/right components: the worse (lower) leg decides; a leg
  > 1.40 is reported as noncompressible, never averaged.
Related: with lumbar spinal stenosis on the problem list, the card contrasts vascular and neurogenic claudication.
Needs: observations (ABI), conditions.
References: 2016 AHA/ACC PAD guideline §3.1 (ABI categories, TBI for ABI > 1.40); 2024 ACC/AHA multisociety PAD
  guideline; Global Vascular Guidelines on CLTI 2019 (rest pain, ABI <= 0.40).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from cards import card_text
from cards.condition_sets import STENOSIS_VALUESETS, stenosis_conditions
from cards.facts import ConditionMatch, LabResult, PatientFacts
from cards.model import Card, Indicator
from cards.rule import PATIENT_VIEW, Rule
from cards.topics import Topic

LOOKBACK = timedelta(days=365)  # source: clinical-reference.md §6.5 (ABI older than 12 months is stale)
ABI_ABNORMAL = 0.90  # source: 2016 AHA/ACC PAD §3.1 - ABI <= 0.90 is abnormal (PAD)
ABI_BORDERLINE = 1.00  # source: 2016 AHA/ACC PAD §3.1 - 0.91-0.99 borderline
ABI_NONCOMPRESSIBLE = 1.40  # source: 2016 AHA/ACC PAD §3.1 - ABI > 1.40 noncompressible
ABI_CLTI = 0.40  # source: GVG CLTI 2019 / issue 2 - ABI <= 0.40 with rest pain suggests CLTI

PAD_VALUESETS = ("cond-pad", "cond-diabetic-angiopathy")
CLTI_VALUESET = "cond-clti-rest-pain"


@dataclass(frozen=True)
class Finding:
    worst: LabResult | None
    readings: tuple[LabResult, ...]
    noncompressible: tuple[LabResult, ...]
    diagnoses: tuple[ConditionMatch, ...]
    clti: tuple[ConditionMatch, ...]


def abi_readings(facts: PatientFacts) -> list[LabResult]:
    """The ABI readings of the most recent measurement day within the window (one per side when given)."""
    results = facts.results("abi", LOOKBACK)
    if not results:
        return []
    day = results[0].day
    return [r for r in results if r.day == day]


def _applies(facts: PatientFacts) -> Finding | None:
    readings = abi_readings(facts)
    noncompressible = tuple(r for r in readings if r.value > ABI_NONCOMPRESSIBLE)
    compressible = [r for r in readings if r.value <= ABI_NONCOMPRESSIBLE]
    worst = min(compressible, key=lambda r: r.value) if compressible else None
    diagnoses = tuple(c for vs in PAD_VALUESETS for c in facts.conditions(vs))
    clti = tuple(facts.conditions(CLTI_VALUESET))
    abnormal = worst is not None and worst.value < ABI_BORDERLINE
    if not (abnormal or noncompressible or diagnoses or clti):
        return None
    return Finding(worst if abnormal else None, tuple(readings), noncompressible, diagnoses, clti)


def _grade(finding: Finding) -> Indicator:
    worst = finding.worst
    if finding.clti or (worst is not None and worst.value <= ABI_CLTI):
        return Indicator.CRITICAL
    if finding.diagnoses or (worst is not None and worst.value <= ABI_ABNORMAL):
        return Indicator.WARNING
    return Indicator.INFO


def _assessment(value: float) -> str:
    if value > ABI_NONCOMPRESSIBLE:
        return "noncompressible (> 1.40)"
    if value <= ABI_CLTI:
        return "severely reduced (<= 0.40)"
    if value <= ABI_ABNORMAL:
        return "abnormal (<= 0.90): PAD"
    if value < ABI_BORDERLINE:
        return "borderline (0.91-0.99)"
    return "normal (1.00-1.40)"


def _card(finding: Finding, facts: PatientFacts) -> Card:
    indicator = _grade(finding)
    worst = finding.worst
    side = f" {worst.side}" if worst is not None and worst.side else ""
    if indicator is Indicator.CRITICAL:
        what = (f"ABI{side} {card_text.fmt_value(worst.value)} ({worst.day.isoformat()})" if worst is not None
                and worst.value <= ABI_CLTI else "ischaemic rest pain on the problem list")
        summary = f"Possible limb-threatening ischaemia: {what} - urgent vascular referral"
    elif worst is not None and worst.value <= ABI_ABNORMAL:
        summary = f"ABI{side} {card_text.fmt_value(worst.value)} ({worst.day.isoformat()}): peripheral artery disease"
    elif finding.diagnoses:
        summary = f"Peripheral artery disease on the problem list: {finding.diagnoses[0].display}"
    elif worst is not None:
        summary = f"Borderline ABI{side} {card_text.fmt_value(worst.value)} ({worst.day.isoformat()}): consider " \
                  "exercise ABI"
    else:
        nc = finding.noncompressible[0]
        summary = f"ABI {card_text.fmt_value(nc.value)} ({nc.day.isoformat()}): noncompressible arteries - order a " \
                  "toe-brachial index"
    parts = ["Ischaemic rest pain is a burning forefoot pain that is worse at night or lying flat and eased by "
             "hanging the leg over the bed edge."]
    if finding.readings:
        parts.append(card_text.lab_table([(r, "1.00-1.40 (2016 AHA/ACC)", _assessment(r.value))
                                          for r in finding.readings], facts.now))
    if finding.diagnoses or finding.clti:
        parts.append("**Diagnoses:**\n" + "\n".join(
            f"- {c.display}" + (f" (code {c.code})" if c.code else " (matched by text)")
            for c in finding.clti + finding.diagnoses))
    stenosis = stenosis_conditions(facts)
    if stenosis:
        parts.append("**Related:** lumbar spinal stenosis is also on the problem list (see the *Lumbar spinal "
                     "stenosis* card). Vascular claudication eases with standing still and rest pain with the leg "
                     "hanging down; neurogenic claudication eases with sitting or bending forward.")
    steps = []
    suggestions = []
    if indicator is Indicator.CRITICAL:
        steps.append("Urgent vascular specialist referral: rest pain with ABI <= 0.40, ulcer or gangrene is "
                     "chronic limb-threatening ischaemia (GVG 2019).")
    if finding.noncompressible:
        steps.append("ABI > 1.40 cannot exclude PAD: order a toe-brachial index (TBI <= 0.70 is abnormal).")
        suggestions.append(card_text.order_suggestion("Order toe-brachial index", facts.patient_id,
                                                      card_text.lab_orders("tbi"),
                                                      reason="Noncompressible ABI > 1.40"))
    if worst is not None and ABI_ABNORMAL < worst.value < ABI_BORDERLINE:
        steps.append("Borderline ABI with symptoms: exercise treadmill ABI.")
    if not finding.readings:
        steps.append("No ABI in the last 12 months: measure a resting ABI (Class I for suspected PAD).")
        suggestions.append(card_text.order_suggestion("Order resting ankle-brachial index", facts.patient_id,
                                                      card_text.lab_orders("abi"),
                                                      reason="Suspected peripheral artery disease",
                                                      recommended=True))
    if indicator is not Indicator.INFO:
        steps.append("Guideline-directed therapy for PAD: high-intensity statin, antiplatelet, smoking cessation, "
                     "supervised exercise. Do not stop a statin in PAD without weighing its benefit.")
    parts.append("**Next steps:**\n" + "\n".join(f"- {s}" for s in steps))
    keys = ("aha-acc-pad-2016", "acc-aha-pad-2024") + (("gvg-clti-2019",) if indicator is Indicator.CRITICAL else ())
    return card_text.make_card(rule=RULE, indicator=indicator, summary_text=summary, detail="\n\n".join(parts),
                               guideline_keys=keys, suggestions=suggestions, facts=facts)


RULE = Rule(
    id="peripheral-artery-disease", version="1.1.0", topic=Topic.PERIPHERAL_ARTERY_DISEASE,
    hooks=frozenset({PATIENT_VIEW}), needs=("patient", "observations", "conditions"),
    applies=_applies, card=_card, analytes=("abi",),
    valuesets=PAD_VALUESETS + (CLTI_VALUESET,) + STENOSIS_VALUESETS,
    summary="ABI <= 0.90 (critical <= 0.40), borderline 0.91-0.99, noncompressible > 1.40, or a PAD diagnosis.",
    fires_when="worse-leg ABI within 12 months <= 0.99 or > 1.40; active PAD or rest-pain diagnosis",
    quiet_when="ABI 1.00-1.40 on both legs (or none) and no PAD diagnosis",
    references=("aha-acc-pad-2016", "acc-aha-pad-2024", "gvg-clti-2019"),
)
