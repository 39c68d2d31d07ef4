"""Lumbar spinal stenosis: an active diagnosis, with the neurogenic vs vascular claudication distinction.

Fires when: an active lumbar spinal stenosis diagnosis (SNOMED 18347007; ICD-10-CM M48.06, M48.061, M48.062 -
  with neurogenic claudication), by code or, as a last resort, by text. Info.
  A stenosis condition counts here only: the nerve-compression rule skips any condition that is a stenosis code,
  even when it also carries a radiculopathy code or text.
Quiet when: no active lumbar stenosis diagnosis (resolved, refuted or entered-in-error ones are ignored).
Matching: a Condition coded in ICD-10-CM or SNOMED CT outside the value sets (e.g. M48.02, cervical stenosis) does
  not match by its text (cards.facts); text matching is the last resort for Conditions without such a coding.
Also says: neurogenic claudication eases with sitting or bending forward, vascular claudication with standing still;
  with PAD on record, both may contribute (see the PAD card); without an ABI within the PAD rule's ABI window
  (cards/knowledge/data/pad.json), an ABI is suggested to exclude vascular claudication.
Red flags (decision in the nerve-compression rule's docstring: one emergency card): the cauda equina emergency and
  the cancer and infection red flags belong to the nerve-compression card. When that card fires (sciatica, disc
  herniation, peroneal or tarsal tunnel, or a coded cauda equina syndrome), this card only refers to it; when it does
  not (stenosis alone), this card carries the same red-flag text (nerve_compression.red_flag_parts) and is a warning
  when a cancer history or spinal infection is on record (NICE NG59 1.1.1; ACR 2021 variant 7).
Needs: conditions, observations (ABI).
References: NASS degenerative lumbar spinal stenosis guideline 2011 (diagnosis, imaging, physical therapy); 2016
  AHA/ACC PAD guideline, section 3.1 (resting ABI for suspected PAD); with the red flags: GIRFT national suspected
  cauda equina syndrome pathway 2023, NICE NG59 2016/2020 1.1.1, NICE CKS sciatica red flags, ACR low back pain 2021.
"""
from __future__ import annotations

from dataclasses import dataclass

from cards import card_text
from cards.condition_sets import STENOSIS_VALUESETS, stenosis_conditions
from cards.facts import ConditionMatch, PatientFacts
from cards.knowledge import threshold
from cards.model import Card, Indicator
from cards.rule import PATIENT_VIEW, Rule
from cards.rules import nerve_compression, peripheral_artery_disease as pad
from cards.topics import Topic

ABI_WINDOW = threshold("pad.abi-lookback")  # the PAD rule's window: pad.abi_readings reads it
WINDOW_TEXT = f"{ABI_WINDOW.value * 12 / 365:g} months"


@dataclass(frozen=True)
class Finding:
    diagnoses: tuple[ConditionMatch, ...]
    claudication: bool
    pad_on_record: bool
    abi_on_file: bool
    nerve_card: bool = False  # the nerve-compression card fires: it carries the red flags, this card refers to it
    cauda_equina: bool = False
    flags: nerve_compression.RedFlags = nerve_compression.RedFlags((), ())


def _applies(facts: PatientFacts) -> Finding | None:
    diagnoses = stenosis_conditions(facts)
    if not diagnoses:
        return None
    nerve = nerve_compression.RULE.applies(facts)
    return Finding(diagnoses, any(d.valueset == "cond-lumbar-stenosis-claudication" for d in diagnoses),
                   pad.RULE.applies(facts) is not None, bool(pad.abi_readings(facts)), nerve_card=nerve is not None,
                   cauda_equina=bool(facts.conditions(nerve_compression.CAUDA_EQUINA)),
                   flags=nerve_compression.red_flags(facts))


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
    if finding.cauda_equina:
        related.append("Cauda equina syndrome is on record: see the *Nerve compression* card (an emergency if new or "
                       "worsening).")
    elif finding.nerve_card:
        related.append("The cauda equina emergency and the cancer and infection red flags are on the *Nerve "
                       "compression* card: ask about them for this patient too.")
    parts.append(card_text.bullets("Related", related))
    if not finding.nerve_card:
        parts += nerve_compression.red_flag_parts(finding.flags, facts.now)
    steps = ["Clinical exam, with the red flags " + ("on the *Nerve compression* card." if finding.nerve_card
                                                  else "above.")]
    if not finding.nerve_card:
        steps += nerve_compression.red_flag_steps(finding.flags)
    steps.append("Physical therapy and activity advice; MRI when symptoms persist or surgery is considered "
                 "(NASS 2011).")
    suggestions = [card_text.order_suggestion("Refer to physical therapy", facts.patient_id,
                                              card_text.lab_orders("physical-therapy"),
                                              reason="Lumbar spinal stenosis")]
    if not finding.abi_on_file:
        steps.append(f"No ABI in {WINDOW_TEXT}: a resting ABI separates vascular from neurogenic claudication "
                     "(2016 AHA/ACC 3.1).")
        suggestions.append(card_text.order_suggestion("Order resting ankle-brachial index", facts.patient_id,
                                                      card_text.lab_orders("abi-uncoded"),
                                                      reason="Exclude vascular claudication"))
    parts.append(card_text.bullets("Next steps", steps))
    keys = ("nass-stenosis-2011",) + (("aha-acc-pad-2016",) if not finding.abi_on_file else ())
    indicator = Indicator.INFO
    if not finding.nerve_card:
        keys += ("girft-ces-2023", "nice-ng59-2016", "nice-cks-sciatica")
        if finding.flags:
            indicator = Indicator.WARNING
            keys += ("acr-lbp-2021",)
            what = "cancer history" if finding.flags.cancer else "spinal infection"
            summary = (f"Lumbar spinal stenosis{code} with a {what} on record: red flag - ask about night pain, "
                       "consider MRI")
    return card_text.make_card(rule=RULE, indicator=indicator, summary_text=summary,
                               detail="\n\n".join(parts), guideline_keys=keys, suggestions=suggestions, facts=facts)


RULE = Rule(
    id="spinal-stenosis", version="1.2.0", topic=Topic.SPINAL_STENOSIS, hooks=frozenset({PATIENT_VIEW}),
    needs=("patient", "observations", "conditions"), applies=_applies, card=_card, analytes=("abi",),
    valuesets=STENOSIS_VALUESETS,
    summary="Active lumbar spinal stenosis (incl. M48.062 with neurogenic claudication); info (warning with a cancer "
            "history or spinal infection when no nerve-compression card carries it).",
    fires_when="active lumbar spinal stenosis diagnosis (code, or text as a last resort); warning when a cancer "
               "history or spinal infection is on record and the nerve-compression card does not fire",
    quiet_when="no active lumbar stenosis diagnosis; a Condition coded outside the value sets (e.g. cervical "
               "stenosis M48.02) does not match by its text",
    advice="Red flags: the cauda equina emergency (saddle anaesthesia, new bladder or bowel dysfunction: immediate "
           "referral, emergency MRI within hours) and the cancer and infection red flags - on this card when no "
           "nerve-compression card fires, else a pointer to that card; physical therapy and activity advice, MRI "
           "when symptoms persist "
           f"or surgery is considered; a resting ABI when none exists within {WINDOW_TEXT}.",
    references=("nass-stenosis-2011", "aha-acc-pad-2016", "girft-ces-2023", "nice-ng59-2016", "nice-cks-sciatica",
                "acr-lbp-2021"),
)
