"""Order-time check: a draft cilostazol in a patient with heart failure (contraindicated, boxed warning).

Fires when: a draft order starts (cards.order_checks: not already current) cilostazol AND the patient has an active
  heart failure diagnosis of any type or severity (cond-heart-failure). Warning (as the order checks' other
  contraindications), one card listing every such draft;
  the suggestion removes the draft. No replacement drug is offered: supervised exercise is the first-line treatment
  of claudication, and the choice of any other drug belongs to the prescriber.
Quiet when: no cilostazol draft; cilostazol already current (a re-order: the patient-view card peripheral-artery-
  disease flags active cilostazol with heart failure); no active heart failure diagnosis.
Needs: draftOrders, medications (+ medicationRequests), conditions.
References: cilostazol US prescribing information, Boxed Warning and section 4 (contraindicated in patients with heart
  failure of any severity: PDE3 inhibitors decreased survival in class III-IV heart failure); 2024 ACC/AHA
  multisociety PAD guideline (cilostazol for claudication; structured exercise).
"""
from __future__ import annotations

from cards import order_checks
from cards.facts import PatientFacts
from cards.model import Card, Indicator
from cards.order_checks import Hit, OrderFinding
from cards.rule import ORDER_SELECT, ORDER_SIGN, Rule
from cards.rules import peripheral_artery_disease as pad
from cards.topics import Topic

MECHANISM = ("cilostazol is a phosphodiesterase-3 inhibitor; drugs of this class decreased survival in class III-IV "
             "heart failure, so the label contraindicates it in heart failure of any severity (boxed warning)")


def _applies(facts: PatientFacts) -> OrderFinding | None:
    drafts = [d for d in order_checks.new_drafts(facts) if d.ingredient == pad.CILOSTAZOL]
    if not drafts:
        return None
    heart_failure = facts.conditions(pad.HEART_FAILURE_VALUESET)
    if not heart_failure:
        return None
    evidence = tuple(order_checks.condition_evidence(c, "heart failure on the problem list", tag="heart-failure")
                     for c in heart_failure)
    return OrderFinding(tuple(Hit(d, evidence, MECHANISM + ".") for d in drafts))


def _headline(hit: Hit) -> str:
    return f"Draft {hit.draft.ingredient} is contraindicated with {order_checks.findings_text(hit)} (boxed warning)"


def _card(finding: OrderFinding, facts: PatientFacts) -> Card:
    return order_checks.card(
        RULE, finding, facts, headline=_headline,
        intro="Cilostazol treats intermittent claudication in peripheral artery disease, but it must not be given to "
              "a patient with heart failure of any severity.",
        next_steps=["Do not start cilostazol: remove the draft (cilostazol label, boxed warning and section 4).",
                    "Claudication: supervised exercise therapy, smoking cessation and risk-factor treatment remain "
                    "first-line (2024 ACC/AHA PAD guideline)."],
        guideline_keys=("cilostazol-label", "acc-aha-pad-2024"), indicator=Indicator.WARNING)


RULE = Rule(
    id="order-peripheral-artery-disease", version="1.0.1", topic=Topic.PERIPHERAL_ARTERY_DISEASE,
    hooks=frozenset({ORDER_SELECT, ORDER_SIGN}), needs=("patient", "medications", "medicationRequests", "conditions"),
    applies=_applies, card=_card, valuesets=(pad.HEART_FAILURE_VALUESET,),
    summary="A draft cilostazol in a patient with heart failure (contraindicated, boxed warning); warning.",
    fires_when="draft starts cilostazol AND an active heart failure diagnosis (any type or severity)",
    quiet_when="no cilostazol draft; cilostazol already current (re-order); no active heart failure diagnosis",
    advice="Do not start cilostazol in heart failure: remove the draft; supervised exercise remains first-line for "
           "claudication.",
    actionable_when="every finding: the drafted drug is its own context",
    possible_cause_when="never",
    references=("cilostazol-label", "acc-aha-pad-2024"),
)
