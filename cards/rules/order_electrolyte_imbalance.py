"""Order-time check: a draft drug that raises potassium, in a patient whose potassium is already high.

Fires when: a draft order starts (cards.order_checks: not already current) a potassium-raising drug - ACE
  inhibitor, ARB, sacubitril/valsartan, trimethoprim, NSAID, heparin, ciclosporin/tacrolimus or a potassium
  supplement (the drugs the UK Kidney Association 2020 hyperkalaemia guideline lists for review) - AND the newest
  potassium within the electrolyte window is high (graded exactly as the electrolyte rule grades it: lab range, flag,
  default range). Potassium-sparing diuretics and MRAs are checked by order-diuretic-effect (one card per draft).
Critical when that potassium is critical ({potassium.critical-high}, or flagged HH); warning otherwise.
Quiet when: no such draft; the drug is already current (a re-order; the patient-view electrolyte card names it);
  potassium in range or not measured within {electrolytes.lookback:value}.
Needs: draftOrders, medications (+ medicationRequests), observations (potassium).
References: UK Kidney Association hyperkalaemia guideline 2020 (severity bands; drugs to review); KDIGO 2024 CKD
  guideline (managing potassium on RAS inhibitors); CTCAE v5.0 (2017) for the grades.
"""
from __future__ import annotations

from cards import card_text, order_checks
from cards.facts import PatientFacts
from cards.knowledge import threshold
from cards.model import Card, Indicator
from cards.order_checks import Hit, OrderFinding
from cards.rule import ORDER_SELECT, ORDER_SIGN, Rule
from cards.rules import electrolyte_imbalance as electrolytes
from cards.topics import Topic

LAB_WINDOW = threshold("electrolytes.lookback")  # the electrolyte rule's window (latest_graded reads it)
K_SPARING = ("potassium-sparing-diuretic", "mra")  # order-diuretic-effect's
CLASSES = tuple(c for c in electrolytes.POTASSIUM_RAISING if c not in K_SPARING)
MECHANISM = ("raises potassium (among the drugs the UK Kidney Association 2020 hyperkalaemia guideline lists for "
             "review; the risk is highest with kidney impairment and with several such drugs together)")


def _high_potassium(facts: PatientFacts) -> electrolytes.Abnormal | None:
    for result, key, note in electrolytes.latest_graded(facts):
        if key == "potassium":
            graded = electrolytes.assess(result, key)
            if graded is not None and graded.direction == "high":
                return graded
    return None


def _applies(facts: PatientFacts) -> OrderFinding | None:
    drafts = [d for d in order_checks.new_drafts(facts, CLASSES) if not d.classes & set(K_SPARING)]
    if not drafts:
        return None
    high = _high_potassium(facts)
    if high is None:
        return None
    hits = tuple(Hit(draft, (order_checks.lab_evidence(high.result, f"{high.severity} high; the drafted drug raises "
                                                                    "it further", high.range_used,
                                                       qualifier="high"),), f"{draft.ingredient} {MECHANISM}.")
                 for draft in drafts)
    return OrderFinding(hits)


def _card(finding: OrderFinding, facts: PatientFacts) -> Card:
    high = _high_potassium(facts)
    critical = high is not None and high.severity == "critical"
    names = ", ".join(sorted({h.draft.ingredient for h in finding.hits}))
    steps = []
    if critical:
        steps.append(f"Potassium {electrolytes.CRITICAL['potassium', 'high'].text} is an emergency: do not start "
                     f"{names}; 12-lead ECG now and the acute hyperkalaemia pathway (UK Kidney Association 2020).")
    else:
        steps.append(f"Do not start {names} while potassium is high, or start it knowingly with a repeat potassium "
                     "and creatinine within days (clinician decision; KDIGO 2024).")
    if any("potassium-supplement" in h.draft.classes for h in finding.hits):
        steps.append("A potassium supplement with a high potassium: remove the draft.")
    steps.append("Repeat potassium on a fresh sample and review the other potassium-raising drugs on the list.")
    return order_checks.card(
        RULE, finding, facts, headline=order_checks.worsens_headline,
        intro="High potassium causes muscle weakness and dangerous arrhythmias (not cramps); a drug that raises "
              "potassium makes it worse.",
        next_steps=steps, guideline_keys=("hyperkalaemia-2020", "kdigo-ckd-2024", "ctcae-v5"),
        indicator=Indicator.CRITICAL if critical else Indicator.WARNING)


RULE = Rule(
    id="order-electrolyte-imbalance", version="1.0.1", topic=Topic.ELECTROLYTE_IMBALANCE,
    hooks=frozenset({ORDER_SELECT, ORDER_SIGN}),
    needs=("patient", "observations", "medications", "medicationRequests"), applies=_applies, card=_card,
    analytes=("potassium",), drug_classes=CLASSES,
    summary="A draft potassium-raising drug (ACE inhibitor, ARB, ARNI, trimethoprim, NSAID, heparin, calcineurin "
            "inhibitor, potassium supplement) while potassium is high.",
    fires_when="draft starts a potassium-raising drug (not a potassium-sparing diuretic/MRA: order-diuretic-effect) "
               f"and the newest potassium within {LAB_WINDOW.value:g} days is high; critical when it is critical",
    quiet_when=f"drug already current (re-order); potassium in range or not measured in {LAB_WINDOW.value:g} days",
    advice="Do not start the drug while potassium is high (an emergency at {potassium.critical-high}: ECG now); or "
           "start it knowingly with a repeat potassium and creatinine within days; remove a potassium supplement.",
    actionable_when="every finding: the drafted drug is its own context",
    possible_cause_when="never",
    references=("hyperkalaemia-2020", "kdigo-ckd-2024", "ctcae-v5"),
)
