"""Peripheral artery disease: a low ankle-brachial index, a PAD diagnosis, or cilostazol with heart failure.

Fires when: the latest ABI of a leg is abnormal (warning; critical when severely reduced within the ABI window:
  rest pain with an ABI this low suggests chronic limb-threatening ischaemia), or borderline (info), or
  noncompressible (info: a toe-brachial index is needed); an abnormal ABI older than the ABI window is shown as old
  with the advice to repeat it (warning), never dropped; or an active PAD diagnosis (warning), or an ischaemic rest
  pain, ischaemic ulcer or gangrene diagnosis (critical, each named as what it is); or active cilostazol with a heart
  failure diagnosis (warning at least: contraindicated, boxed warning).
Quiet when: the latest ABI of each leg is normal (a newer normal ABI of a leg supersedes an older abnormal one of
  that leg) and there is no PAD diagnosis; or no ABI and no PAD diagnosis (and no cilostazol with heart failure).
ABI per leg: one Observation, one per leg (laterality in code or bodySite), or left/right components; the latest
  value of each leg counts, so a right-leg-only ABI weeks later does not hide an abnormal left leg. An ABI without a
  side describes the patient: it supersedes older readings of both legs. The worse (lower) compressible leg decides;
  a noncompressible leg is reported as such, never averaged.
With an abnormal ABI that is not severe, the card says that rest pain, a non-healing ulcer or gangrene still means
  CLTI (urgent vascular referral). The statin line agrees with the statin card: when that card advises stopping the
  statin (muscle injury), this card says so and to reconsider lipid therapy once CK has recovered.
Related: with lumbar spinal stenosis on the problem list, the card contrasts vascular and neurogenic claudication;
  with a venous leg ulcer beside an abnormal ABI, it asks for a vascular specialist's arterial evaluation and no
  standard compression (SVS/AVF 2014 venous leg ulcer guideline).
Suggestions: a critical card offers an urgent referral to vascular surgery (recommended; a draft ServiceRequest,
  SNOMED CT 307777008) and, only when no current ABI exists, an ABI with toe pressures that must not delay it (GVG
  2019: refer every suspected CLTI urgently; toe pressures are the preferred haemodynamic test). Other cards suggest a
  resting ABI when none is current, a toe-brachial index for a noncompressible ABI.
Kind: actionable for a measured abnormal ABI ({pad.abi-abnormal}, an old one included: PAD does not resolve), a
  rest-pain, ulcer or gangrene diagnosis, or cilostazol with heart failure; a PAD diagnosis without an abnormal ABI, a
  borderline or a noncompressible ABI (a TBI or exercise ABI for suspected PAD) is a possible cause.
Thresholds and windows: cards/knowledge/data/thresholds/pad.json (2016 AHA/ACC PAD guideline sections 3.1-3.2; WIfI
  ischaemia grade 3 as endorsed by the Global Vascular Guidelines 2019). ABI values are shown with two decimals, as the
  2016 guideline asks them to be recorded.
Needs: observations (ABI), conditions, medications (cilostazol; statins through the statin rule).
References: 2016 AHA/ACC PAD guideline, sections 3.1 (resting ABI categories) and 3.2 (TBI, exercise ABI); 2024
  ACC/AHA multisociety PAD guideline; Global Vascular Guidelines on CLTI 2019 (CLTI definition, urgent referral,
  WIfI staging); cilostazol US prescribing information (boxed warning, contraindications); 2018 AHA/ACC cholesterol
  guideline, section 5 (statin safety).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from cards import card_text
from cards.condition_sets import STENOSIS_VALUESETS, stenosis_conditions
from cards.facts import ConditionMatch, LabResult, MedicationUse, PatientFacts
from cards.knowledge import Threshold, threshold
from cards.model import Card, CardKind, Indicator, Suggestion
from cards.rule import PATIENT_VIEW, Rule
from cards.rules import statin_muscle_symptoms
from cards.topics import Topic

ABI_WINDOW = threshold("pad.abi-lookback")
LOOKBACK = ABI_WINDOW.days
WINDOW_TEXT = f"{ABI_WINDOW.value * 12 / 365:g} months"
HISTORY = threshold("pad.abi-history")
ABNORMAL = threshold("pad.abi-abnormal")
BELOW_NORMAL = threshold("pad.abi-normal-low")
NONCOMPRESSIBLE = threshold("pad.abi-noncompressible")
SEVERE = threshold("pad.abi-severe")
TBI_ABNORMAL = threshold("pad.tbi-abnormal")

PAD_VALUESETS = ("cond-pad", "cond-diabetic-angiopathy")
CLTI_VALUESET = "cond-clti-rest-pain"  # rest pain, ulcer and gangrene codes of lower-limb atherosclerosis
ULCER_VALUESET = "cond-pad-ulcer"
GANGRENE_VALUESET = "cond-pad-gangrene"
VENOUS_ULCER_VALUESET = "cond-venous-ulcer"  # a venous leg ulcer beside an abnormal ABI: refer (SVS/AVF 2014)
HEART_FAILURE_VALUESET = "cond-heart-failure"
CILOSTAZOL = "cilostazol"  # ingredient name (terminology/data/drugs): a PDE3 inhibitor


def abi_text(value: float) -> str:
    """An ABI as the 2016 AHA/ACC guideline records it: two decimals ("0.90")."""
    return f"{value:.2f}"


def _cut(item: Threshold) -> str:
    """A threshold as the card prints it ("<= 0.90")."""
    return f"{item.compare} {abi_text(item.value)}"


NORMAL_RANGE = f"{abi_text(BELOW_NORMAL.value)}-{abi_text(NONCOMPRESSIBLE.value)}"
BORDERLINE_RANGE = f"{abi_text(ABNORMAL.value + 0.01)}-{abi_text(BELOW_NORMAL.value - 0.01)}"
CLTI_KINDS = {"gangrene": "gangrene", "ulcer": "an ischaemic leg ulcer", "rest-pain": "ischaemic rest pain"}


@dataclass(frozen=True)
class Finding:
    worst: LabResult | None
    readings: tuple[LabResult, ...]
    noncompressible: tuple[LabResult, ...]
    diagnoses: tuple[ConditionMatch, ...]
    clti: tuple[ConditionMatch, ...]
    clti_kind: str | None = None  # "gangrene", "ulcer" or "rest-pain": the most severe CLTI presentation on record
    worst_old: bool = False  # the worst reading is older than the ABI window
    cilostazol: tuple[MedicationUse, ...] = ()  # active cilostazol with heart failure on record
    heart_failure: tuple[ConditionMatch, ...] = ()
    statin_stop: bool = False  # the statin card advises stopping the statin


def abi_by_leg(facts: PatientFacts) -> list[LabResult]:
    """The latest ABI of each leg within HISTORY, newest first (the ABI readings the PAD and compression advice use).

    A reading with a side supersedes older readings of that side only; a reading without a side describes the
    patient (usually the worse leg) and supersedes older readings of both sides. Readings without a side taken on the
    same day are all kept (one per leg whose side was not sent).
    """
    kept: list[LabResult] = []
    covered: set[str] = set()
    unsided_day = None
    for result in facts.results("abi", HISTORY.days):
        if result.side in ("left", "right"):
            if result.side in covered:
                continue
            covered.add(result.side)
        elif unsided_day is not None:
            if result.day != unsided_day:
                continue
        elif {"left", "right"} <= covered:
            continue
        else:
            unsided_day = result.day
            covered |= {"left", "right"}
        kept.append(result)
    return kept


def is_old(result: LabResult, facts: PatientFacts) -> bool:
    """Older than the ABI window: shown as old, with the advice to repeat the ABI."""
    return result.date < facts.now - LOOKBACK


def abi_readings(facts: PatientFacts) -> list[LabResult]:
    """The latest ABI of each leg, only those within the ABI window."""
    return [r for r in abi_by_leg(facts) if not is_old(r, facts)]


def worst_compressible(facts: PatientFacts, readings: list[LabResult]) -> LabResult | None:
    """The lowest compressible reading that counts: any within the window, and an abnormal one however old."""
    counted = [r for r in readings if not NONCOMPRESSIBLE.met(r.value) and (not is_old(r, facts)
                                                                            or ABNORMAL.met(r.value))]
    return min(counted, key=lambda r: r.value) if counted else None


def _key(match: ConditionMatch) -> tuple[str | None, str | None, str]:
    return match.condition_id, match.code, match.display


def _clti(facts: PatientFacts) -> tuple[tuple[ConditionMatch, ...], str | None]:
    """Rest pain, ulcer and gangrene diagnoses (one entry per Condition) and the most severe kind among them."""
    gangrene = {_key(c): c for c in facts.conditions(GANGRENE_VALUESET)}
    ulcer = {_key(c): c for c in facts.conditions(ULCER_VALUESET)}
    found = {_key(c): c for c in facts.conditions(CLTI_VALUESET)}
    found.update(gangrene)
    if not found:
        return (), None
    kind = "gangrene" if gangrene else ("ulcer" if set(ulcer) & set(found) else "rest-pain")
    return tuple(found.values()), kind


def _applies(facts: PatientFacts) -> Finding | None:
    readings = abi_by_leg(facts)
    noncompressible = tuple(r for r in readings if not is_old(r, facts) and NONCOMPRESSIBLE.met(r.value))
    worst = worst_compressible(facts, readings)
    diagnoses = tuple(c for vs in PAD_VALUESETS for c in facts.conditions(vs))
    clti, kind = _clti(facts)
    clti_keys = {_key(c) for c in clti}
    diagnoses = tuple(c for c in diagnoses if _key(c) not in clti_keys)
    cilostazol = tuple(facts.medications(ingredient=CILOSTAZOL))
    heart_failure = tuple(facts.conditions(HEART_FAILURE_VALUESET)) if cilostazol else ()
    abnormal = worst is not None and BELOW_NORMAL.met(worst.value)
    if not (abnormal or noncompressible or diagnoses or clti or heart_failure):
        return None
    shown = tuple(r for r in readings if not is_old(r, facts) or ABNORMAL.met(r.value))
    return Finding(worst if abnormal else None, shown, noncompressible, diagnoses, clti, kind,
                   worst is not None and abnormal and is_old(worst, facts), cilostazol if heart_failure else (),
                   heart_failure, statin_muscle_symptoms.stop_advised(facts))


def kind_of(finding: Finding) -> CardKind:
    """Actionable for a measured abnormal ABI, CLTI on the problem list and a contraindicated cilostazol. An abnormal
    ABI older than the window is still PAD that nobody has restaged (PAD does not resolve): actionable. A PAD code
    without an abnormal ABI (an ABI suggested), a borderline ABI (exercise ABI) or a noncompressible one (a TBI,
    which the 2016 guideline asks for in suspected PAD) is a possible cause."""
    abnormal_abi = finding.worst is not None and ABNORMAL.met(finding.worst.value)
    if abnormal_abi or finding.clti or finding.cilostazol:
        return CardKind.ACTIONABLE
    return CardKind.POSSIBLE_CAUSE


def card_kind(facts: PatientFacts) -> CardKind | None:
    """The kind of this chart's PAD card, None when it does not fire (for other cards' cross-references)."""
    finding = _applies(facts)
    return kind_of(finding) if finding is not None else None


def _grade(finding: Finding) -> Indicator:
    worst = finding.worst
    if finding.clti or (worst is not None and SEVERE.met(worst.value) and not finding.worst_old):
        return Indicator.CRITICAL
    if finding.diagnoses or finding.heart_failure or (worst is not None and ABNORMAL.met(worst.value)):
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


def offers_urgent_referral(facts: PatientFacts) -> bool:
    """True when this chart's PAD card is critical and so already offers the urgent vascular referral."""
    finding = _applies(facts)
    return finding is not None and _grade(finding) is Indicator.CRITICAL


def _critical_what(finding: Finding) -> str:
    """What makes the card critical: a current ABI below the severe cut-off, else the CLTI diagnosis."""
    worst = finding.worst
    if worst is not None and SEVERE.met(worst.value) and not finding.worst_old:
        side = f" {worst.side}" if worst.side else ""
        return f"ABI{side} {abi_text(worst.value)} ({worst.day.isoformat()})"
    return f"{CLTI_KINDS[finding.clti_kind or 'rest-pain']} on the problem list"


def _summary(finding: Finding, indicator: Indicator) -> str:
    worst = finding.worst
    side = f" {worst.side}" if worst is not None and worst.side else ""
    if indicator is Indicator.CRITICAL:
        return f"Possible limb-threatening ischaemia: {_critical_what(finding)} - urgent vascular referral"
    if finding.cilostazol:
        return "Cilostazol with heart failure on the problem list: contraindicated (boxed warning) - review and stop it"
    if worst is not None and finding.worst_old:
        return (f"ABI{side} {abi_text(worst.value)} ({worst.day.isoformat()}, over {WINDOW_TEXT} old): peripheral "
                "artery disease - repeat the ABI")
    if worst is not None and ABNORMAL.met(worst.value):
        return f"ABI{side} {abi_text(worst.value)} ({worst.day.isoformat()}): peripheral artery disease"
    if finding.diagnoses:
        return f"Peripheral artery disease on the problem list: {finding.diagnoses[0].display}"
    if worst is not None:
        return f"Borderline ABI{side} {abi_text(worst.value)} ({worst.day.isoformat()}): consider exercise ABI"
    nc = finding.noncompressible[0]
    return f"ABI {abi_text(nc.value)} ({nc.day.isoformat()}): noncompressible arteries - order a toe-brachial index"


def _statin_step(finding: Finding) -> str:
    if finding.statin_stop:
        return ("Guideline-directed therapy for PAD: antiplatelet, smoking cessation, supervised exercise. Lipid "
                "therapy: the *Statin-associated muscle symptoms* card advises stopping the statin because of muscle "
                "injury; once CK has recovered and symptoms have resolved, reconsider lipid-lowering therapy (a lower "
                "dose or another statin, or a non-statin), as PAD still needs it (2018 AHA/ACC, section 5).")
    return ("Guideline-directed therapy for PAD: high-intensity statin, antiplatelet, smoking cessation, supervised "
            "exercise. Do not stop a statin in PAD without weighing its benefit.")


def _haemodynamic_step(why: str) -> str:
    """With suspected CLTI the referral comes first; the pressures the vascular team needs must not delay it."""
    return (f"{why}: the vascular assessment needs ankle pressures/ABI and toe pressures (TBI, the preferred measure "
            "with tissue loss or calcified arteries; GVG 2019) - order them if quickly available, without delaying "
            "the referral.")


def _haemodynamic_suggestion(facts: PatientFacts) -> Suggestion:
    return card_text.order_suggestion("Order ABI and toe pressures (do not delay the referral)", facts.patient_id,
                                      card_text.lab_orders("abi", "tbi"),
                                      reason="Suspected chronic limb-threatening ischaemia", recommended=False)


def _card(finding: Finding, facts: PatientFacts) -> Card:
    indicator = _grade(finding)
    worst = finding.worst
    parts = ["Ischaemic rest pain is a burning forefoot pain that is worse at night or lying flat and eased by "
             "hanging the leg over the bed edge."]
    if finding.readings:
        parts.append(card_text.lab_table([(r, f"{NORMAL_RANGE} (2016 AHA/ACC)", _assessment(r.value)
                                           + (f"; over {WINDOW_TEXT} old: repeat" if is_old(r, facts) else ""))
                                          for r in finding.readings], facts.now))
    if finding.diagnoses or finding.clti or finding.heart_failure:
        parts.append(card_text.bullets("Diagnoses", (card_text.condition_line(c, facts.now)
                                                     for c in finding.clti + finding.diagnoses
                                                     + finding.heart_failure)))
    if finding.cilostazol:
        parts.append(card_text.bullets("Medications", (card_text.medication_line(m, facts.now).removeprefix("- ")
                                                       for m in finding.cilostazol)))
    stenosis = stenosis_conditions(facts)
    if stenosis:
        # The stenosis card is usually a possible cause: point to it only from a possible-cause card, which shows
        # exactly where it does.
        see = (" (see the *Lumbar spinal stenosis* card)" if kind_of(finding) is CardKind.POSSIBLE_CAUSE else "")
        parts.append(f"**Related:** lumbar spinal stenosis is also on the problem list{see}. Vascular claudication "
                     "eases with standing still and rest pain with the leg hanging down; neurogenic claudication "
                     "eases with sitting or bending forward.")
    steps = []
    suggestions = []
    keys = ["aha-acc-pad-2016", "acc-aha-pad-2024"]
    if indicator is Indicator.CRITICAL:
        steps.append(f"Urgent vascular specialist referral: rest pain, an ulcer or gangrene with PAD is chronic "
                     f"limb-threatening ischaemia, and an ABI {_cut(SEVERE)} is the most severe ischaemia grade "
                     "(GVG 2019).")
        keys.append("gvg-clti-2019")
        # The referral is the action of a critical card; an ABI order alone would delay it (review 14, item 3).
        suggestions.append(card_text.referral_suggestion(
            "Refer urgently to vascular surgery", facts.patient_id, "vascular-surgeon",
            reason=f"Possible chronic limb-threatening ischaemia: {_critical_what(finding)}", urgent=True,
            recommended=True))
    elif worst is not None and ABNORMAL.met(worst.value):
        steps.append("Ask about rest pain, non-healing wounds and gangrene: any of them with this ABI is chronic "
                     f"limb-threatening ischaemia even with an ABI above {abi_text(SEVERE.value)} - urgent vascular "
                     "referral (GVG 2019).")
        keys.append("gvg-clti-2019")
        venous_ulcers = facts.conditions(VENOUS_ULCER_VALUESET)
        if venous_ulcers:
            # The ulcer is on the chart: say what it means with this ABI rather than only asking about wounds.
            steps.append(f"A venous leg ulcer is on the problem list ({venous_ulcers[0].display}): with an ABI "
                         f"{_cut(ABNORMAL)} refer to a vascular specialist for arterial evaluation (SVS/AVF 2014) and "
                         "give no standard compression (see the *Poor circulation* card).")
            keys.append("svs-avf-vlu-2014")
    if finding.cilostazol:
        steps.append("Cilostazol is contraindicated in heart failure of any severity (boxed warning: PDE3 inhibitors "
                     "decreased survival in class III-IV heart failure): stop it with the prescriber; supervised "
                     "exercise remains first-line for claudication.")
        keys.append("cilostazol-label")
    if worst is not None and finding.worst_old:
        if indicator is Indicator.CRITICAL:
            steps.append(_haemodynamic_step(f"The abnormal ABI is over {WINDOW_TEXT} old"))
            suggestions.append(_haemodynamic_suggestion(facts))
        else:
            steps.append(f"The abnormal ABI is over {WINDOW_TEXT} old: PAD does not resolve; repeat the resting ABI "
                         "to restage it.")
            suggestions.append(card_text.order_suggestion("Order resting ankle-brachial index", facts.patient_id,
                                                          card_text.lab_orders("abi"),
                                                          reason="Abnormal ABI over 12 months old", recommended=True))
    if finding.noncompressible:
        steps.append(f"ABI {_cut(NONCOMPRESSIBLE)} cannot exclude PAD: order a toe-brachial index (TBI "
                     f"{_cut(TBI_ABNORMAL)} is abnormal, 2016 AHA/ACC 3.2).")
        suggestions.append(card_text.order_suggestion("Order toe-brachial index", facts.patient_id,
                                                      card_text.lab_orders("tbi"),
                                                      reason=f"Noncompressible ABI {_cut(NONCOMPRESSIBLE)}"))
    if worst is not None and not ABNORMAL.met(worst.value) and BELOW_NORMAL.met(worst.value):
        steps.append("Borderline ABI with exertional leg symptoms: exercise treadmill ABI (2016 AHA/ACC 3.2).")
    if not any(not is_old(r, facts) for r in finding.readings) and not finding.worst_old:
        if indicator is Indicator.CRITICAL:
            steps.append(_haemodynamic_step(f"No ABI in the last {WINDOW_TEXT}"))
            suggestions.append(_haemodynamic_suggestion(facts))
        else:
            steps.append(f"No ABI in the last {WINDOW_TEXT}: measure a resting ABI (Class I for suspected PAD).")
            suggestions.append(card_text.order_suggestion("Order resting ankle-brachial index", facts.patient_id,
                                                          card_text.lab_orders("abi"),
                                                          reason="Suspected peripheral artery disease",
                                                          recommended=True))
    if indicator is not Indicator.INFO:
        steps.append(_statin_step(finding))
        if finding.statin_stop:
            keys.append("aha-acc-cholesterol-2018")
    parts.append("**Next steps:**\n" + "\n".join(f"- {s}" for s in steps))
    return replace(card_text.make_card(rule=RULE, indicator=indicator, summary_text=_summary(finding, indicator),
                                       detail="\n\n".join(parts), guideline_keys=tuple(keys),
                                       suggestions=suggestions, facts=facts),
                   kind=kind_of(finding))


RULE = Rule(
    id="peripheral-artery-disease", version="1.5.0", topic=Topic.PERIPHERAL_ARTERY_DISEASE,
    hooks=frozenset({PATIENT_VIEW}), needs=("patient", "observations", "conditions", "medications",
                                            "medicationRequests"),
    applies=_applies, card=_card, analytes=("abi",),
    valuesets=PAD_VALUESETS + (CLTI_VALUESET, ULCER_VALUESET, GANGRENE_VALUESET, HEART_FAILURE_VALUESET,
                               VENOUS_ULCER_VALUESET) + STENOSIS_VALUESETS,
    summary=f"ABI {_cut(ABNORMAL)} on a leg (critical {_cut(SEVERE)}; older than {WINDOW_TEXT}: shown as old), "
            f"borderline {BORDERLINE_RANGE}, noncompressible {_cut(NONCOMPRESSIBLE)}, a PAD, rest-pain, ulcer or "
            "gangrene diagnosis, or cilostazol with heart failure.",
    fires_when=f"latest ABI of a leg {_cut(BELOW_NORMAL)} within {WINDOW_TEXT}, or {_cut(ABNORMAL)} however old (up "
               f"to {HISTORY.value / 365:g} years), or {_cut(NONCOMPRESSIBLE)}; active PAD, rest-pain, ischaemic "
               "ulcer or gangrene diagnosis; active cilostazol with a heart failure diagnosis",
    quiet_when=f"latest ABI of each leg {NORMAL_RANGE} (a newer normal ABI of a leg supersedes an older abnormal one), "
               "or none, and no PAD diagnosis and no cilostazol with heart failure",
    advice=f"Urgent vascular referral for rest pain, an ulcer, gangrene or an ABI {_cut(SEVERE)}, offered as the "
           "card's recommended suggestion (ankle and toe pressures alongside it when no current ABI exists, never "
           f"delaying it; also above {abi_text(SEVERE.value)}: rest pain, non-healing wounds or gangrene with an "
           "abnormal ABI are CLTI); for "
           "PAD, guideline-directed therapy (high-intensity statin unless the statin card advises stopping it for "
           "muscle injury, then lipid therapy reconsidered once CK has recovered; antiplatelet, smoking cessation, "
           f"supervised exercise). Repeat an abnormal ABI older than {WINDOW_TEXT}. A toe-brachial index for an ABI "
           f"{_cut(NONCOMPRESSIBLE)}, an exercise ABI for a borderline one, a resting ABI when none exists within "
           f"{WINDOW_TEXT}. Stop cilostazol in heart failure (contraindicated).",
    actionable_when=f"a measured ABI {_cut(ABNORMAL)} on a leg (critical {_cut(SEVERE)}; one older than {WINDOW_TEXT} "
                    "too: unrestaged PAD); a rest-pain, ischaemic ulcer or gangrene diagnosis; active cilostazol with "
                    "heart failure (contraindicated)",
    possible_cause_when=f"a PAD diagnosis without an abnormal ABI (a resting ABI suggested when none exists); a "
                        f"borderline ABI {BORDERLINE_RANGE} (exercise ABI); a noncompressible ABI "
                        f"{_cut(NONCOMPRESSIBLE)} (toe-brachial index)",
    references=("aha-acc-pad-2016", "acc-aha-pad-2024", "gvg-clti-2019", "cilostazol-label",
                "aha-acc-cholesterol-2018", "svs-avf-vlu-2014"),
)
