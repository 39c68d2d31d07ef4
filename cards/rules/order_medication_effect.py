"""Order-time check: a draft non-diuretic, non-statin drug that lowers an electrolyte already low.

Topic `medication-effect`, not `electrolyte-imbalance`: the card is about the drug being ordered (the one thing the
clinician can act on at order time), exactly as a drafted diuretic goes to `diuretic-effect`; the patient-view
`electrolyte-imbalance` card already covers the lab value itself, and the patient-view `medication-effect` topic is
defined by the same drug classes.

Fires when: a draft order starts (cards.order_checks: not already current) a drug of a pair below AND the latest
  result within 90 days is low (lab range, else lab flag, else default range):
  - beta-2 agonist (albuterol, levalbuterol, salmeterol, formoterol, terbutaline) with low potassium or low
    magnesium - intracellular shift, dose-dependent;
  - SSRI with low sodium - SIADH-type hyponatraemia, most in older adults. (SNRIs and mirtazapine share the
    §5.2 row, but the row attributes the sodium effect to SSRIs; they are left out rather than over-claimed.)
Warning, one card listing every pair; suggestions remove the draft.
Quiet when: no such draft; the drug is already current (a re-order); the electrolyte in range or not measured.
Lab effects and mechanisms: cards.drug_effects (shared with the patient-view medication-effect rule).
Left out of §5.2: vincristine with low sodium (chemotherapy is ordered in oncology systems with their own checks)
  and PPIs with low magnesium (the effect needs months of use, so a new order does not worsen it now).
Needs: draftOrders, medications (+ medicationRequests), observations (potassium, magnesium, sodium).
References: clinical-reference.md §5.2 (drug -> lab, standard pharmacology); European hyponatraemia guideline 2014
  (SSRIs among the drugs causing SIAD); CTCAE v5.0 (2017) for the ranges.
"""
from __future__ import annotations

from cards import order_checks
from cards.drug_effects import BY_CLASS
from cards.facts import PatientFacts
from cards.model import Card
from cards.order_checks import Hit, OrderFinding
from cards.rule import ORDER_SELECT, ORDER_SIGN, Rule
from cards.rules import electrolyte_imbalance as electrolytes
from cards.topics import Topic

# The drug classes checked at order time; their lab effects, mechanisms and sources are cards.drug_effects' (the
# patient-view medication-effect rule's table, from clinical-reference.md §5.2). vinca-alkaloid and ppi are left out
# (see the module docstring); the RLS-aggravating classes go to order-restless-legs.
CLASSES = ("beta2-agonist", "ssri")
STEPS = {
    "beta2-agonist": "Beta-2 agonist with low potassium or magnesium: replete first; with high or nebulised doses "
                     "recheck potassium.",
    "ssri": "SSRI with low sodium: consider another class for the indication, or recheck sodium after starting "
            "(European hyponatraemia guideline 2014).",
}


def _applies(facts: PatientFacts) -> OrderFinding | None:
    drafts = order_checks.new_drafts(facts, CLASSES)
    if not drafts:
        return None
    abnormal = [a for a in (electrolytes.assess(r, key) for r, key, _ in electrolytes.latest_graded(facts)) if a]
    hits = []
    for draft in drafts:
        effects = [BY_CLASS[c] for c in CLASSES if c in draft.classes]
        evidence = tuple(order_checks.lab_evidence(a.result, f"{a.direction}; the drafted {e.label} lowers it "
                                                             "further", a.range_used, qualifier=a.direction)
                         for e in effects for a in abnormal
                         if (a.result.analyte.partition("-")[0], a.direction) in e.labs)
        if evidence:
            mechanism = "; ".join(f"a {e.label} {e.mechanism} ({e.source})" for e in effects)
            hits.append(Hit(draft, evidence, mechanism + "."))
    return OrderFinding(tuple(hits)) if hits else None


def _card(finding: OrderFinding, facts: PatientFacts) -> Card:
    return order_checks.card(
        RULE, finding, facts, headline=order_checks.worsens_headline,
        intro="Low potassium, magnesium or sodium cause muscle cramps and leg pain at night; some drugs other than "
              "diuretics lower them further.",
        next_steps=[STEPS[c] for c in CLASSES if any(c in h.draft.classes for h in finding.hits)],
        guideline_keys=("hyponatraemia-2014", "ctcae-v5"))


RULE = Rule(
    id="order-medication-effect", version="1.0.0", topic=Topic.MEDICATION_EFFECT,
    hooks=frozenset({ORDER_SELECT, ORDER_SIGN}),
    needs=("patient", "observations", "medications", "medicationRequests"), applies=_applies, card=_card,
    analytes=("potassium", "magnesium", "sodium"), drug_classes=CLASSES,
    summary="A draft beta-2 agonist with low K or Mg, or a draft SSRI with low Na.",
    fires_when="draft starts a beta-2 agonist with low potassium or magnesium, or an SSRI with low sodium "
               "(latest result within 90 days)",
    quiet_when="drug already current (re-order); the electrolyte in range or not measured in 90 days",
    references=("hyponatraemia-2014", "ctcae-v5"),
)
