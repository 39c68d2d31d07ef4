"""Lumbar spinal stenosis: an active diagnosis, with the neurogenic vs vascular claudication distinction.

Fires when: an active lumbar spinal stenosis diagnosis (SNOMED 18347007; ICD-10-CM M48.06, M48.061, M48.062 -
  with neurogenic claudication), by code or, as a last resort, by text. Info.
  A stenosis condition counts here only: the nerve-compression rule skips any condition that is a stenosis code,
  even when it also carries a radiculopathy code or text.
Quiet when: no active lumbar stenosis diagnosis (resolved, refuted or entered-in-error ones are ignored).
Matching: a Condition coded in ICD-10-CM or SNOMED CT outside the value sets (e.g. M48.02, cervical stenosis) does
  not match by its text (cards.facts); text matching is the last resort for Conditions without such a coding.
Also says: neurogenic claudication eases with sitting or bending forward, vascular claudication with standing still;
  with PAD on record, both may contribute; without an ABI within the PAD rule's ABI window
  (cards/knowledge/data/thresholds/pad.json), an ABI is suggested to exclude vascular claudication.
Red flags (decision in the nerve-compression rule's docstring: one emergency card): the cauda equina emergency and
  the cancer and infection red flags belong to the nerve-compression card. When that card carries them (sciatica,
  radiculopathy, disc herniation, or a coded cauda equina syndrome), this card only refers to it; when it does not
  (stenosis alone, or with only a peroneal or tarsal tunnel entrapment, whose card has no red-flag text), this card
  carries the same red-flag text (nerve_compression.red_flag_parts) and is a warning when a cancer history or spinal
  infection is on record (NICE NG59 1.1.1; ACR 2021 variant 7). A bone metastasis or a cauda equina red flag with
  the stenosis makes the nerve-compression card fire (the stenosis counts as spinal pain there): this card refers to it.
Suggestions: physical therapy only when no red flag is on record (on this card or the nerve-compression card); when
  the nerve-compression card is critical (cauda equina syndrome, possible CES, possible metastatic cord compression)
  no routine suggestion at all - no physical therapy, no ABI - and the next step says the routine work-up waits.
Kind: actionable when this card carries a cancer history or spinal infection on record itself; otherwise a possible
  cause (a diagnosis on the problem list), pointing to the PAD card only where that card shows whenever this one does.
Needs: conditions, observations (ABI).
References: NASS degenerative lumbar spinal stenosis guideline 2011 (diagnosis, imaging, physical therapy); 2016
  AHA/ACC PAD guideline, section 3.1 (resting ABI for suspected PAD); with the red flags: GIRFT national suspected
  cauda equina syndrome pathway 2023, NICE NG59 2016/2020 1.1.1, NICE CKS sciatica red flags, ACR low back pain 2021.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from cards import card_text
from cards.condition_sets import STENOSIS_VALUESETS, stenosis_conditions
from cards.facts import ConditionMatch, PatientFacts
from cards.knowledge import threshold
from cards.model import Card, CardKind, Indicator
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
    nerve_card: bool = False  # the nerve-compression card carries the red flags: this card refers to it
    cauda_equina: bool = False
    flags: nerve_compression.RedFlags = nerve_compression.RedFlags((), ())
    emergency: bool = False  # the nerve-compression card is critical: the routine work-up waits
    nerve_flags: bool = False  # the nerve-compression card names a red flag on record: physical therapy waits


def _applies(facts: PatientFacts) -> Finding | None:
    diagnoses = stenosis_conditions(facts)
    if not diagnoses:
        return None
    nerve = nerve_compression.RULE.applies(facts)
    return Finding(diagnoses, any(d.valueset == "cond-lumbar-stenosis-claudication" for d in diagnoses),
                   pad.RULE.applies(facts) is not None, bool(pad.abi_readings(facts)),
                   nerve_card=nerve is not None and nerve_compression.carries_red_flags(nerve),
                   cauda_equina=bool(facts.conditions(nerve_compression.CAUDA_EQUINA)),
                   flags=nerve_compression.red_flags(facts),
                   emergency=nerve is not None and nerve_compression.indicator_of(nerve) is Indicator.CRITICAL,
                   nerve_flags=nerve is not None and bool(nerve.flags or nerve.flags.ask))


def kind_of(finding: Finding) -> CardKind:
    """Actionable when this card carries a red flag on record (a cancer history or spinal infection, no nerve card
    carrying it); a lumbar stenosis diagnosis alone is a possible cause of leg symptoms."""
    return CardKind.ACTIONABLE if finding.flags and not finding.nerve_card else CardKind.POSSIBLE_CAUSE


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
        # Point to the PAD card only where it shows whenever this card does (it actionable, or both possible causes).
        see = (" (see the *Peripheral artery disease* card)" if kind_of(finding) is CardKind.POSSIBLE_CAUSE
               or pad.card_kind(facts) is CardKind.ACTIONABLE else "")
        related.append(f"PAD is also on record{see}: both may contribute.")
    if finding.cauda_equina:
        related.append("Cauda equina syndrome is on record: see the *Nerve compression* card (an emergency if new or "
                       "worsening).")
    elif finding.emergency:
        related.append("An emergency is on the *Nerve compression* card (possible cauda equina syndrome or metastatic "
                       "spinal cord compression): it comes first.")
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
    suggestions = []
    if finding.emergency:
        # Routine suggestions beside an emergency card would contradict "refer immediately" (issue 15 review).
        steps.append("The routine stenosis work-up (physical therapy, ABI, elective MRI) waits until the emergency on "
                     "the *Nerve compression* card is dealt with.")
    elif finding.nerve_flags or (finding.flags and not finding.nerve_card):
        steps.append("Physical therapy and activity advice once the red flags are assessed; MRI when symptoms persist "
                     "or surgery is considered (NASS 2011).")
    else:
        steps.append("Physical therapy and activity advice; MRI when symptoms persist or surgery is considered "
                     "(NASS 2011).")
        suggestions.append(card_text.order_suggestion("Refer to physical therapy", facts.patient_id,
                                                      card_text.lab_orders("physical-therapy"),
                                                      reason="Lumbar spinal stenosis"))
    if not finding.abi_on_file and not finding.emergency:
        steps.append(f"No ABI in {WINDOW_TEXT}: a resting ABI separates vascular from neurogenic claudication "
                     "(2016 AHA/ACC 3.1).")
        suggestions.append(card_text.order_suggestion("Order resting ankle-brachial index", facts.patient_id,
                                                      card_text.lab_orders("abi-uncoded"),
                                                      reason="Exclude vascular claudication"))
    parts.append(card_text.bullets("Next steps", steps))
    keys = ("nass-stenosis-2011",) + (("aha-acc-pad-2016",) if not finding.abi_on_file and not finding.emergency
                                      else ())
    indicator = Indicator.INFO
    if not finding.nerve_card:
        keys += ("girft-ces-2023", "nice-ng59-2016", "nice-cks-sciatica")
        if finding.flags:
            indicator = Indicator.WARNING
            keys += ("acr-lbp-2021",)
            what = "cancer history" if finding.flags.cancer else "spinal infection"
            summary = (f"Lumbar spinal stenosis{code} with a {what} on record: red flag - ask about night pain, "
                       "consider MRI")
    return replace(card_text.make_card(rule=RULE, indicator=indicator, summary_text=summary,
                                       detail="\n\n".join(parts), guideline_keys=keys, suggestions=suggestions,
                                       facts=facts),
                   kind=kind_of(finding))


RULE = Rule(
    id="spinal-stenosis", version="1.4.0", topic=Topic.SPINAL_STENOSIS, hooks=frozenset({PATIENT_VIEW}),
    needs=("patient", "observations", "conditions"), applies=_applies, card=_card, analytes=("abi",),
    valuesets=STENOSIS_VALUESETS,
    summary="Active lumbar spinal stenosis (incl. M48.062 with neurogenic claudication); info (warning with a cancer "
            "history or spinal infection when no nerve-compression card carries it).",
    fires_when="active lumbar spinal stenosis diagnosis (code, or text as a last resort); warning when a cancer "
               "history or spinal infection is on record and the nerve-compression card does not carry the red flags "
               "(no sciatica, radiculopathy, disc herniation or cauda equina)",
    quiet_when="no active lumbar stenosis diagnosis; a Condition coded outside the value sets (e.g. cervical "
               "stenosis M48.02) does not match by its text",
    advice="Red flags: the cauda equina emergency (saddle anaesthesia, new bladder or bowel dysfunction: immediate "
           "referral, emergency MRI within hours) and the cancer and infection red flags - on this card when no "
           "nerve-compression card carries them, else a pointer to that card; physical therapy and activity advice "
           "(suggested only without red flags on record), MRI when symptoms persist or surgery is considered; a "
           f"resting ABI when none exists within {WINDOW_TEXT}. No routine suggestion (physical therapy, ABI) while "
           "the nerve-compression card is critical.",
    actionable_when="a cancer history or spinal infection on record that this card carries (no sciatica, "
                    "radiculopathy, disc herniation or cauda equina on the nerve-compression card to carry it)",
    possible_cause_when="the stenosis diagnosis alone, or with the red flags carried by the nerve-compression card "
                        "(this card then refers to it); an ABI suggested to exclude vascular claudication unless the "
                        "nerve-compression card is critical",
    references=("nass-stenosis-2011", "aha-acc-pad-2016", "girft-ces-2023", "nice-ng59-2016", "nice-cks-sciatica",
                "acr-lbp-2021"),
)
