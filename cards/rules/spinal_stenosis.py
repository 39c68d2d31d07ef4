"""Lumbar spinal stenosis: an active diagnosis, with the neurogenic vs vascular claudication distinction.

Fires when: an active lumbar spinal stenosis diagnosis (SNOMED 18347007; ICD-10-CM M48.06, M48.061, M48.062 -
  with neurogenic claudication), by code or, as a last resort, by text. Info.
  A stenosis condition counts here only: the nerve-compression rule skips any condition that is a stenosis code,
  even when it also carries a radiculopathy code or text.
Quiet when: no active lumbar stenosis diagnosis (resolved, refuted or entered-in-error ones are ignored).
Also says: neurogenic claudication eases with sitting or bending forward, vascular claudication with standing still;
  with PAD on record, both may contribute (see the PAD card); without an ABI in 12 months, an ABI is suggested to
  exclude vascular claudication.
Needs: conditions, observations (ABI).
References: NASS degenerative lumbar spinal stenosis guideline 2011; 2016 AHA/ACC PAD guideline (ABI for suspected
  PAD); clinical-reference.md §5 (differentiating features) and §5.1 row K.
"""
from __future__ import annotations

from dataclasses import dataclass

from cards import card_text
from cards.condition_sets import STENOSIS_VALUESETS, stenosis_conditions
from cards.facts import ConditionMatch, PatientFacts
from cards.model import Card, Indicator
from cards.rule import PATIENT_VIEW, Rule
from cards.rules import peripheral_artery_disease as pad
from cards.topics import Topic

@dataclass(frozen=True)
class Finding:
    diagnoses: tuple[ConditionMatch, ...]
    claudication: bool
    pad_on_record: bool
    abi_on_file: bool


def _applies(facts: PatientFacts) -> Finding | None:
    diagnoses = stenosis_conditions(facts)
    if not diagnoses:
        return None
    return Finding(diagnoses, any(d.valueset == "cond-lumbar-stenosis-claudication" for d in diagnoses),
                   pad.RULE.applies(facts) is not None, bool(pad.abi_readings(facts)))


def _card(finding: Finding, facts: PatientFacts) -> Card:
    first = finding.diagnoses[0]
    code = f" ({first.code})" if first.code else ""
    what = "with neurogenic claudication" if finding.claudication else "on the problem list"
    summary = f"Lumbar spinal stenosis {what}{code}: leg pain that eases sitting or bending forward"
    parts = ["Lumbar spinal stenosis causes buttock and leg pain, numbness or heaviness on standing and walking "
             "(neurogenic claudication) and sometimes at night; it eases with sitting or bending forward.",
             card_text.bullets("Diagnosis", (card_text.condition_line(d, facts.now) for d in finding.diagnoses))]
    related = ["Vascular claudication (PAD) eases with standing still, not with sitting or flexion; ischaemic rest "
               "pain eases with the leg hanging down."]
    if finding.pad_on_record:
        related.append("PAD is also on record (see the *Peripheral artery disease* card): both may contribute.")
    parts.append(card_text.bullets("Related", related))
    steps = ["Clinical exam; red flags (saddle anaesthesia, new bladder or bowel dysfunction, progressive weakness, "
             "foot drop) need urgent MRI and specialist review.",
             "Physical therapy and activity advice; MRI when symptoms persist or surgery is considered (NASS 2011)."]
    suggestions = [card_text.order_suggestion("Refer to physical therapy", facts.patient_id,
                                              card_text.lab_orders("physical-therapy"),
                                              reason="Lumbar spinal stenosis")]
    if not finding.abi_on_file:
        steps.append("No ABI in 12 months: a resting ABI separates vascular from neurogenic claudication.")
        suggestions.append(card_text.order_suggestion("Order resting ankle-brachial index", facts.patient_id,
                                                      card_text.lab_orders("abi-uncoded"),
                                                      reason="Exclude vascular claudication"))
    parts.append(card_text.bullets("Next steps", steps))
    keys = ("nass-stenosis-2011",) + (("aha-acc-pad-2016",) if not finding.abi_on_file else ())
    return card_text.make_card(rule=RULE, indicator=Indicator.INFO, summary_text=summary,
                               detail="\n\n".join(parts), guideline_keys=keys, suggestions=suggestions, facts=facts)


RULE = Rule(
    id="spinal-stenosis", version="1.0.0", topic=Topic.SPINAL_STENOSIS, hooks=frozenset({PATIENT_VIEW}),
    needs=("patient", "observations", "conditions"), applies=_applies, card=_card, analytes=("abi",),
    valuesets=STENOSIS_VALUESETS,
    summary="Active lumbar spinal stenosis (incl. M48.062 with neurogenic claudication); info.",
    fires_when="active lumbar spinal stenosis diagnosis (code, or text as a last resort)",
    quiet_when="no active lumbar stenosis diagnosis",
    references=("nass-stenosis-2011", "aha-acc-pad-2016"),
)
