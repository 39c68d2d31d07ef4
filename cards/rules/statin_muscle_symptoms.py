"""Statin-associated muscle symptoms (SAMS): an active statin, graded by CK and interacting drugs.

Fires when: an active statin (any product mapping to a statin ingredient).
Critical: latest CK within 90 days > 10 x the lab's upper limit (stop the statin, evaluate for rhabdomyolysis).
Warning: CK above the lab's upper limit; or an interacting drug - gemfibrozil with any statin, or a strong CYP3A4
  inhibitor (clarithromycin, itraconazole, ketoconazole, ritonavir ...) with simvastatin, lovastatin or
  atorvastatin; or a recorded statin myopathy diagnosis.
Info: a statin alone (statins are a common, reversible cause of leg muscle pain and cramps).
Quiet when: no active statin.
Needs: medications (+ medicationRequests), observations (CK), conditions.
References: 2018 AHA/ACC cholesterol guideline §5 (statin safety, CK with symptoms); NLA Statin Muscle Safety
  Task Force 2014 (CK cut-points); FDA simvastatin Drug Safety Communication 2011 (gemfibrozil, CYP3A4 inhibitors).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from cards import card_text
from cards.facts import LabResult, MedicationUse, PatientFacts
from cards.model import Card, Indicator
from cards.rule import PATIENT_VIEW, Rule
from cards.topics import Topic

LOOKBACK = timedelta(days=90)  # source: issue 2 / clinical-reference.md §6.5 (same window as other labs)
DEFAULT_CK_ULN = 170.0  # source: U/L, NIH CC upper limit [NLM] (clinical-reference.md §1.4), used when the lab sends none
CK_CRITICAL_MULTIPLE = 10.0  # source: 2018 AHA/ACC §5 and NLA 2014: CK > 10 x ULN -> stop statin, rhabdomyolysis work-up
CK_STOP_MULTIPLE = 4.0  # source: clinical-reference.md §5.3 (CK > 4 x ULN: stop and recheck in 2-6 weeks)

# source: FDA simvastatin Drug Safety Communication 2011; clinical-reference.md §5.3 - CYP3A4-dependent statins.
CYP3A4_STATINS = frozenset({"simvastatin", "lovastatin", "atorvastatin"})
FIBRATE_INTERACTING = frozenset({"gemfibrozil"})  # source: FDA 2011 (contraindicated with simvastatin)


@dataclass(frozen=True)
class Interaction:
    statin: MedicationUse
    other: MedicationUse
    reason: str


@dataclass(frozen=True)
class Finding:
    statins: tuple[MedicationUse, ...]
    ck: LabResult | None
    ck_uln: float
    interactions: tuple[Interaction, ...]
    myopathy: tuple[str, ...]

    @property
    def ck_multiple(self) -> float | None:
        return self.ck.value / self.ck_uln if self.ck else None


def interactions(statins: list[MedicationUse], others: list[MedicationUse]) -> list[Interaction]:
    """Statin-drug interaction pairs (used by the order-time checks too)."""
    found = []
    for statin in statins:
        for other in others:
            if other.ingredient in FIBRATE_INTERACTING:
                found.append(Interaction(statin, other, "gemfibrozil raises statin levels and myopathy risk"))
            elif "strong-cyp3a4-inhibitor" in other.classes and statin.ingredient in CYP3A4_STATINS:
                found.append(Interaction(statin, other, f"strong CYP3A4 inhibitor raises {statin.ingredient} levels"))
    return found


def _applies(facts: PatientFacts) -> Finding | None:
    statins = facts.medications("statin")
    if not statins:
        return None
    ck = facts.latest("ck", LOOKBACK)
    uln = ck.ref_high if ck is not None and ck.ref_high else DEFAULT_CK_ULN
    found = interactions(statins, facts.medications())
    myopathy = tuple(c.display for c in facts.conditions("cond-statin-myopathy"))
    return Finding(tuple(statins), ck, uln, tuple(found), myopathy)


def _card(finding: Finding, facts: PatientFacts) -> Card:
    names = ", ".join(sorted({m.ingredient for m in finding.statins}))
    multiple = finding.ck_multiple
    ck_high = multiple is not None and multiple > 1.0
    if multiple is not None and multiple > CK_CRITICAL_MULTIPLE:
        indicator = Indicator.CRITICAL
    elif ck_high or finding.interactions or finding.myopathy:
        indicator = Indicator.WARNING
    else:
        indicator = Indicator.INFO
    if ck_high and finding.ck is not None and multiple is not None:
        summary = (f"On {names} with CK {card_text.fmt_value(finding.ck.value)} U/L ({multiple:.1f} x ULN, "
                   f"{finding.ck.day.isoformat()}) - statin muscle injury?")
    elif finding.interactions:
        pair = finding.interactions[0]
        summary = f"{pair.statin.ingredient.capitalize()} with {pair.other.ingredient}: raised statin myopathy risk"
    else:
        summary = f"On {names}: statins can cause leg muscle pain and cramps - consider CK if symptomatic"
    parts = ["Statin-associated muscle symptoms are typically symmetric aches or cramps of the thighs, buttocks "
             "and calves, starting weeks to months after a statin is started or its dose raised.",
             "**Statins:**\n" + "\n".join(card_text.medication_line(m, facts.now) for m in finding.statins)]
    if finding.ck is not None:
        ck_range = card_text.range_text(finding.ck, (None, DEFAULT_CK_ULN))
        assessment = f"{multiple:.1f} x ULN" if multiple is not None else "-"
        parts.append(card_text.lab_table([(finding.ck, ck_range, assessment)], facts.now))
    else:
        parts.append("No CK result in the last 90 days.")
    if finding.interactions:
        parts.append("**Interacting drugs:**\n" + "\n".join(
            f"- {i.other.display} with {i.statin.ingredient}: {i.reason}" for i in finding.interactions))
    if finding.myopathy:
        parts.append("**Recorded diagnosis:** " + "; ".join(finding.myopathy))
    steps = []
    if multiple is not None and multiple > CK_CRITICAL_MULTIPLE:
        steps.append("CK > 10 x ULN: stop the statin; check creatinine and urine myoglobin for rhabdomyolysis.")
    elif multiple is not None and multiple > CK_STOP_MULTIPLE:
        steps.append("CK > 4 x ULN: consider stopping the statin and rechecking CK in 2-6 weeks.")
    if finding.interactions:
        steps.append("Review the interacting drug: avoid gemfibrozil with statins; with a strong CYP3A4 inhibitor "
                     "hold simvastatin/lovastatin or switch to a non-CYP3A4 statin (pravastatin, rosuvastatin).")
    steps += ["If muscle symptoms: check CK, TSH and creatinine; untreated hypothyroidism raises risk.",
              "If tolerable: rechallenge, lower the dose or switch statin, then consider a non-statin "
              "(2018 AHA/ACC). Do not stop a statin in PAD without weighing its benefit."]
    parts.append("**Next steps:**\n" + "\n".join(f"- {s}" for s in steps))
    suggestion = card_text.order_suggestion("Order CK, TSH and creatinine", facts.patient_id,
                                            card_text.lab_orders("ck", "tsh", "creatinine"),
                                            reason=f"Muscle symptoms on {names}", recommended=ck_high or None)
    return card_text.make_card(rule=RULE, indicator=indicator, summary_text=summary, detail="\n\n".join(parts),
                               guideline_keys=("aha-acc-cholesterol-2018", "nla-2014", "fda-simvastatin-2011"),
                               suggestions=[suggestion], facts=facts)


RULE = Rule(
    id="statin-muscle-symptoms", version="1.0.0", topic=Topic.STATIN_MUSCLE_SYMPTOMS,
    hooks=frozenset({PATIENT_VIEW}), needs=("patient", "observations", "medications", "medicationRequests",
                                            "conditions"),
    applies=_applies, card=_card, analytes=("ck",), valuesets=("cond-statin-myopathy",),
    drug_classes=("statin", "fibrate", "strong-cyp3a4-inhibitor"),
    summary="Active statin; warning with CK above the lab's ULN or an interacting drug, critical above 10 x ULN.",
    fires_when="active statin",
    quiet_when="no active statin",
    references=("aha-acc-cholesterol-2018", "nla-2014", "fda-simvastatin-2011"),
)
