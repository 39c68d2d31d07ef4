"""Peripheral artery disease: a low ankle-brachial index or an active PAD diagnosis.

Fires when: the latest ABI within the ABI window is abnormal on the worse leg (warning; critical when severely
  reduced: rest pain with an ABI this low suggests chronic limb-threatening ischaemia), or borderline (info), or
  noncompressible (info: a toe-brachial index is needed); or an active PAD diagnosis (warning), or an ischaemic
  rest pain / gangrene diagnosis (critical).
Quiet when: a normal ABI on both legs and no PAD diagnosis; or no ABI within the window and no PAD diagnosis.
ABI may come as one Observation, one per leg, or left/right components: the worse (lower) compressible leg decides;
  a noncompressible leg is reported as such, never averaged.
Related: with lumbar spinal stenosis on the problem list, the card contrasts vascular and neurogenic claudication.
Thresholds and windows: cards/knowledge/data/pad.json (2016 AHA/ACC PAD guideline sections 3.1-3.2; WIfI ischaemia
  grade 3 as endorsed by the Global Vascular Guidelines 2019). ABI values are shown with two decimals, as the 2016
  guideline asks them to be recorded.
Needs: observations (ABI), conditions.
References: 2016 AHA/ACC PAD guideline, sections 3.1 (resting ABI categories) and 3.2 (TBI, exercise ABI); 2024
  ACC/AHA multisociety PAD guideline; Global Vascular Guidelines on CLTI 2019 (urgent referral, WIfI staging).
"""
from __future__ import annotations

from dataclasses import dataclass

from cards import card_text
from cards.condition_sets import STENOSIS_VALUESETS, stenosis_conditions
from cards.facts import ConditionMatch, LabResult, PatientFacts
from cards.knowledge import Threshold, threshold
from cards.model import Card, Indicator
from cards.rule import PATIENT_VIEW, Rule
from cards.topics import Topic

ABI_WINDOW = threshold("pad.abi-lookback")
LOOKBACK = ABI_WINDOW.days
WINDOW_TEXT = f"{ABI_WINDOW.value * 12 / 365:g} months"
ABNORMAL = threshold("pad.abi-abnormal")
BELOW_NORMAL = threshold("pad.abi-normal-low")
NONCOMPRESSIBLE = threshold("pad.abi-noncompressible")
SEVERE = threshold("pad.abi-severe")
TBI_ABNORMAL = threshold("pad.tbi-abnormal")

PAD_VALUESETS = ("cond-pad", "cond-diabetic-angiopathy")
CLTI_VALUESET = "cond-clti-rest-pain"


def abi_text(value: float) -> str:
    """An ABI as the 2016 AHA/ACC guideline records it: two decimals ("0.90")."""
    return f"{value:.2f}"


def _cut(item: Threshold) -> str:
    """A threshold as the card prints it ("<= 0.90")."""
    return f"{item.compare} {abi_text(item.value)}"


NORMAL_RANGE = f"{abi_text(BELOW_NORMAL.value)}-{abi_text(NONCOMPRESSIBLE.value)}"
BORDERLINE_RANGE = f"{abi_text(ABNORMAL.value + 0.01)}-{abi_text(BELOW_NORMAL.value - 0.01)}"


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
    noncompressible = tuple(r for r in readings if NONCOMPRESSIBLE.met(r.value))
    compressible = [r for r in readings if not NONCOMPRESSIBLE.met(r.value)]
    worst = min(compressible, key=lambda r: r.value) if compressible else None
    diagnoses = tuple(c for vs in PAD_VALUESETS for c in facts.conditions(vs))
    clti = tuple(facts.conditions(CLTI_VALUESET))
    abnormal = worst is not None and BELOW_NORMAL.met(worst.value)
    if not (abnormal or noncompressible or diagnoses or clti):
        return None
    return Finding(worst if abnormal else None, tuple(readings), noncompressible, diagnoses, clti)


def _grade(finding: Finding) -> Indicator:
    worst = finding.worst
    if finding.clti or (worst is not None and SEVERE.met(worst.value)):
        return Indicator.CRITICAL
    if finding.diagnoses or (worst is not None and ABNORMAL.met(worst.value)):
        return Indicator.WARNING
    return Indicator.INFO


def _assessment(value: float) -> str:
    if NONCOMPRESSIBLE.met(value):
        return f"noncompressible ({_cut(NONCOMPRESSIBLE)})"
    if SEVERE.met(value):
        return f"severely reduced ({_cut(SEVERE)})"
    if ABNORMAL.met(value):
        return f"abnormal ({_cut(ABNORMAL)}): PAD"
    if BELOW_NORMAL.met(value):
        return f"borderline ({BORDERLINE_RANGE})"
    return f"normal ({NORMAL_RANGE})"


def _card(finding: Finding, facts: PatientFacts) -> Card:
    indicator = _grade(finding)
    worst = finding.worst
    side = f" {worst.side}" if worst is not None and worst.side else ""
    if indicator is Indicator.CRITICAL:
        what = (f"ABI{side} {abi_text(worst.value)} ({worst.day.isoformat()})" if worst is not None
                and SEVERE.met(worst.value) else "ischaemic rest pain on the problem list")
        summary = f"Possible limb-threatening ischaemia: {what} - urgent vascular referral"
    elif worst is not None and ABNORMAL.met(worst.value):
        summary = f"ABI{side} {abi_text(worst.value)} ({worst.day.isoformat()}): peripheral artery disease"
    elif finding.diagnoses:
        summary = f"Peripheral artery disease on the problem list: {finding.diagnoses[0].display}"
    elif worst is not None:
        summary = f"Borderline ABI{side} {abi_text(worst.value)} ({worst.day.isoformat()}): consider exercise ABI"
    else:
        nc = finding.noncompressible[0]
        summary = f"ABI {abi_text(nc.value)} ({nc.day.isoformat()}): noncompressible arteries - order a " \
                  "toe-brachial index"
    parts = ["Ischaemic rest pain is a burning forefoot pain that is worse at night or lying flat and eased by "
             "hanging the leg over the bed edge."]
    if finding.readings:
        parts.append(card_text.lab_table([(r, f"{NORMAL_RANGE} (2016 AHA/ACC)", _assessment(r.value))
                                          for r in finding.readings], facts.now))
    if finding.diagnoses or finding.clti:
        parts.append(card_text.bullets("Diagnoses", (card_text.condition_line(c, facts.now)
                                                     for c in finding.clti + finding.diagnoses)))
    stenosis = stenosis_conditions(facts)
    if stenosis:
        parts.append("**Related:** lumbar spinal stenosis is also on the problem list (see the *Lumbar spinal "
                     "stenosis* card). Vascular claudication eases with standing still and rest pain with the leg "
                     "hanging down; neurogenic claudication eases with sitting or bending forward.")
    steps = []
    suggestions = []
    if indicator is Indicator.CRITICAL:
        steps.append(f"Urgent vascular specialist referral: rest pain, an ulcer or gangrene with PAD is chronic "
                     f"limb-threatening ischaemia, and an ABI {_cut(SEVERE)} is the most severe ischaemia grade "
                     "(GVG 2019).")
    if finding.noncompressible:
        steps.append(f"ABI {_cut(NONCOMPRESSIBLE)} cannot exclude PAD: order a toe-brachial index (TBI "
                     f"{_cut(TBI_ABNORMAL)} is abnormal, 2016 AHA/ACC 3.2).")
        suggestions.append(card_text.order_suggestion("Order toe-brachial index", facts.patient_id,
                                                      card_text.lab_orders("tbi"),
                                                      reason=f"Noncompressible ABI {_cut(NONCOMPRESSIBLE)}"))
    if worst is not None and not ABNORMAL.met(worst.value) and BELOW_NORMAL.met(worst.value):
        steps.append("Borderline ABI with exertional leg symptoms: exercise treadmill ABI (2016 AHA/ACC 3.2).")
    if not finding.readings:
        steps.append(f"No ABI in the last {WINDOW_TEXT}: measure a resting ABI (Class I for suspected PAD).")
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
    id="peripheral-artery-disease", version="1.2.0", topic=Topic.PERIPHERAL_ARTERY_DISEASE,
    hooks=frozenset({PATIENT_VIEW}), needs=("patient", "observations", "conditions"),
    applies=_applies, card=_card, analytes=("abi",),
    valuesets=PAD_VALUESETS + (CLTI_VALUESET,) + STENOSIS_VALUESETS,
    summary=f"ABI {_cut(ABNORMAL)} (critical {_cut(SEVERE)}), borderline {BORDERLINE_RANGE}, noncompressible "
            f"{_cut(NONCOMPRESSIBLE)}, or a PAD diagnosis.",
    fires_when=f"worse-leg ABI within {WINDOW_TEXT} {_cut(BELOW_NORMAL)} or {_cut(NONCOMPRESSIBLE)}; active PAD "
               "or rest-pain diagnosis",
    quiet_when=f"ABI {NORMAL_RANGE} on both legs (or none) and no PAD diagnosis",
    advice=f"Urgent vascular referral for rest pain, gangrene or an ABI {_cut(SEVERE)}; for PAD, guideline-directed "
           "therapy (high-intensity statin, antiplatelet, smoking cessation, supervised exercise). A toe-brachial "
           f"index for an ABI {_cut(NONCOMPRESSIBLE)}, an exercise ABI for a borderline one, a resting ABI when none "
           f"exists within {WINDOW_TEXT}.",
    references=("aha-acc-pad-2016", "acc-aha-pad-2024", "gvg-clti-2019"),
)
