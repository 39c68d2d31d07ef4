"""Nerve compression: sciatica / lumbar radiculopathy, disc herniation, peroneal neuropathy or tarsal tunnel; and the
spinal emergencies and red flags that go with back or radicular pain.

Fires when: an active diagnosis of sciatica or lumbar radiculopathy, lumbar disc herniation (displacement or disc
  disorder with radiculopathy), peroneal (fibular) neuropathy or tarsal tunnel syndrome - by code (ICD-10-CM with or
  without its dot, SNOMED CT) or, as a last resort, by text; or an active cauda equina syndrome (ICD-10-CM G83.4,
  SNOMED CT 192970008; value set cond-cauda-equina); or back pain (cond-back-pain: M54.5, M54.50, M54.51, M54.59,
  M54.6, M54.9) with a red flag on record (below). Back pain alone gives no card.
Spinal pain: radicular pain (the radicular diagnoses), a cauda equina syndrome or back pain; a lumbar spinal stenosis
  counts too for a cauda equina red flag or a bone metastasis (the stenosis card carries a cancer history or spinal
  infection itself when this card does not fire).
Critical: an active cauda equina syndrome - named as an emergency (immediate referral to hospital, emergency MRI within
  hours, spinal surgical review; GIRFT national suspected CES pathway 2023; ACR 2021 variant 4). The card says that a
  known and already treated CES needs the same action only for new or worsening symptoms (a problem-list entry can
  be old).
Critical: possible cauda equina syndrome - a cauda equina red flag with spinal pain: urinary retention (R33.9 or
  text), saddle anaesthesia, bilateral sciatica or new incontinence (text; cond-ces-red-flags, also read on the text
  of Conditions coded R20.0 or R32), or incontinence (R32) recorded within nerve.ces-sign-new. A red flag counts as
  new when undated or dated within that window; older, the card asks whether it is new (warning). Anaesthesia of
  skin (R20.0) does not say where: the card asks where (saddle area: emergency), it is not a red flag by itself.
Critical: possible metastatic spinal cord compression - a known bone metastasis (cond-bone-metastases: C79.51,
  C79.52) with radicular pain or a new cauda equina red flag (neurological symptoms): an oncological emergency, MRI
  of the whole spine within nerve.mscc-mri-neuro (NICE NG234 2023; QS56 statement 3).
Warning: a known bone metastasis with back pain only - suspected spinal metastasis, MRI of the whole spine within
  nerve.mscc-mri-pain (QS56 statement 2), an emergency if neurological symptoms appear.
Warning: spinal pain (radicular or back pain) with a malignancy on record (cond-cancer-history: personal history of
  cancer Z85.x, malignant neoplastic disease) or a spinal infection (cond-spinal-infection: vertebral osteomyelitis
  M46.2x, discitis M46.4x, intraspinal abscess G06.1): red flags for spinal metastasis or infection (NICE NG59
  1.1.1: exclude specific causes; suspected spinal metastasis: MRI of the whole spine within nerve.mscc-mri-pain,
  QS56 statement 2; ACR 2021 variant 7); a spinal infection with spinal pain is assessed the same day.
Warning: radicular pain with a cauda equina finding that is not an emergency by itself: incontinence (R32) not
  recorded recently, anaesthesia of skin (R20.0), or a specific red flag recorded before the window - the card asks
  today whether it is new (or, for the numbness, where it is).
Info: otherwise. Every card with spinal pain asks for the cauda equina symptoms (saddle anaesthesia, new bladder
  or bowel dysfunction, bilateral leg symptoms - an emergency, not an "urgent MRI") and for the cancer and infection
  red flags that cannot be coded: non-mechanical night pain (constant, not eased by lying down; NICE CKS),
  unexplained weight loss, fever, immunosuppression, intravenous drug use. A peroneal or tarsal tunnel entrapment
  alone is not back pain: no spinal red flags, a cancer history alone gives no card.
Suggestions: physical therapy only for radicular pain without any red flag; EMG / nerve conduction studies for a
  peroneal or tarsal tunnel entrapment, except on an emergency (critical) card - routine work-up waits.
Decision - one emergency card: the cauda equina emergency, metastatic cord compression and the cancer/infection red
  flags belong to this topic (nerve-compression: the cauda equina is the bundle of lumbosacral nerve roots). A coded
  CES, a cauda equina red flag or a bone metastasis with spinal pain (stenosis included) always makes this card fire,
  so the spinal-stenosis card never repeats the emergency: it refers to this card whenever this card carries the
  red-flag text (spinal pain on record: `carries_red_flags`), drops its routine suggestions when this card is
  critical, and carries the red-flag text itself otherwise (stenosis alone, or with only a peroneal or tarsal tunnel
  entrapment).
Matching: a Condition coded in ICD-10-CM or SNOMED CT outside the value sets does not match by its text
  (cards.facts); lumbosacral radiculopathy (M54.17) is in the radiculopathy value set.
Skips: a Condition that is also a lumbar spinal stenosis code or text (e.g. M48.062 with neurogenic claudication):
  it counts on the spinal-stenosis card only.
Quiet when: none of these diagnoses is active (resolved, refuted or entered-in-error ones are ignored); a cancer
  history, bone metastasis, spinal infection or cauda equina red flag without back or radicular pain on record; back
  pain alone, or with only incontinence not recorded recently or anaesthesia of skin.
Kind: actionable for a cauda equina syndrome, a red flag on record with spinal pain, or a cauda equina finding to ask
  about; the nerve diagnoses alone (sciatica, radiculopathy, disc herniation, peroneal or tarsal tunnel) are a
  possible cause.
Needs: conditions.
References: GIRFT national suspected cauda equina syndrome pathway 2023 (CES is a spinal surgical emergency); NICE
  NG234 2023 and QS56 (updated 2023) statements 2 and 3 (spinal metastases and MSCC: whole-spine MRI windows without
  and with neurological symptoms or signs, cards/knowledge/data/thresholds/nerve.json); ACR Appropriateness Criteria low
  back pain 2021 (variant 4 suspected CES, variant 7 suspected cancer, infection or
  immunosuppression: MRI); NICE NG59 2016/2020, recommendation 1.1.1 (exclude cancer, infection); NICE CKS sciatica
  red flags (pain when lying supine, CES usually immediate admission); NASS lumbar disc herniation with
  radiculopathy guideline 2012 (imaging, conservative care); ACP low back pain guideline 2017 (non-invasive
  treatment first).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from cards import card_text
from cards.condition_sets import condition_key, stenosis_conditions
from cards.facts import ConditionMatch, PatientFacts
from cards.knowledge import threshold
from cards.model import Card, CardKind, Indicator
from cards.rule import PATIENT_VIEW, Rule
from cards.topics import Topic
from terminology import valuesets

RADICULAR = ("cond-sciatica-radiculopathy", "cond-disc-herniation")
PERIPHERAL = ("cond-peroneal-neuropathy", "cond-tarsal-tunnel")
KIND = {"cond-sciatica-radiculopathy": "sciatica / lumbar radiculopathy", "cond-disc-herniation": "disc herniation",
        "cond-peroneal-neuropathy": "peroneal neuropathy", "cond-tarsal-tunnel": "tarsal tunnel syndrome"}
CAUDA_EQUINA = "cond-cauda-equina"
CANCER = "cond-cancer-history"
INFECTION = "cond-spinal-infection"
BACK_PAIN = "cond-back-pain"
METASTASES = "cond-bone-metastases"
CES_RED_FLAGS = "cond-ces-red-flags"  # retention, saddle anaesthesia, bilateral sciatica, new incontinence
INCONTINENCE = "cond-urinary-incontinence"  # a red flag only when new
SKIN_ANAESTHESIA = "cond-skin-anaesthesia"  # R20.0 does not say where: asked about, not a red flag by itself
SIGN_NEW = threshold("nerve.ces-sign-new")
MRI_NEURO = threshold("nerve.mscc-mri-neuro")
MRI_PAIN = threshold("nerve.mscc-mri-pain")
MRI_NEURO_TEXT = f"within {MRI_NEURO.value:g} hours"
MRI_PAIN_TEXT = f"within {MRI_PAIN.value:g} days"
CES_SYMPTOMS = ("saddle anaesthesia (numbness around the anus, perineum or genitals)",
                "new bladder or bowel dysfunction (retention, incontinence, loss of the feeling of a full bladder)",
                "sciatica in both legs or weakness in both legs")
# Cancer and infection red flags that no code carries: asked for in the card text (NICE CKS sciatica red flags;
# ACR 2021 variant 7 names suspected cancer, infection or immunosuppression).
ASK_RED_FLAGS = ("non-mechanical night pain: constant pain at rest or at night that lying down does not ease",
                 "unexplained weight loss", "fever or recent infection", "immunosuppression (e.g. long-term "
                 "steroids, chemotherapy, HIV)", "intravenous drug use")


@dataclass(frozen=True)
class CesSign:
    """A cauda equina finding on record. `specific`: urinary retention, saddle anaesthesia, bilateral sciatica or new
    incontinence (by code, by text, or incontinence recorded within SIGN_NEW); otherwise incontinence not known to be
    new or anaesthesia of skin (R20.0: the code does not say where). `new`: undated, or dated within SIGN_NEW."""

    match: ConditionMatch
    specific: bool
    new: bool

    @property
    def emergency(self) -> bool:
        return self.specific and self.new


@dataclass(frozen=True)
class RedFlags:
    """Red flags on record (counted only where back or radicular pain is on record): malignancy, spinal infection,
    bone metastases and cauda equina findings. A finding to ask about (`ask`) is not a red flag by itself."""

    cancer: tuple[ConditionMatch, ...]
    infection: tuple[ConditionMatch, ...]
    metastases: tuple[ConditionMatch, ...] = ()
    signs: tuple[CesSign, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.cancer or self.infection or self.metastases or any(s.specific for s in self.signs))

    @property
    def emergency(self) -> tuple[CesSign, ...]:
        """New specific cauda equina red flags: possible cauda equina syndrome."""
        return tuple(s for s in self.signs if s.emergency)

    @property
    def ask(self) -> tuple[CesSign, ...]:
        """Cauda equina findings that are not an emergency by themselves: ask whether new (or where)."""
        return tuple(s for s in self.signs if not s.emergency)


NO_FLAGS = RedFlags((), ())


def ces_signs(facts: PatientFacts) -> tuple[CesSign, ...]:
    """Cauda equina findings on record, each Condition once. The red-flag patterns (saddle, new, bilateral) are also
    read on the text of Conditions coded R20.0 or R32: their codes say neither where nor new."""
    patterns = valuesets.load(CES_RED_FLAGS)
    since = facts.now - SIGN_NEW.days
    found: dict[tuple[str | None, ...], CesSign] = {}
    for slug in (CES_RED_FLAGS, INCONTINENCE, SKIN_ANAESTHESIA):
        for match in facts.conditions(slug):
            key = condition_key(match)
            if key in found:
                continue
            recent = match.date is not None and match.date >= since
            if slug == CES_RED_FLAGS or patterns.matches_text(match.display):
                found[key] = CesSign(match, True, match.date is None or recent)
            else:
                found[key] = CesSign(match, slug == INCONTINENCE and recent, recent)
    return tuple(found.values())


def red_flags(facts: PatientFacts) -> RedFlags:
    """Active malignancy, spinal infection, bone metastasis and cauda equina findings (the caller decides whether back
    pain is on record). A bone metastasis is listed as such, not again as a cancer history."""
    metastases = tuple(facts.conditions(METASTASES))
    keys = {condition_key(m) for m in metastases}
    cancer = tuple(c for c in facts.conditions(CANCER) if condition_key(c) not in keys)
    return RedFlags(cancer, tuple(facts.conditions(INFECTION)), metastases, ces_signs(facts))


def _sign_line(sign: CesSign, now: datetime) -> str:
    line = card_text.condition_line(sign.match, now)
    if sign.emergency:
        return f"{line} - cauda equina red flag"
    if sign.specific:
        return (f"{line} - cauda equina red flag recorded more than {SIGN_NEW.value:g} days ago: ask whether it is new "
                "or worse")
    if sign.match.valueset == INCONTINENCE:
        return f"{line} - ask whether it is new: new incontinence with back pain is a cauda equina red flag"
    return (f"{line} - ask where: numbness of the saddle area (anus, perineum, genitals) is a cauda equina red "
            "flag")


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
    on_record = [_sign_line(s, now) for s in flags.signs if s.specific]
    on_record += [f"{card_text.condition_line(c, now)} - known bone metastasis: with back or radicular pain, a "
                  "suspected spinal metastasis or cord compression" for c in flags.metastases]
    on_record += [f"{card_text.condition_line(c, now)} - history of cancer: a red flag for spinal metastasis"
                  for c in flags.cancer]
    on_record += [f"{card_text.condition_line(c, now)} - spinal infection" for c in flags.infection]
    if on_record:
        parts.append(card_text.bullets("Red flags on record with back or radicular pain", on_record))
    asks = [_sign_line(s, now) for s in flags.signs if not s.specific]
    if asks:
        parts.append(card_text.bullets("Ask today", asks))
    return parts


def red_flag_steps(flags: RedFlags, neuro: bool = False) -> list[str]:
    """Next steps for the red flags on record (none when there are none). `neuro`: radicular pain or a new cauda
    equina red flag is on record (with a bone metastasis: suspected metastatic spinal cord compression)."""
    steps = []
    if flags.emergency:
        names = ", ".join(s.match.display for s in flags.emergency)
        steps.append(f"Possible cauda equina syndrome ({names} with back or radicular pain): refer immediately to the "
                     "emergency department or the on-call spinal team for an emergency MRI within hours and spinal "
                     "surgical review (GIRFT 2023) - do not wait for a routine appointment. If the finding is old and "
                     "already explained, record that on the chart.")
    if flags.metastases and neuro:
        steps.append("Known bone metastasis with radicular pain or a cauda equina red flag: suspected metastatic "
                     "spinal cord compression, an oncological emergency - contact the acute oncology or MSCC team now "
                     f"for an MRI of the whole spine {MRI_NEURO_TEXT} (NICE NG234 2023; QS56 statement 3).")
    elif flags.metastases:
        steps.append("Known bone metastasis with back pain: suspected spinal metastasis - discuss with the acute "
                     f"oncology or MSCC team for an MRI of the whole spine {MRI_PAIN_TEXT} (NICE NG234 2023; QS56 "
                     "statement 2). Radicular pain, limb weakness, difficulty walking, numbness or bladder or bowel "
                     f"change make it an emergency: MRI {MRI_NEURO_TEXT} (QS56 statement 3).")
    if flags.cancer:
        steps.append("Cancer history with back or radicular pain raises the suspicion of spinal metastasis: examine, "
                     "ask about night pain and weight loss; pain suggestive of spinal metastasis needs an MRI of the "
                     f"whole spine {MRI_PAIN_TEXT} (NICE QS56 statement 2; ACR 2021, variant 7); new weakness, "
                     f"numbness or bladder or bowel change means an emergency referral, MRI {MRI_NEURO_TEXT}.")
    if flags.infection:
        steps.append("Spinal infection on record with back or radicular pain: assess the same day - is it being "
                     "treated (temperature, CRP, the treating team)? New or worsening weakness, numbness or bladder or "
                     "bowel change suggests an epidural abscess or cord/cauda equina compression - an emergency "
                     "same-day referral for MRI (ACR 2021, variant 7).")
    if flags.ask:
        steps.append("Ask today about the findings listed above: new saddle numbness, new bladder or bowel dysfunction "
                     "or sciatica in both legs is an emergency - immediate referral for an MRI within hours (GIRFT "
                     "2023).")
    return steps


@dataclass(frozen=True)
class Finding:
    diagnoses: tuple[ConditionMatch, ...]
    skipped_stenosis: int
    cauda_equina: tuple[ConditionMatch, ...] = ()
    flags: RedFlags = NO_FLAGS  # counted only with spinal pain on record
    back_pain: tuple[ConditionMatch, ...] = ()  # back pain, or a lumbar stenosis anchoring a red flag

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(KIND[d.valueset] for d in self.diagnoses))

    @property
    def radicular(self) -> tuple[ConditionMatch, ...]:
        return tuple(d for d in self.diagnoses if d.valueset in RADICULAR)

    @property
    def spinal(self) -> bool:
        """Spinal pain on record: radicular pain, a cauda equina syndrome, back pain (or stenosis with a red flag)."""
        return bool(self.cauda_equina or self.radicular or self.back_pain)

    @property
    def neuro(self) -> bool:
        """Radicular pain, a cauda equina syndrome or a new cauda equina red flag: neurological symptoms, which make a
        bone metastasis a suspected metastatic spinal cord compression."""
        return bool(self.cauda_equina or self.radicular or self.flags.emergency)


def carries_red_flags(finding: Finding) -> bool:
    """Whether this card shows the spinal red flags: with spinal pain on record (a peroneal or tarsal tunnel
    entrapment alone is not back pain)."""
    return finding.spinal


def kind_of(finding: Finding) -> CardKind:
    """Actionable for the emergencies (cauda equina syndrome, possible metastatic cord compression), the red flags on
    record with spinal pain and a cauda equina finding to ask about; a nerve diagnosis alone is a possible cause."""
    return (CardKind.ACTIONABLE if finding.cauda_equina or finding.flags or finding.flags.ask
            else CardKind.POSSIBLE_CAUSE)


def indicator_of(finding: Finding) -> Indicator:
    """Critical: a cauda equina syndrome, a new cauda equina red flag, a bone metastasis with neurological symptoms.
    Warning: another red flag on record, or a cauda equina finding to ask about. Info: a nerve diagnosis alone."""
    flags = finding.flags
    if finding.cauda_equina or flags.emergency or (flags.metastases and finding.neuro):
        return Indicator.CRITICAL
    if flags or flags.ask:
        return Indicator.WARNING
    return Indicator.INFO


def _applies(facts: PatientFacts) -> Finding | None:
    stenosis_matches = stenosis_conditions(facts)
    stenosis = {condition_key(c) for c in stenosis_matches}
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
    diagnoses = tuple(found.values())
    radicular = any(d.valueset in RADICULAR for d in diagnoses) or bool(cauda_equina)
    back_pain = tuple(m for m in facts.conditions(BACK_PAIN) if condition_key(m) not in found)
    flags = red_flags(facts)
    if not radicular and not back_pain:
        # A lumbar stenosis anchors a bone metastasis or a cauda equina red flag here (one emergency card); a cancer
        # history or spinal infection with stenosis alone stays on the stenosis card.
        back_pain = stenosis_matches if stenosis_matches and (flags.metastases or flags.emergency) else ()
    if not radicular and not back_pain:
        flags = NO_FLAGS
    if not diagnoses and not cauda_equina and not flags:
        return None  # back pain alone, or with only a finding to ask about: no card
    return Finding(diagnoses, skipped, tuple(cauda_equina), flags, tuple(back_pain))


def _short(match: ConditionMatch, limit: int = 48) -> str:
    """A diagnosis for a summary: its text (shortened) and code."""
    text = match.display if len(match.display) <= limit else match.display[: limit - 3].rstrip(" ,;-") + "..."
    return f"{text} ({match.code})" if match.code and match.code not in text else text


def _fit(*candidates: str) -> str:
    """The first summary under the 140-character limit (the last one is short by construction)."""
    return next((c for c in candidates if len(c) < 140), candidates[-1])


def _summary(finding: Finding) -> str:
    if finding.cauda_equina:
        ces = finding.cauda_equina[0]
        code = f" ({ces.code})" if ces.code else ""
        return (f"Cauda equina syndrome{code} on record: an emergency if new or worsening - immediate referral, "
                "emergency MRI within hours")
    flags = finding.flags
    first = (finding.radicular + finding.back_pain + finding.diagnoses)[0]
    if flags.emergency:
        sign = _short(flags.emergency[0].match, 40)
        return _fit(f"Possible cauda equina syndrome: {sign} with {_short(first, 36)} - emergency MRI within hours",
                    f"Possible cauda equina syndrome: {sign} with back or radicular pain - emergency MRI within hours")
    if flags.metastases:
        met = f"bone metastasis ({flags.metastases[0].code})" if flags.metastases[0].code else "bone metastasis"
        if finding.neuro:
            return _fit(f"Possible metastatic spinal cord compression: {met} with {_short(first, 36)} - MRI "
                        f"{MRI_NEURO_TEXT}",
                        f"Possible metastatic spinal cord compression: {met} with radicular pain - MRI "
                        f"{MRI_NEURO_TEXT}")
        return _fit(f"{_short(first, 40)} with {met}: suspected spinal metastasis - whole-spine MRI {MRI_PAIN_TEXT}",
                    f"Back pain with {met}: suspected spinal metastasis - whole-spine MRI {MRI_PAIN_TEXT}")
    code = f" ({first.code})" if first.code else ""
    if flags.cancer:
        other = flags.cancer[0]
        return (f"{first.display}{code} with a cancer history ({other.code or other.display}): red flag for spinal "
                "metastasis - ask about night pain, consider MRI")
    if flags.infection:
        other = flags.infection[0]
        return (f"{first.display}{code} with a spinal infection ({other.code or other.display}): red flag - assess "
                "today, treatment and new deficits")
    if flags.ask:
        return _fit(f"{_short(first, 40)} with {_short(flags.ask[0].match, 40)}: ask about cauda equina symptoms - "
                    "emergency if new",
                    f"{_short(first, 40)}: a cauda equina finding on record - ask about it today, emergency if new")
    first = finding.diagnoses[0]
    code = f" ({first.code})" if first.code else ""
    return (f"Nerve compression: {first.display}{code}"
            + (f" and {len(finding.diagnoses) - 1} more" if len(finding.diagnoses) > 1 else "")
            + " - radicular or entrapment pain can worsen at night")


def _card(finding: Finding, facts: PatientFacts) -> Card:
    slugs = {d.valueset for d in finding.diagnoses}
    radicular = finding.spinal
    indicator = indicator_of(finding)
    flags = finding.flags
    parts = []
    if flags.emergency and not finding.cauda_equina:
        parts.append("**Emergency - possible cauda equina syndrome:** " + ", ".join(
            s.match.display for s in flags.emergency) + " recorded with back or radicular pain. Urinary retention, "
            "saddle anaesthesia, new incontinence or sciatica in both legs with back or radicular pain is suspected "
            "cauda equina syndrome, a spinal surgical emergency: refer immediately to hospital for an emergency MRI "
            "within hours and spinal surgical review (GIRFT 2023; NICE CKS). Physical therapy and routine imaging are "
            "not the next step.")
    if flags.metastases and finding.neuro:
        parts.append("**Oncological emergency - possible metastatic spinal cord compression:** a known bone "
                     "metastasis with radicular pain or a cauda equina red flag. Contact the acute oncology or MSCC "
                     f"team now: MRI of the whole spine {MRI_NEURO_TEXT} (NICE NG234 2023; QS56 statement 3).")
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
    if finding.back_pain:
        parts.append(card_text.bullets("Back pain on record", (card_text.condition_line(b, facts.now)
                                                               for b in finding.back_pain)))
    if radicular:
        parts += red_flag_parts(finding.flags, facts.now, ask_ces=not (finding.cauda_equina or flags.emergency))
    if finding.skipped_stenosis:
        # An actionable card (emergency, red flags) shows where the stenosis card - then a possible cause, which
        # defers to this one - may be withheld: name the stenosis without pointing to its card.
        where = ("shown on its own card (see the *Lumbar spinal stenosis* card)"
                 if kind_of(finding) is CardKind.POSSIBLE_CAUSE else "also on the problem list")
        parts.append(card_text.bullets("Related", [f"Lumbar spinal stenosis is {where}, not counted here."]))
    steps: list[str] = []
    suggestions = []
    if finding.cauda_equina:
        steps.append("Cauda equina syndrome, new or worsening: immediate referral to the emergency department or the "
                     "on-call spinal team for an emergency MRI within hours (GIRFT 2023) - do not wait for a routine "
                     "appointment.")
    # A coded cauda equina syndrome already has its emergency step: the red flags add no second one.
    step_flags = (replace(flags, signs=tuple(s for s in flags.signs if not s.emergency)) if finding.cauda_equina
                  else flags)
    steps += red_flag_steps(step_flags, neuro=finding.neuro)
    if slugs & set(RADICULAR) and not finding.cauda_equina and not finding.flags and not finding.flags.ask:
        steps.append("Radicular pain without red flags: no routine imaging; exercise, physical therapy and "
                     "time (ACP 2017, NASS 2012).")
        suggestions.append(card_text.order_suggestion("Refer to physical therapy", facts.patient_id,
                                                      card_text.lab_orders("physical-therapy"),
                                                      reason="Lumbar radicular pain"))
    if slugs & set(PERIPHERAL) and indicator is not Indicator.CRITICAL:
        # On an emergency card the routine work-up waits: no EMG order beside "refer immediately".
        steps.append("Peroneal or tarsal tunnel entrapment: examine for foot drop and sensory loss; EMG and nerve "
                     "conduction studies confirm the site.")
        suggestions.append(card_text.order_suggestion("Order EMG and nerve conduction study", facts.patient_id,
                                                      card_text.lab_orders("emg-ncs"),
                                                      reason="Suspected peripheral nerve entrapment"))
    parts.append(card_text.bullets("Next steps", steps))
    keys: tuple[str, ...]
    if finding.cauda_equina or flags.emergency:
        keys = ("girft-ces-2023", "acr-lbp-2021")
    elif flags.metastases:
        keys = ("nice-ng234-2023", "nice-qs56-2023")
    elif flags:
        keys = ("nice-ng59-2016", "acr-lbp-2021")
    elif flags.ask:
        keys = ("girft-ces-2023", "nice-cks-sciatica")
    else:
        keys = ("nass-disc-2012", "acp-lbp-2017")
    if flags.metastases or flags.cancer:
        keys += tuple(k for k in ("nice-ng234-2023", "nice-qs56-2023") if k not in keys)
    if radicular:
        keys += tuple(k for k in ("girft-ces-2023", "nice-ng59-2016", "nice-cks-sciatica") if k not in keys)
    return replace(card_text.make_card(rule=RULE, indicator=indicator, summary_text=_summary(finding),
                                       detail="\n\n".join(p for p in parts if p), guideline_keys=keys,
                                       suggestions=suggestions, facts=facts),
                   kind=kind_of(finding))


RULE = Rule(
    id="nerve-compression", version="1.3.0", topic=Topic.NERVE_COMPRESSION, hooks=frozenset({PATIENT_VIEW}),
    needs=("patient", "conditions"), applies=_applies, card=_card,
    valuesets=RADICULAR + PERIPHERAL + (CAUDA_EQUINA, CANCER, INFECTION, BACK_PAIN, METASTASES, CES_RED_FLAGS,
                                        INCONTINENCE, SKIN_ANAESTHESIA),
    summary="Sciatica/radiculopathy, disc herniation, peroneal neuropathy or tarsal tunnel (info); cauda equina "
            "syndrome, possible CES or metastatic cord compression (critical); spinal red flags with back pain "
            "(warning).",
    fires_when="active diagnosis in one of the four nerve value sets (code, or text as a last resort), other than a "
               "Condition that is a lumbar stenosis code; an active cauda equina syndrome (critical: emergency); or "
               "back or radicular pain (a lumbar stenosis for a bone metastasis or cauda equina red flag) with a red "
               "flag on record: urinary retention, saddle anaesthesia, bilateral sciatica or new incontinence "
               "(critical: possible cauda equina syndrome), a bone metastasis (critical with radicular pain or a "
               "cauda equina red flag: possible metastatic cord compression; else warning), a cancer history or a "
               "spinal infection (warning). Warning too for radicular pain with incontinence not known to be new or "
               "anaesthesia of skin (asked about)",
    quiet_when="no such active diagnosis; a lumbar stenosis Condition counts on the spinal-stenosis card only; a "
               "cancer history, bone metastasis, spinal infection or cauda equina red flag without back or radicular "
               "pain; back pain alone (or with only incontinence not recorded recently or anaesthesia of skin)",
    advice="Cauda equina syndrome (coded, or urinary retention, saddle anaesthesia, new incontinence or bilateral "
           "sciatica with back or radicular pain) is an emergency: immediate referral for an emergency MRI within "
           "hours and spinal surgical review, no physical therapy suggestion. A known bone metastasis with back pain: "
           f"whole-spine MRI {MRI_PAIN_TEXT}; with radicular pain or a cauda equina red flag: oncological emergency, "
           f"MRI {MRI_NEURO_TEXT}. Ask about cancer and infection red flags (non-mechanical night pain, weight loss, "
           "fever, immunosuppression, IV drug use); with a cancer history on record, whole-spine MRI when pain "
           "suggests spinal metastasis; with a spinal infection, same-day assessment; an emergency referral for any "
           "new deficit. Radicular pain without red flags: no routine imaging, exercise and physical therapy; "
           "peroneal or tarsal tunnel entrapment: EMG and nerve conduction studies (not on an emergency card).",
    actionable_when="an active cauda equina syndrome or a new cauda equina red flag with spinal pain (critical), a "
                    "bone metastasis, cancer history or spinal infection with back or radicular pain (red flags), or "
                    "radicular pain with a cauda equina finding to ask about",
    possible_cause_when="a nerve diagnosis alone: sciatica, lumbar radiculopathy, disc herniation, peroneal neuropathy "
                        "or tarsal tunnel syndrome without red flags on record",
    references=("girft-ces-2023", "nice-ng234-2023", "nice-qs56-2023", "acr-lbp-2021", "nice-ng59-2016",
                "nice-cks-sciatica", "nass-disc-2012", "acp-lbp-2017"),
)
