"""Statin-associated muscle symptoms (SAMS): an active statin, graded by CK and interacting drugs.

Fires when: an active statin (any product mapping to a statin ingredient).
Critical: the latest CK within the CK window is above the critical multiple of the lab's upper limit (stop the
  statin, look for rhabdomyolysis).
Warning: CK above the lab's upper limit; or an interacting drug - gemfibrozil with any statin, or a strong CYP3A4
  inhibitor (clarithromycin, itraconazole, ketoconazole, ritonavir ...) with simvastatin, lovastatin or
  atorvastatin; or a recorded statin myopathy diagnosis.
Info: a statin alone (statins are a common, reversible cause of leg muscle pain and cramps).
Quiet when: no active statin.
Thresholds and windows: cards/knowledge/data/statin.json (CK categories of the EAS 2015 consensus, Table 1; default
  upper limit from the NIH Clinical Center ranges).
Needs: medications (+ medicationRequests), observations (CK), conditions.
References: EAS SAMS consensus 2015 (Table 1, CK categories); 2018 AHA/ACC cholesterol guideline, section 5 (statin
  safety: CK with severe symptoms, rechallenge); NLA Statin Muscle Safety Task Force 2014; FDA simvastatin Drug
  Safety Communication 2011 (gemfibrozil and strong CYP3A4 inhibitors contraindicated with simvastatin).
"""
from __future__ import annotations

from dataclasses import dataclass

from cards import card_text
from cards.facts import LabResult, MedicationUse, PatientFacts
from cards.knowledge import Threshold, threshold
from cards.model import Card, Indicator
from cards.rule import PATIENT_VIEW, Rule
from cards.topics import Topic

CK_WINDOW = threshold("statin.ck-lookback")
LOOKBACK = CK_WINDOW.days
DEFAULT_CK_ULN = threshold("statin.ck-default-uln").value
CK_ABOVE_ULN = threshold("statin.ck-above-uln")
CK_STOP = threshold("statin.ck-stop-multiple")
CK_CRITICAL = threshold("statin.ck-critical-multiple")

# Statins whose blood level a strong CYP3A4 inhibitor raises: simvastatin and lovastatin are contraindicated with
# strong CYP3A4 inhibitors and atorvastatin is dose-limited (FDA simvastatin Drug Safety Communication 2011 and the
# 2012 statin labelling changes); pravastatin and rosuvastatin are not CYP3A4-dependent.
CYP3A4_STATINS = frozenset({"simvastatin", "lovastatin", "atorvastatin"})
FIBRATE_INTERACTING = frozenset({"gemfibrozil"})  # contraindicated with simvastatin (FDA 2011); avoid with any statin
PAD_VALUESETS = ("cond-pad", "cond-diabetic-angiopathy")  # the PAD diagnoses of the peripheral-artery-disease rule


@dataclass(frozen=True)
class Interaction:
    statin: MedicationUse
    other: MedicationUse
    reason: str

    @property
    def kind(self) -> str:
        """"fibrate" or "cyp3a4": chooses the next step and the explanation shown for this pair."""
        return "fibrate" if self.other.ingredient in FIBRATE_INTERACTING else "cyp3a4"


@dataclass(frozen=True)
class Finding:
    statins: tuple[MedicationUse, ...]
    ck: LabResult | None
    ck_uln: float
    interactions: tuple[Interaction, ...]
    myopathy: tuple[str, ...]
    pad: bool = False

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


def ck_upper_limit(ck: LabResult | None) -> float:
    """The lab's upper limit of this CK, else the default (NIH Clinical Center)."""
    return ck.ref_high if ck is not None and ck.ref_high else DEFAULT_CK_ULN


def stop_advised(facts: PatientFacts) -> bool:
    """True when this chart's statin card advises stopping the statin (CK above the critical multiple of the upper
    limit within the CK window). Other cards (peripheral artery disease) read it so that no card tells the
    clinician to keep a statin the statin card says to stop."""
    if not facts.medications("statin"):
        return False
    ck = facts.latest("ck", LOOKBACK)
    return ck is not None and CK_CRITICAL.met(ck.value / ck_upper_limit(ck))


def _applies(facts: PatientFacts) -> Finding | None:
    statins = facts.medications("statin")
    if not statins:
        return None
    ck = facts.latest("ck", LOOKBACK)
    found = interactions(statins, facts.medications())
    myopathy = tuple(c.display for c in facts.conditions("cond-statin-myopathy"))
    pad = any(facts.conditions(vs) for vs in PAD_VALUESETS)
    return Finding(tuple(statins), ck, ck_upper_limit(ck), tuple(found), myopathy, pad)


def _x_uln(item: Threshold) -> str:
    return f"{item.value:g} x ULN"


STEPS = {
    "fibrate": "Gemfibrozil with a statin: avoid the combination (contraindicated with simvastatin, FDA 2011).",
    "cyp3a4": "Strong CYP3A4 inhibitor with simvastatin, lovastatin or atorvastatin: hold simvastatin or lovastatin "
              "for the course, limit atorvastatin, or switch to a statin not metabolised by CYP3A4 (pravastatin, "
              "rosuvastatin) (FDA 2011).",
}


def _card(finding: Finding, facts: PatientFacts) -> Card:
    names = ", ".join(sorted({m.ingredient for m in finding.statins}))
    multiple = finding.ck_multiple
    ck_high = multiple is not None and CK_ABOVE_ULN.met(multiple)
    critical = multiple is not None and CK_CRITICAL.met(multiple)
    if critical:
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
             "**Statins:**\n" + "\n".join(card_text.medication_line(m, facts.now)
                                      for m in card_text.one_per_ingredient(finding.statins))]
    if finding.ck is not None:
        ck_range = card_text.range_text(finding.ck, (None, DEFAULT_CK_ULN))
        assessment = f"{multiple:.1f} x ULN" if multiple is not None else "-"
        parts.append(card_text.lab_table([(finding.ck, ck_range, assessment)], facts.now))
    else:
        parts.append(f"No CK result in the last {CK_WINDOW.value:g} days.")
    if finding.interactions:
        parts.append("**Interacting drugs:**\n" + "\n".join(
            f"- {i.other.display} with {i.statin.ingredient}: {i.reason}" for i in finding.interactions))
    if finding.myopathy:
        parts.append("**Recorded diagnosis:** " + "; ".join(finding.myopathy))
    steps = []
    if critical:
        steps.append(f"CK > {_x_uln(CK_CRITICAL)}: stop the statin; check creatinine and urine myoglobin for "
                     "rhabdomyolysis (2018 AHA/ACC, section 5).")
    elif multiple is not None and CK_STOP.met(multiple):
        steps.append(f"CK > {_x_uln(CK_STOP)}: consider stopping the statin and repeat CK; rechallenge only once CK "
                     "is back to normal (EAS 2015).")
    kinds = dict.fromkeys(i.kind for i in finding.interactions)
    steps += [STEPS[kind] for kind in kinds]
    steps += ["If muscle symptoms: check CK, TSH and creatinine; untreated hypothyroidism raises the risk.",
              "If tolerable: rechallenge, lower the dose or switch statin, then consider a non-statin "
              "(2018 AHA/ACC, section 5)."]
    if finding.pad:
        steps.append("PAD is on the problem list: weigh the statin's benefit before stopping it (see the "
                     "*Peripheral artery disease* card).")
    parts.append("**Next steps:**\n" + "\n".join(f"- {s}" for s in steps))
    suggestion = card_text.order_suggestion("Order CK, TSH and creatinine", facts.patient_id,
                                            card_text.lab_orders("ck", "tsh", "creatinine"),
                                            reason=f"Muscle symptoms on {names}", recommended=ck_high or None)
    keys = ("aha-acc-cholesterol-2018", "eas-sams-2015", "nla-2014") + (
        ("fda-simvastatin-2011",) if finding.interactions else ())
    return card_text.make_card(rule=RULE, indicator=indicator, summary_text=summary, detail="\n\n".join(parts),
                               guideline_keys=keys, suggestions=[suggestion], facts=facts)


RULE = Rule(
    id="statin-muscle-symptoms", version="1.1.0", topic=Topic.STATIN_MUSCLE_SYMPTOMS,
    hooks=frozenset({PATIENT_VIEW}), needs=("patient", "observations", "medications", "medicationRequests",
                                            "conditions"),
    applies=_applies, card=_card, analytes=("ck",), valuesets=("cond-statin-myopathy",) + PAD_VALUESETS,
    drug_classes=("statin", "fibrate", "strong-cyp3a4-inhibitor"),
    summary=f"Active statin; warning with CK above the lab's ULN or an interacting drug, critical above "
            f"{_x_uln(CK_CRITICAL)}.",
    fires_when="active statin",
    quiet_when="no active statin",
    advice=f"Above {_x_uln(CK_CRITICAL)} stop the statin and check creatinine and urine myoglobin; above "
           f"{_x_uln(CK_STOP)} consider stopping and repeat CK. Avoid gemfibrozil with a statin and hold or switch a "
           "CYP3A4-dependent statin next to a strong CYP3A4 inhibitor; with symptoms check CK, TSH and creatinine, "
           "then rechallenge, lower the dose or switch statin.",
    references=("aha-acc-cholesterol-2018", "eas-sams-2015", "nla-2014", "fda-simvastatin-2011"),
)
