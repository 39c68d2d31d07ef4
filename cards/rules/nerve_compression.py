"""Nerve compression: sciatica / lumbar radiculopathy, disc herniation, peroneal neuropathy or tarsal tunnel; and the
spinal emergencies and red flags that go with back or radicular pain.

Fires when: an active diagnosis of sciatica or lumbar radiculopathy, lumbar disc herniation (displacement or disc
  disorder with radiculopathy), peroneal (fibular) neuropathy or tarsal tunnel syndrome - by code (ICD-10-CM with or
  without its dot, SNOMED CT) or, as a last resort, by text; or an active cauda equina syndrome (ICD-10-CM G83.4,
  SNOMED CT 192970008; value set cond-cauda-equina).
Critical: an active cauda equina syndrome - named as an emergency (immediate referral to hospital, emergency MRI within
  hours, spinal surgical review; GIRFT national suspected CES pathway 2023; ACR 2021 variant 4). The card says that a
  known and already treated CES needs the same action only for new or worsening symptoms (a problem-list entry can
  be old).
Warning: sciatica / radiculopathy / disc herniation (back or radicular pain on record) with a malignancy on record
  (cond-cancer-history: personal history of cancer Z85.x, bone metastasis C79.51, malignant neoplastic disease) or
  a spinal infection (cond-spinal-infection: vertebral osteomyelitis M46.2x, discitis M46.4x, intraspinal abscess
  G06.1): red flags for spinal metastasis or infection (NICE NG59 1.1.1: exclude specific causes; MRI of the lumbar
  spine, ACR 2021 variant 7).
Info: otherwise. Every card with radicular pain asks for the cauda equina symptoms (saddle anaesthesia, new bladder
  or bowel dysfunction, bilateral leg symptoms - an emergency, not an "urgent MRI") and for the cancer and infection
  red flags that cannot be coded: non-mechanical night pain (constant, not eased by lying down; NICE CKS),
  unexplained weight loss, fever, immunosuppression, intravenous drug use. A peroneal or tarsal tunnel entrapment
  alone is not back pain: no spinal red flags, a cancer history alone gives no card.
Decision - one emergency card: the cauda equina emergency and the cancer/infection red flags belong to this topic
  (nerve-compression: the cauda equina is the bundle of lumbosacral nerve roots). A coded CES always makes this card
  fire, so the spinal-stenosis card never repeats the emergency: it refers to this card whenever this card fires, and
  carries the same red-flag text itself only when this card does not fire (stenosis alone).
Matching: a Condition coded in ICD-10-CM or SNOMED CT outside the value sets does not match by its text
  (cards.facts); lumbosacral radiculopathy (M54.17) is in the radiculopathy value set.
Skips: a Condition that is also a lumbar spinal stenosis code or text (e.g. M48.062 with neurogenic claudication):
  it counts on the spinal-stenosis card only.
Quiet when: none of these diagnoses is active (resolved, refuted or entered-in-error ones are ignored); a cancer
  history or spinal infection without back or radicular pain on record.
Needs: conditions.
References: GIRFT national suspected cauda equina syndrome pathway 2023 (CES is a spinal surgical emergency); ACR
  Appropriateness Criteria low back pain 2021 (variant 4 suspected CES, variant 7 suspected cancer, infection or
  immunosuppression: MRI); NICE NG59 2016/2020, recommendation 1.1.1 (exclude cancer, infection); NICE CKS sciatica
  red flags (pain when lying supine, CES usually immediate admission); NASS lumbar disc herniation with
  radiculopathy guideline 2012 (imaging, conservative care); ACP low back pain guideline 2017 (non-invasive
  treatment first).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
CAUDA_EQUINA = "cond-cauda-equina"
CANCER = "cond-cancer-history"
INFECTION = "cond-spinal-infection"
CES_SYMPTOMS = ("saddle anaesthesia (numbness around the anus, perineum or genitals)",
                "new bladder or bowel dysfunction (retention, incontinence, loss of the feeling of a full bladder)",
                "sciatica in both legs or weakness in both legs")
# Cancer and infection red flags that no code carries: asked for in the card text (NICE CKS sciatica red flags;
# ACR 2021 variant 7 names suspected cancer, infection or immunosuppression).
ASK_RED_FLAGS = ("non-mechanical night pain: constant pain at rest or at night that lying down does not ease",
                 "unexplained weight loss", "fever or recent infection", "immunosuppression (e.g. long-term "
                 "steroids, chemotherapy, HIV)", "intravenous drug use")


@dataclass(frozen=True)
class RedFlags:
    """Malignancy and infection on record (counted only where back or radicular pain is on record)."""

    cancer: tuple[ConditionMatch, ...]
    infection: tuple[ConditionMatch, ...]

    def __bool__(self) -> bool:
        return bool(self.cancer or self.infection)


def red_flags(facts: PatientFacts) -> RedFlags:
    """Active malignancy and spinal infection diagnoses (the caller decides whether back pain is on record)."""
    return RedFlags(tuple(facts.conditions(CANCER)), tuple(facts.conditions(INFECTION)))


def red_flag_parts(flags: RedFlags, now: datetime, ask_ces: bool = True) -> list[str]:
    """The card text for the spinal red flags: the cauda equina emergency to ask about, the cancer and infection red
    flags to ask about, and the ones on record. Shared with the spinal-stenosis card (which shows it only when this
    card does not fire)."""
    parts = ["**Ask about cauda equina syndrome:** " + "; ".join(CES_SYMPTOMS) + ". Any of these is an **emergency**: "
             "refer immediately to hospital for an emergency MRI within hours and spinal surgical review (GIRFT "
             "2023), not a routine or urgent outpatient referral. Progressive weakness or foot drop needs urgent "
             "specialist review."] if ask_ces else []
    parts += ["**Ask about cancer and infection red flags:** " + "; ".join(ASK_RED_FLAGS) + " (NICE CKS; NICE NG59 "
             "1.1.1: exclude cancer and infection as causes)."]
    on_record = [f"{card_text.condition_line(c, now)} - history of cancer: a red flag for spinal metastasis"
                 for c in flags.cancer]
    on_record += [f"{card_text.condition_line(c, now)} - spinal infection" for c in flags.infection]
    if on_record:
        parts.append(card_text.bullets("Red flags on record with back or radicular pain", on_record))
    return parts


def red_flag_steps(flags: RedFlags) -> list[str]:
    """Next steps for the red flags on record (none when there are none)."""
    steps = []
    if flags.cancer:
        steps.append("Cancer history with back or radicular pain raises the suspicion of spinal metastasis: examine, "
                     "ask about night pain and weight loss; when cancer is suspected, MRI of the lumbar spine is the "
                     "imaging to order (ACR 2021, variant 7); new weakness, numbness or bladder or bowel change means "
                     "an emergency same-day referral.")
    if flags.infection:
        steps.append("Spinal infection on record: check that it is being treated (temperature, CRP, the treating "
                     "team); new or worsening weakness, numbness or bladder or bowel change suggests an epidural "
                     "abscess or cord/cauda equina compression - an emergency same-day referral (ACR 2021, variant 7).")
    return steps


@dataclass(frozen=True)
class Finding:
    diagnoses: tuple[ConditionMatch, ...]
    skipped_stenosis: int
    cauda_equina: tuple[ConditionMatch, ...] = ()
    flags: RedFlags = RedFlags((), ())  # counted only with radicular pain on record

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
    cauda_equina = facts.conditions(CAUDA_EQUINA)
    if not found and not cauda_equina:
        return None
    diagnoses = tuple(found.values())
    radicular = any(d.valueset in RADICULAR for d in diagnoses) or bool(cauda_equina)
    return Finding(diagnoses, skipped, cauda_equina, red_flags(facts) if radicular else RedFlags((), ()))


def _summary(finding: Finding) -> str:
    if finding.cauda_equina:
        ces = finding.cauda_equina[0]
        code = f" ({ces.code})" if ces.code else ""
        return (f"Cauda equina syndrome{code} on record: an emergency if new or worsening - immediate referral, "
                "emergency MRI within hours")
    first = finding.diagnoses[0]
    code = f" ({first.code})" if first.code else ""
    flags = finding.flags
    if flags.cancer:
        other = flags.cancer[0]
        return (f"{first.display}{code} with a cancer history ({other.code or other.display}): red flag for spinal "
                "metastasis - ask about night pain, consider MRI")
    if flags.infection:
        other = flags.infection[0]
        return (f"{first.display}{code} with a spinal infection ({other.code or other.display}): red flag - check "
                "treatment and for new deficits")
    return (f"Nerve compression: {first.display}{code}"
            + (f" and {len(finding.diagnoses) - 1} more" if len(finding.diagnoses) > 1 else "")
            + " - radicular or entrapment pain can worsen at night")


def _card(finding: Finding, facts: PatientFacts) -> Card:
    slugs = {d.valueset for d in finding.diagnoses}
    radicular = bool(slugs & set(RADICULAR)) or bool(finding.cauda_equina)
    parts = []
    if finding.cauda_equina:
        parts.append(card_text.bullets("Emergency - cauda equina syndrome on record", (
            card_text.condition_line(c, facts.now) for c in finding.cauda_equina)))
        parts.append("Cauda equina syndrome is a spinal surgical emergency. If it is new, not yet treated, or its "
                     "symptoms are new or worsening: refer immediately to hospital for an emergency MRI within hours "
                     "and spinal surgical review (GIRFT 2023; ACR 2021, variant 4). If it is known and already "
                     "treated, ask about any new or worsening saddle numbness, bladder or bowel change or leg "
                     "weakness today.")
    if finding.diagnoses:
        parts.append("Compressed nerve roots (sciatica, disc herniation) give radiating, dermatomal leg pain that can "
                     "worsen lying down; entrapment of the peroneal nerve at the fibular head or the tibial nerve in "
                     "the tarsal tunnel gives burning, tingling or numbness of the foot, often at night.")
        parts.append(card_text.bullets("Diagnoses", (f"{card_text.condition_line(d, facts.now)} - {KIND[d.valueset]}"
                                                     for d in finding.diagnoses)))
    if radicular:
        parts += red_flag_parts(finding.flags, facts.now, ask_ces=not finding.cauda_equina)
    if finding.skipped_stenosis:
        parts.append(card_text.bullets("Related", ["Lumbar spinal stenosis is shown on its own card (see the "
                                                   "*Lumbar spinal stenosis* card), not counted here."]))
    steps: list[str] = []
    suggestions = []
    if finding.cauda_equina:
        steps.append("Cauda equina syndrome, new or worsening: immediate referral to the emergency department or the "
                     "on-call spinal team for an emergency MRI within hours (GIRFT 2023) - do not wait for a routine "
                     "appointment.")
    steps += red_flag_steps(finding.flags)
    if slugs & set(RADICULAR) and not finding.cauda_equina and not finding.flags:
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
    if finding.cauda_equina:
        indicator, keys = Indicator.CRITICAL, ("girft-ces-2023", "acr-lbp-2021")
    elif finding.flags:
        indicator, keys = Indicator.WARNING, ("nice-ng59-2016", "acr-lbp-2021")
    else:
        indicator, keys = Indicator.INFO, ("nass-disc-2012", "acp-lbp-2017")
    if radicular:
        keys += tuple(k for k in ("girft-ces-2023", "nice-ng59-2016", "nice-cks-sciatica") if k not in keys)
    return card_text.make_card(rule=RULE, indicator=indicator, summary_text=_summary(finding),
                               detail="\n\n".join(p for p in parts if p), guideline_keys=keys,
                               suggestions=suggestions, facts=facts)


RULE = Rule(
    id="nerve-compression", version="1.1.0", topic=Topic.NERVE_COMPRESSION, hooks=frozenset({PATIENT_VIEW}),
    needs=("patient", "conditions"), applies=_applies, card=_card,
    valuesets=RADICULAR + PERIPHERAL + (CAUDA_EQUINA, CANCER, INFECTION),
    summary="Sciatica/radiculopathy, disc herniation, peroneal neuropathy or tarsal tunnel (info); cauda equina "
            "syndrome (critical).",
    fires_when="active diagnosis in one of the four nerve value sets (code, or text as a last resort), other than a "
               "Condition that is a lumbar stenosis code; or an active cauda equina syndrome (critical: emergency). "
               "Warning when radicular pain comes with a cancer history or a spinal infection on record",
    quiet_when="no such active diagnosis; a lumbar stenosis Condition counts on the spinal-stenosis card only; a "
               "cancer history or spinal infection without back or radicular pain",
    advice="Cauda equina syndrome (coded, or saddle anaesthesia, new bladder or bowel dysfunction, bilateral leg "
           "symptoms) is an emergency: immediate referral for an emergency MRI within hours and spinal surgical "
           "review. Ask about cancer and infection red flags (non-mechanical night pain, weight loss, fever, "
           "immunosuppression, IV drug use); with a cancer history or spinal infection on record, MRI of the lumbar "
           "spine and an emergency referral for any new deficit. Radicular pain without red flags: no routine "
           "imaging, exercise and physical therapy; peroneal or tarsal tunnel entrapment: EMG and nerve conduction "
           "studies.",
    references=("girft-ces-2023", "acr-lbp-2021", "nice-ng59-2016", "nice-cks-sciatica", "nass-disc-2012",
                "acp-lbp-2017"),
)
