"""Nerve compression: sciatica / lumbar radiculopathy, disc herniation, peroneal neuropathy or tarsal tunnel.

Fires when: an active diagnosis of sciatica or lumbar radiculopathy, lumbar disc herniation (displacement or disc
  disorder with radiculopathy), peroneal (fibular) neuropathy or tarsal tunnel syndrome - by code (ICD-10-CM with or
  without its dot, SNOMED CT) or, as a last resort, by text. Info.
Matching: a Condition coded in ICD-10-CM or SNOMED CT outside the value sets does not match by its text
  (cards.facts); lumbosacral radiculopathy (M54.17) is in the radiculopathy value set.
Skips: a Condition that is also a lumbar spinal stenosis code or text (e.g. M48.062 with neurogenic claudication):
  it counts on the spinal-stenosis card only.
Quiet when: none of these diagnoses is active (resolved, refuted or entered-in-error ones are ignored).
Detail: red flags (saddle anaesthesia, bladder/bowel change, progressive motor deficit, foot drop) -> urgent MRI or
  specialist review.
Needs: conditions.
References: NASS lumbar disc herniation with radiculopathy guideline 2012 (red flags, imaging, conservative care);
  ACP low back pain guideline 2017 (non-invasive treatment first).
"""
from __future__ import annotations

from dataclasses import dataclass

from cards import card_text
from cards.condition_sets import condition_key, stenosis_conditions
from cards.facts import ConditionMatch, PatientFacts
from cards.model import Card, Indicator
from cards.rule import PATIENT_VIEW, Rule
from cards.topics import Topic

RADICULAR = ("cond-sciatica-radiculopathy", "cond-disc-herniation")
PERIPHERAL = ("cond-peroneal-neuropathy", "cond-tarsal-tunnel")
KIND = {"cond-sciatica-radiculopathy": "sciatica / lumbar radiculopathy", "cond-disc-herniation": "disc herniation",
        "cond-peroneal-neuropathy": "peroneal neuropathy", "cond-tarsal-tunnel": "tarsal tunnel syndrome"}
RED_FLAGS = ("saddle anaesthesia", "new bladder or bowel dysfunction", "progressive motor weakness", "foot drop")


@dataclass(frozen=True)
class Finding:
    diagnoses: tuple[ConditionMatch, ...]
    skipped_stenosis: int

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(KIND[d.valueset] for d in self.diagnoses))


def _applies(facts: PatientFacts) -> Finding | None:
    stenosis = {condition_key(c) for c in stenosis_conditions(facts)}
    found: dict[tuple[str | None, ...], ConditionMatch] = {}
    skipped = 0
    for slug in RADICULAR + PERIPHERAL:
        for match in facts.conditions(slug):
            key = condition_key(match)
            if key in stenosis:
                skipped += 1
            else:
                found.setdefault(key, match)
    if not found:
        return None
    return Finding(tuple(found.values()), skipped)


def _card(finding: Finding, facts: PatientFacts) -> Card:
    first = finding.diagnoses[0]
    code = f" ({first.code})" if first.code else ""
    summary = (f"Nerve compression: {first.display}{code}"
               + (f" and {len(finding.diagnoses) - 1} more" if len(finding.diagnoses) > 1 else "")
               + " - radicular or entrapment pain can worsen at night")
    slugs = {d.valueset for d in finding.diagnoses}
    parts = ["Compressed nerve roots (sciatica, disc herniation) give radiating, dermatomal leg pain that can worsen "
             "lying down; entrapment of the peroneal nerve at the fibular head or the tibial nerve in the tarsal "
             "tunnel gives burning, tingling or numbness of the foot, often at night.",
             card_text.bullets("Diagnoses", (f"{card_text.condition_line(d, facts.now)} - {KIND[d.valueset]}"
                                             for d in finding.diagnoses)),
             "**Red flags** (ask and examine): " + ", ".join(RED_FLAGS) + " - any of these needs urgent MRI and "
             "specialist review."]
    if finding.skipped_stenosis:
        parts.append(card_text.bullets("Related", ["Lumbar spinal stenosis is shown on its own card (see the "
                                                   "*Lumbar spinal stenosis* card), not counted here."]))
    steps, suggestions = [], []
    if slugs & set(RADICULAR):
        steps.append("Radicular pain without red flags: no routine imaging; exercise, physical therapy and "
                     "time (ACP 2017, NASS 2012).")
        suggestions.append(card_text.order_suggestion("Refer to physical therapy", facts.patient_id,
                                                      card_text.lab_orders("physical-therapy"),
                                                      reason="Lumbar radicular pain"))
    if slugs & set(PERIPHERAL):
        steps.append("Peroneal or tarsal tunnel entrapment: examine for foot drop and sensory loss; EMG and nerve "
                     "conduction studies confirm the site.")
        suggestions.append(card_text.order_suggestion("Order EMG and nerve conduction study", facts.patient_id,
                                                      card_text.lab_orders("emg-ncs"),
                                                      reason="Suspected peripheral nerve entrapment"))
    parts.append(card_text.bullets("Next steps", steps))
    return card_text.make_card(rule=RULE, indicator=Indicator.INFO, summary_text=summary,
                               detail="\n\n".join(parts), guideline_keys=("nass-disc-2012", "acp-lbp-2017"),
                               suggestions=suggestions, facts=facts)


RULE = Rule(
    id="nerve-compression", version="1.0.0", topic=Topic.NERVE_COMPRESSION, hooks=frozenset({PATIENT_VIEW}),
    needs=("patient", "conditions"), applies=_applies, card=_card,
    valuesets=RADICULAR + PERIPHERAL,
    summary="Active sciatica/lumbar radiculopathy, disc herniation, peroneal neuropathy or tarsal tunnel; info.",
    fires_when="active diagnosis in one of the four value sets (code, or text as a last resort), other than a "
               "Condition that is a lumbar stenosis code",
    quiet_when="no such active diagnosis; a lumbar stenosis Condition counts on the spinal-stenosis card only",
    advice="Ask and examine for red flags (saddle anaesthesia, bladder or bowel change, progressive weakness, foot "
           "drop: urgent MRI and specialist review); radicular pain without red flags: no routine imaging, exercise "
           "and physical therapy; peroneal or tarsal tunnel entrapment: EMG and nerve conduction studies.",
    references=("nass-disc-2012", "acp-lbp-2017"),
)
