"""Order-time check: a draft drug that aggravates restless legs in a patient with RLS or iron deficiency.

Fires when: a draft order starts (cards.order_checks: not already current) an RLS-aggravating drug - an
  antipsychotic, metoclopramide (D2-antagonist antiemetic), a sedating antihistamine, an SSRI or SNRI, or
  mirtazapine - AND the patient has an active RLS diagnosis (cond-rls, cond-rls-pregnancy) or iron deficiency by
  the AASM 2024 thresholds (latest ferritin within 12 months <= 75 ng/mL, or transferrin saturation < 20 %,
  reported or iron / TIBC x 100 from the same day), applied even inside the lab's normal range. Thresholds, window
  and TSAT calculation are the patient-view rule restless-legs'; the drug classes are cards.drug_effects'.
Warning, one card listing every such draft; suggestions remove the draft. No alternative drug is offered: the
  reference names none for these classes, the choice depends on the indication.
Quiet when: no such draft; the drug is already current (a re-order); no RLS diagnosis and iron studies above the
  thresholds or absent.
Needs: draftOrders, medications (+ medicationRequests), conditions, observations (ferritin, TSAT, iron, TIBC).
References: AASM RLS/PLMD guideline 2024 (Winkelman et al., J Clin Sleep Med 2025): iron thresholds and drugs that
  aggravate RLS (clinical-reference.md §5.1 row E, §5.2).
"""
from __future__ import annotations

from cards import order_checks
from cards.drug_effects import BY_CLASS, RLS_AGGRAVATING
from cards.facts import PatientFacts
from cards.model import Card
from cards.order_checks import Evidence, Hit, OrderFinding
from cards.rule import ORDER_SELECT, ORDER_SIGN, Rule
from cards.rules import restless_legs as rls
from cards.topics import Topic

# Thresholds, window, value sets and the aggravating classes are the patient-view restless-legs rule's and
# cards.drug_effects' (AASM 2024: ferritin <= 75 ng/mL, TSAT < 20 %, iron studies stale after 12 months).
SHORT = {"cond-rls": "RLS on the problem list", "cond-rls-pregnancy": "RLS in pregnancy on the problem list"}


def _findings(facts: PatientFacts) -> list[Evidence]:
    evidence = [order_checks.condition_evidence(c, SHORT[vs], tag="rls") for vs in rls.RLS_VALUESETS
                for c in facts.conditions(vs)]
    ferritin = facts.latest("ferritin", rls.IRON_LOOKBACK)
    if ferritin is not None and ferritin.value_in("ng/mL") <= rls.FERRITIN_RLS_MAX:
        evidence.append(order_checks.lab_evidence(ferritin, "iron deficiency for RLS (AASM 2024: <= 75 ng/mL)",
                                                  "> 75 ng/mL (AASM 2024)", tag="iron"))
    tsat, calculated = rls.transferrin_saturation(facts)
    if tsat is not None and tsat.value_in("%") < rls.TSAT_RLS_MIN:
        note = "calculated from iron/TIBC of the same day; " if calculated else ""
        evidence.append(order_checks.lab_evidence(tsat, note + "iron deficiency for RLS (AASM 2024: < 20 %)",
                                                  ">= 20% (AASM 2024)", tag="iron"))
    return evidence


def _mechanism(classes: frozenset[str]) -> str:
    effects = [BY_CLASS[c] for c in RLS_AGGRAVATING if c in classes]
    return "; ".join(f"a {e.label} {e.mechanism} ({e.source})" for e in effects) + "."


def _applies(facts: PatientFacts) -> OrderFinding | None:
    drafts = order_checks.new_drafts(facts, RLS_AGGRAVATING)
    if not drafts:
        return None
    evidence = tuple(_findings(facts))
    if not evidence:
        return None
    hits = tuple(Hit(d, evidence, _mechanism(d.classes)) for d in drafts)
    return OrderFinding(hits)


def _headline(hit: Hit) -> str:
    return f"Draft {hit.draft.ingredient} can worsen restless legs: {order_checks.findings_text(hit)}"


def _steps(facts: PatientFacts, finding: OrderFinding) -> list[str]:
    tags = {e.tag for h in finding.hits for e in h.evidence}
    steps = ["Consider whether the drafted drug is needed, or a drug of another class for the same indication."]
    if "iron" in tags:
        steps.append("Iron deficiency for RLS (ferritin <= 75 ng/mL or transferrin saturation < 20 %): oral or IV "
                     "iron (AASM 2024).")
    elif facts.latest("ferritin", rls.IRON_LOOKBACK) is None or rls.transferrin_saturation(facts)[0] is None:
        steps.append("No complete iron studies in 12 months: check ferritin and transferrin saturation, morning "
                     "draw (AASM 2024).")
    return steps


def _card(finding: OrderFinding, facts: PatientFacts) -> Card:
    return order_checks.card(
        RULE, finding, facts, headline=_headline,
        intro="Restless legs cause an urge to move the legs at rest, worst in the evening and at night. Dopamine "
              "antagonists, sedating antihistamines, SSRIs/SNRIs and mirtazapine aggravate it, and iron deficiency "
              "makes it worse.",
        next_steps=_steps(facts, finding),
        guideline_keys=("aasm-rls-2024",))


RULE = Rule(
    id="order-restless-legs", version="1.0.0", topic=Topic.RESTLESS_LEGS, hooks=frozenset({ORDER_SELECT, ORDER_SIGN}),
    needs=("patient", "observations", "medications", "medicationRequests", "conditions"), applies=_applies,
    card=_card, analytes=("ferritin", "tsat", "iron", "tibc"), valuesets=rls.RLS_VALUESETS,
    drug_classes=RLS_AGGRAVATING,
    summary="A draft RLS-aggravating drug in a patient with RLS or iron deficiency (ferritin <= 75, TSAT < 20 %).",
    fires_when="draft starts an antipsychotic, metoclopramide, sedating antihistamine, SSRI/SNRI or mirtazapine AND "
               "active RLS diagnosis, or ferritin <= 75 ng/mL or TSAT < 20 % within 12 months",
    quiet_when="drug already current (re-order); no RLS diagnosis and ferritin > 75 and TSAT >= 20 % (or absent)",
    references=("aasm-rls-2024",),
)
