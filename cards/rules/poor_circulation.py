"""Poor circulation: chronic venous disease (venous insufficiency, varicose veins, post-thrombotic syndrome) or
diabetic neuropathy; compression advice only after the ABI says it is safe.

Fires when: an active diagnosis of chronic venous insufficiency (I87.2), varicose veins of the legs (the ICD-10-CM
  I83 codes of the value set, painful I83.81x, with ulcer I83.0x / I83.2x and I83.9x included), post-thrombotic
  syndrome (I87.0x), a venous leg ulcer (cond-venous-ulcer: I83.0x, I83.2x, I87.01x, I87.03x, or its text), or diabetic
  neuropathy (SNOMED CT / E10.4x, E11.4x, E13.4x and related codes) - by code or, last resort, by text when the
  Condition has no ICD-10-CM or SNOMED CT coding. Info.
Compression safety (venous disease): the ABI readings of the PAD card (latest per leg, cards/rules/
  peripheral_artery_disease.abi_by_leg) are checked first. The lowest compressible leg below the compression cut-off
  (any age): avoid compression and refer; from that cut-off up to the PAD cut-off ({pad.abi-abnormal}): reduced
  compression only after vascular specialist assessment; a noncompressible leg ({pad.abi-noncompressible}): toe
  pressures before compressing; no ABI within the ABI window with a venous leg ulcer (every venous leg ulcer needs an
  ABI, SVS/AVF 2014) or in a patient with PAD or diabetes on record: measure the ABI before compressing (a resting ABI
  suggested). Only otherwise does the card advise compression and leg elevation. Avoided or reduced compression also
  suggests a referral to vascular surgery, unless the PAD card is critical and already offers the urgent one.
Notes (only when the data are present): with diabetic neuropathy, the latest HbA1c and vitamin B12 within the note
  window; HbA1c against the usual individual goal ({circulation.hba1c-target} for many adults, ADA 2025 section 6), B12
  against the BSH 2014 cut-off; a low B12 gets a step to replace it (on metformin: ADA 2025 section 9). Painful
  neuropathy: the first-line drug classes are named (ADA 2025 section 12).
Quiet when: none of these diagnoses is active.
Also says: venous pain eases with elevation while arterial rest pain worsens with it (see the PAD card when PAD is
  on record and that card shows whenever this one does).
Kind: actionable when a measured value on the card calls for action - venous disease with an ABI {pad.abi-abnormal}
  (compression contraindicated or only reduced), or diabetic neuropathy with a low vitamin B12; the diagnoses alone
  (with an ABI, toe pressures, B12 or HbA1c suggested, or an HbA1c above goal) are a possible cause.
Needs: conditions, observations (HbA1c, B12, ABI), medications (metformin).
References: SVS/AVF/AVLS varicose vein guideline 2022 (duplex ultrasound, compression); SVS/AVF venous leg ulcer
  guideline 2014 (ABI in every patient with a venous leg ulcer, Grade 1B); international consensus on
  compression risks and contraindications 2020 (severe PAD contraindicates compression); 2016 AHA/ACC PAD guideline
  3.1-3.2; ADA Standards of Care 2025, sections 6 (glycaemic goals), 9 (metformin and vitamin B12) and 12
  (neuropathy screening, foot care, treatment of painful neuropathy); BSH cobalamin and folate guideline 2014.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from cards import card_text
from cards.facts import ConditionMatch, LabResult, MedicationUse, PatientFacts
from cards.knowledge import threshold
from cards.model import Card, CardKind, Indicator, Suggestion
from cards.rule import PATIENT_VIEW, Rule
from cards.rules import peripheral_artery_disease as pad
from cards.topics import Topic

NOTE_WINDOW = threshold("circulation.lab-lookback")
NOTE_LOOKBACK = NOTE_WINDOW.days
WINDOW_TEXT = f"{NOTE_WINDOW.value * 12 / 365:g} months"
HBA1C_TARGET = threshold("circulation.hba1c-target")
B12_LOW = threshold("circulation.b12-low")
COMPRESSION_AVOID = threshold("circulation.compression-abi-avoid")

VENOUS = ("cond-venous-insufficiency", "cond-varicose-veins", "cond-post-thrombotic-syndrome")
VENOUS_ULCER = "cond-venous-ulcer"  # venous disease with an ulcer (I83.0x, I83.2x, I87.01x, I87.03x; text)
NEUROPATHY = "cond-diabetic-neuropathy"
DIABETES = "cond-diabetes"
METFORMIN = "metformin"  # ingredient name (terminology/data/drugs)

AVOID, REDUCED, TOE_PRESSURE, CONFIRM_ABI, USUAL = "avoid", "reduced", "toe-pressure", "confirm-abi", "usual"


@dataclass(frozen=True)
class Finding:
    venous: tuple[ConditionMatch, ...]
    neuropathy: tuple[ConditionMatch, ...]
    hba1c: LabResult | None
    b12: LabResult | None
    pad_on_record: bool
    compression: str = USUAL  # AVOID / REDUCED / TOE_PRESSURE / CONFIRM_ABI / USUAL (venous disease only)
    abi: LabResult | None = None  # the ABI that decided the compression advice
    risk: str = ""  # why the ABI must be known ("PAD", "diabetes") when it is not
    metformin: tuple[MedicationUse, ...] = ()
    ulcer: tuple[ConditionMatch, ...] = ()  # venous leg ulcers on record: an ABI before any compression


def abi_text(value: float) -> str:
    return pad.abi_text(value)


AVOID_CUT = f"{COMPRESSION_AVOID.compare} {abi_text(COMPRESSION_AVOID.value)}"
PAD_CUT = f"{pad.ABNORMAL.compare} {abi_text(pad.ABNORMAL.value)}"


def compression_advice(facts: PatientFacts, neuropathy: bool, ulcer: bool = False) -> tuple[str, LabResult | None,
                                                                                          str]:
    """What the ABI says about compression: (advice, the deciding ABI, the risk that makes a missing ABI matter).

    A venous leg ulcer needs an ABI before compression whatever else is on record (SVS/AVF 2014: ABI in every
    patient with a venous leg ulcer), so with an ulcer and no current ABI the advice is to measure it first."""
    readings = pad.abi_by_leg(facts)
    lowest = pad.worst_compressible(facts, readings)
    if lowest is not None and COMPRESSION_AVOID.met(lowest.value):
        return AVOID, lowest, ""
    if lowest is not None and pad.ABNORMAL.met(lowest.value):
        return REDUCED, lowest, ""
    current = [r for r in readings if not pad.is_old(r, facts)]
    high = [r for r in current if pad.NONCOMPRESSIBLE.met(r.value)]
    if high:
        return TOE_PRESSURE, high[0], ""
    if any(not pad.NONCOMPRESSIBLE.met(r.value) for r in current):
        return USUAL, None, ""
    risks = ["ulcer"] if ulcer else []
    if any(facts.conditions(vs) for vs in pad.PAD_VALUESETS + (pad.CLTI_VALUESET, pad.GANGRENE_VALUESET)):
        risks.append("PAD")
    elif neuropathy or facts.conditions(DIABETES):
        risks.append("diabetes")
    if risks:
        return CONFIRM_ABI, None, ", ".join(risks)
    return USUAL, None, ""


def _applies(facts: PatientFacts) -> Finding | None:
    ulcer = tuple(facts.conditions(VENOUS_ULCER))
    # one entry per Condition: a varicose vein with ulcer is in both the varicose-vein and the venous-ulcer sets
    venous = tuple({(c.condition_id, c.code, c.display): c
                    for vs in VENOUS + (VENOUS_ULCER,) for c in facts.conditions(vs)}.values())
    neuropathy = tuple(facts.conditions(NEUROPATHY))
    if not venous and not neuropathy:
        return None
    hba1c = facts.latest("hba1c", NOTE_LOOKBACK) if neuropathy else None
    b12 = facts.latest("b12", NOTE_LOOKBACK) if neuropathy else None
    advice, abi, risk = compression_advice(facts, bool(neuropathy), bool(ulcer)) if venous else (USUAL, None, "")
    metformin = tuple(facts.medications(ingredient=METFORMIN)) if neuropathy else ()
    return Finding(venous, neuropathy, hba1c, b12, pad.RULE.applies(facts) is not None, advice, abi, risk,
                   metformin, ulcer)


def b12_low(finding: Finding) -> bool:
    """Vitamin B12 below the BSH 2014 cut-off (read only with diabetic neuropathy)."""
    return finding.b12 is not None and B12_LOW.met(finding.b12.value_in("pg/mL"))


def kind_of(finding: Finding) -> CardKind:
    """Actionable when a measured abnormal value on the card changes what to do: an ABI in the PAD range makes
    compression of venous disease contraindicated (< 0.60) or reduced-only (<= 0.90), whether or not the legs hurt
    today; a low B12 is a deficiency to replace. The diagnoses alone are possible causes, and so are a noncompressible
    ABI or a missing one (toe pressures or an ABI before compressing: a work-up step) and an HbA1c above the usual goal
    (glycaemic care, followed elsewhere)."""
    if finding.compression in (AVOID, REDUCED) or b12_low(finding):
        return CardKind.ACTIONABLE
    return CardKind.POSSIBLE_CAUSE


def _abi_phrase(abi: LabResult | None) -> str:
    if abi is None:  # avoid/reduced are only decided from a measured ABI; said plainly should that ever change
        return "ABI not measured"
    side = f" {abi.side}" if abi.side else ""
    return f"ABI{side} {abi_text(abi.value)}"


def _what(finding: Finding) -> str:
    return "venous leg ulcer" if finding.ulcer else "venous leg pain"


def _also(finding: Finding) -> str:
    """PAD or diabetes on record beside the ulcer (" (diabetes)"), or nothing."""
    others = [r for r in finding.risk.split(", ") if r and r != "ulcer"]
    return f" ({', '.join(others)})" if others else ""


SUMMARY_TAIL: dict[str, Callable[[Finding], str]] = {
    AVOID: lambda f: f"{_what(f)} - avoid compression ({_abi_phrase(f.abi)}, severe PAD)",
    REDUCED: lambda f: f"{_what(f)} - compression only after vascular advice ({_abi_phrase(f.abi)})",
    TOE_PRESSURE: lambda f: f"{_what(f)} - toe pressures before any compression (noncompressible ABI)",
    CONFIRM_ABI: lambda f: (f"venous leg ulcer - measure the ABI before any compression{_also(f)}" if f.ulcer
                            else f"venous leg pain - confirm the ABI before compression ({f.risk})"),
    USUAL: lambda f: ("venous leg ulcer - compression and elevation (ABI allows compression)" if f.ulcer
                      else "venous leg pain, eased by elevation and compression"),
}


def _summary(finding: Finding) -> str:
    names = [c.display for c in finding.venous + finding.neuropathy]
    first = (finding.venous + finding.neuropathy)[0]
    code = f" ({first.code})" if first.code else ""
    more = f" and {len(names) - 1} more" if len(names) > 1 else ""
    if finding.venous:
        tail = SUMMARY_TAIL[finding.compression](finding)
        text = f"{first.display}{code}{more}: {tail}"
        if len(text) > card_text.MAX_SUMMARY:  # keep the compression advice visible: shorten the diagnosis
            room = card_text.MAX_SUMMARY - len(tail) - len(code + more) - 5
            text = f"{first.display[:max(room, 10)].rstrip()}...{code}{more}: {tail}"
        return text
    return f"{first.display}{code}{more}: burning or tingling legs, worse at night"


def _compression_step(finding: Finding) -> str:
    abi = finding.abi
    when = f" ({abi.day.isoformat()})" if abi is not None else ""
    if finding.compression == AVOID and abi is not None:
        return (f"**Avoid compression** (stockings or bandaging): {_abi_phrase(abi)}{when} is {AVOID_CUT} - severe "
                "PAD, in which compression can cause skin necrosis and limb ischaemia (international consensus "
                "2020). Refer to a vascular specialist; venous treatment is decided once the arterial disease is "
                "assessed.")
    if finding.compression == REDUCED and abi is not None:
        return (f"No standard compression: {_abi_phrase(abi)}{when} shows PAD ({PAD_CUT}). Reduced (modified) "
                "compression only after vascular specialist assessment and under supervision (international "
                "consensus 2020).")
    if finding.compression == TOE_PRESSURE:
        return (f"Noncompressible ABI ({pad.NONCOMPRESSIBLE.compare} {abi_text(pad.NONCOMPRESSIBLE.value)}) cannot "
                "exclude PAD: measure toe pressures or a toe-brachial index before any compression (2016 AHA/ACC "
                "3.2; international consensus 2020).")
    if finding.compression == CONFIRM_ABI:
        if finding.ulcer:
            also = _also(finding).strip(" ()")
            return (f"Venous leg ulcer{f' ({also} on record too)' if also else ''} and no ABI in the last "
                    f"{pad.WINDOW_TEXT}: measure the ABI before prescribing compression - every patient with a venous "
                    "leg ulcer needs an ABI (SVS/AVF 2014), and compression is unsafe in severe PAD (ABI "
                    f"{AVOID_CUT}, international consensus 2020). Leg elevation meanwhile; no compression until the "
                    "ABI is known.")
        return (f"{'PAD' if finding.risk == 'PAD' else 'Diabetes'} on record and no ABI in the last "
                f"{pad.WINDOW_TEXT}: measure the ABI before prescribing compression - compression is unsafe in "
                f"severe PAD (ABI {AVOID_CUT}, international consensus 2020). Leg elevation meanwhile.")
    return "Compression and leg elevation (SVS/AVF/AVLS 2022)."


def _hba1c_assessment(value: float) -> str:
    goal = f"{HBA1C_TARGET.compare} {HBA1C_TARGET.value:g}%"
    if HBA1C_TARGET.met(value):
        return f"at the usual goal ({goal} for many adults, ADA 2025 section 6; the goal is individual)"
    return (f"above the usual goal ({goal} for many adults, ADA 2025 section 6): better glucose management slows "
            "neuropathy progression")


def _card(finding: Finding, facts: PatientFacts) -> Card:
    parts = [card_text.bullets("Diagnoses", (card_text.condition_line(c, facts.now)
                                             for c in finding.venous + finding.neuropathy))]
    steps: list[str] = []
    suggestions: list[Suggestion] = []
    related: list[str] = []
    keys: list[str] = []
    if finding.venous:
        eased = ("leg elevation and compression" if finding.compression == USUAL
                 else "leg elevation (compression only once the arteries allow it)")
        parts.insert(0, "Chronic venous disease (venous insufficiency, varicose veins, post-thrombotic syndrome) "
                        f"causes aching, heaviness and night cramps, worse after standing and eased by {eased}.")
        if finding.abi is not None and finding.compression in (AVOID, REDUCED, TOE_PRESSURE):
            parts.append(card_text.lab_table([(finding.abi, f"{pad.NORMAL_RANGE} (2016 AHA/ACC)",
                                               pad._assessment(finding.abi.value)
                                               + ("; over 12 months old" if pad.is_old(finding.abi, facts) else ""))],
                                             facts.now))
        steps.append(_compression_step(finding))
        steps.append("Venous duplex ultrasound if not done (SVS/AVF/AVLS 2022).")
        suggestions.append(card_text.order_suggestion("Order venous duplex ultrasound", facts.patient_id,
                                                      card_text.lab_orders("venous-duplex"),
                                                      reason="Chronic venous disease of the legs"))
        if finding.compression == CONFIRM_ABI:
            suggestions.insert(0, card_text.order_suggestion("Order resting ankle-brachial index", facts.patient_id,
                                                             card_text.lab_orders("abi"),
                                                             reason=("Venous leg ulcer: ABI before compression"
                                                                     if finding.ulcer
                                                                     else "ABI before compression therapy"),
                                                             recommended=True))
        if finding.compression in (AVOID, REDUCED) and not pad.offers_urgent_referral(facts):
            # The step says to refer; a critical PAD card on the chart already offers the (urgent) referral.
            suggestions.insert(0, card_text.referral_suggestion(
                "Refer to vascular surgery before any compression", facts.patient_id, "vascular-surgeon",
                reason=f"Chronic venous disease with PAD ({_abi_phrase(finding.abi)}): compression "
                       + ("contraindicated" if finding.compression == AVOID else "only after specialist assessment")
                if finding.abi is not None else "Chronic venous disease with PAD", recommended=True))
        # Point to the PAD card only where it shows whenever this card does (it actionable, or both possible causes).
        see = finding.pad_on_record and (kind_of(finding) is CardKind.POSSIBLE_CAUSE
                                         or pad.card_kind(facts) is CardKind.ACTIONABLE)
        related.append("Venous pain eases with elevation; arterial rest pain worsens with it"
                       + (" (see the *Peripheral artery disease* card)." if see else "."))
        keys.append("svs-venous-2022")
        if finding.ulcer and finding.compression == CONFIRM_ABI:
            keys.append("svs-avf-vlu-2014")
        if finding.compression != USUAL:
            keys += ["rabe-compression-2020", "aha-acc-pad-2016"]
    if finding.neuropathy:
        parts.insert(1 if finding.venous else 0, "Diabetic neuropathy causes burning, tingling or numb feet and "
                                                  "legs, typically worse at night.")
        rows = []
        if finding.hba1c is not None:
            rows.append((finding.hba1c, "-", _hba1c_assessment(finding.hba1c.value_in("%"))))
        low_b12 = b12_low(finding)
        if finding.b12 is not None:
            rows.append((finding.b12, card_text.range_text(finding.b12, (B12_LOW.value, None)),
                         f"low (< {B12_LOW.value:g} pg/mL, BSH 2014): B12 deficiency also causes neuropathy"
                         if low_b12 else "adequate"))
        if rows:
            parts.append(card_text.lab_table(rows, facts.now))
        if finding.metformin:
            parts.append(card_text.bullets("Medications", (card_text.medication_line(m, facts.now).removeprefix("- ")
                                                           for m in finding.metformin)))
        steps.append("Annual 10-g monofilament plus one other sensory test; foot care; glycaemic control "
                     "(ADA 2025, section 12).")
        if finding.hba1c is not None and not HBA1C_TARGET.met(finding.hba1c.value_in("%")):
            steps.append(f"HbA1c {finding.hba1c.value_in('%'):g}% is above the usual goal "
                         f"({HBA1C_TARGET.compare} {HBA1C_TARGET.value:g}% for many adults): agree the patient's own "
                         "goal and intensify glucose management - it slows the progression of neuropathy "
                         "(ADA 2025, sections 6 and 12).")
        if low_b12 and finding.b12 is not None:
            cause = ("on metformin, which lowers B12: keep checking B12 while metformin continues (ADA 2025, "
                     "section 9)" if finding.metformin else "find its cause")
            steps.append(f"Vitamin B12 {card_text.value_text(finding.b12)} ({finding.b12.day.isoformat()}) is low: "
                         "replace vitamin B12 (intramuscular hydroxocobalamin when there are neurological features, "
                         f"BSH 2014); {cause}.")
        steps.append("Painful neuropathy: first-line drugs are gabapentinoids (pregabalin, gabapentin), SNRIs "
                     "(duloxetine, venlafaxine), tricyclic antidepressants (amitriptyline) or sodium-channel "
                     "blockers (ADA 2025, section 12).")
        if finding.b12 is None:
            why = " (on metformin: check it periodically, ADA 2025 section 9)" if finding.metformin else ""
            steps.append(f"No vitamin B12 in {WINDOW_TEXT}: B12 deficiency is a treatable cause of neuropathy{why}.")
            suggestions.append(card_text.order_suggestion("Order vitamin B12", facts.patient_id,
                                                          card_text.lab_orders("b12"),
                                                          reason="Peripheral neuropathy"))
        if finding.hba1c is None:
            suggestions.append(card_text.order_suggestion("Order HbA1c", facts.patient_id,
                                                          card_text.lab_orders("hba1c"),
                                                          reason="Diabetic neuropathy: glycaemic control"))
        related.append("Neuropathy can mimic or cause restless legs.")
        keys.append("ada-2025")
        if finding.b12 is not None:
            keys.append("bsh-cobalamin-2014")
    if related:
        parts.append(card_text.bullets("Related", related))
    parts.append(card_text.bullets("Next steps", steps))
    return replace(card_text.make_card(rule=RULE, indicator=Indicator.INFO, summary_text=_summary(finding),
                                       detail="\n\n".join(p for p in parts if p),
                                       guideline_keys=tuple(dict.fromkeys(keys)), suggestions=suggestions,
                                       facts=facts),
                   kind=kind_of(finding))


RULE = Rule(
    id="poor-circulation", version="1.4.0", topic=Topic.POOR_CIRCULATION, hooks=frozenset({PATIENT_VIEW}),
    needs=("patient", "observations", "conditions", "medications", "medicationRequests"), applies=_applies,
    card=_card, analytes=("hba1c", "b12", "abi"),
    valuesets=VENOUS + (VENOUS_ULCER, NEUROPATHY, DIABETES) + pad.PAD_VALUESETS
    + (pad.CLTI_VALUESET, pad.GANGRENE_VALUESET),
    summary="Active chronic venous disease (venous insufficiency, varicose veins, post-thrombotic syndrome) or "
            "diabetic neuropathy; info. Compression advice follows the ABI.",
    fires_when="active venous insufficiency, varicose veins (with ulcer included), post-thrombotic syndrome, venous "
               "leg ulcer or diabetic neuropathy diagnosis (code, or text as a last resort)",
    quiet_when="none of these diagnoses active; a Condition coded in ICD-10-CM or SNOMED CT outside the value sets "
               "does not match by its text",
    advice=f"Venous disease: venous duplex ultrasound if not done; compression and leg elevation only when the ABI "
           f"allows - avoid compression with an ABI {AVOID_CUT} on either leg and refer, reduced compression only "
           f"after vascular specialist advice with an ABI {PAD_CUT} (a vascular surgery referral suggested for both), "
           "toe pressures with a noncompressible ABI, and the ABI measured first when it is unknown with a venous leg "
           "ulcer (SVS/AVF 2014) or in a patient with PAD or diabetes. Diabetic neuropathy: annual "
           "10-g monofilament plus one other sensory test, foot care, glycaemic control against an individual goal "
           f"(usual {HBA1C_TARGET.compare} {HBA1C_TARGET.value:g}%); replace a low vitamin B12 (on metformin, check "
           "it periodically); first-line drugs for painful neuropathy (gabapentinoids, SNRIs, TCAs, sodium-channel "
           f"blockers); vitamin B12 and HbA1c when none exists within {WINDOW_TEXT}.",
    actionable_when=f"venous disease with an ABI {PAD_CUT} on either leg, current or old (compression avoided below "
                    f"{abi_text(COMPRESSION_AVOID.value)}, reduced only after vascular advice); diabetic neuropathy "
                    f"with vitamin B12 < {B12_LOW.value:g} pg/mL within {WINDOW_TEXT}",
    possible_cause_when="the venous or neuropathy diagnosis alone: compression advice, a noncompressible or missing "
                        "ABI (toe pressures or an ABI before compressing), B12 or HbA1c suggested, an HbA1c above "
                        "the usual goal",
    references=("svs-venous-2022", "svs-avf-vlu-2014", "rabe-compression-2020", "aha-acc-pad-2016", "ada-2025",
                "bsh-cobalamin-2014"),
)
