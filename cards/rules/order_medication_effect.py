"""Order-time check: a draft non-diuretic, non-statin drug that lowers an electrolyte already low.

Topic `medication-effect`, not `electrolyte-imbalance`: the card is about the drug being ordered (the one thing the
clinician can act on at order time), exactly as a drafted diuretic goes to `diuretic-effect`; the patient-view
`electrolyte-imbalance` card already covers the lab value itself, and the patient-view `medication-effect` topic is
defined by the same drug classes.

Fires when: a draft order starts (cards.order_checks: not already current) a drug of a pair below AND the latest
  result within the electrolyte window is low (graded exactly as the electrolyte rule grades it):
  - beta-2 agonist (albuterol, levalbuterol, salmeterol, formoterol, terbutaline) with low potassium or low
    magnesium - intracellular shift, dose-dependent;
  - SSRI with low sodium - SIAD-type hyponatraemia, most in older adults (European hyponatraemia guideline 2014
    names SSRIs among the drugs causing SIAD);
  - SNRI (venlafaxine, duloxetine, desvenlafaxine) with low sodium - the same SIADH effect, a Warnings and
    Precautions item (Hyponatremia) of each SNRI's US label. Mirtazapine is left out rather than over-claimed.
  Other active drugs that also lower the same electrolyte (thiazides, loop diuretics, SSRIs, SNRIs, ... as the
  electrolyte rule and cards.drug_effects link them) are listed with how long each has been taken (the medication
  line: "since 2024-03-01 (2 years)"): the draft adds to them.
Warning, one card listing every pair; suggestions remove the draft.
Quiet when: no such draft; the drug is already current (a re-order); the electrolyte in range or not measured.
Lab effects and mechanisms: cards.drug_effects (shared with the patient-view medication-effect rule).
Left out: vincristine with low sodium (chemotherapy is ordered in oncology systems with their own checks) and PPIs
  with low magnesium (the effect needs months of use, so a new order does not worsen it now).
Card text: the opening line names only the low results found, the steps only the drafted classes.
Needs: draftOrders, medications (+ medicationRequests), observations (potassium, magnesium, sodium).
References: albuterol label (Hypokalemia) and Bodenhamer 1992 (beta-2 agonists lower potassium and magnesium);
  European hyponatraemia guideline 2014 (SSRIs among the drugs causing SIAD); SNRI US labels, Warnings and
  Precautions: Hyponatremia; CTCAE v5.0 (2017) for the grades.
"""
from __future__ import annotations

from cards import card_text, guidelines, order_checks
from cards.drug_effects import BY_CLASS, EFFECTS
from cards.facts import LabResult, MedicationUse, PatientFacts, UnreadableResult
from cards.knowledge import threshold
from cards.model import Card
from cards.order_checks import Evidence, Hit, OrderFinding
from cards.rule import ORDER_SELECT, ORDER_SIGN, Rule
from cards.rules import electrolyte_imbalance as electrolytes
from cards.topics import Topic

# The drug classes checked at order time; their lab effects, mechanisms and sources are cards.drug_effects' (shared
# with the patient-view medication-effect rule). vinca-alkaloid and ppi are left out (see the module docstring); the
# RLS-aggravating classes go to order-restless-legs.
CLASSES = ("beta2-agonist", "ssri", "snri")
LAB_WINDOW = threshold("electrolytes.lookback")  # the electrolyte rule's window (latest_graded reads it)
# What the drafted class does to the electrolyte, with the sources of that effect only (an SSRI card about sodium
# does not cite or describe the SSRI's effect on restless legs: that belongs to order-restless-legs).
LAB_EFFECT = {
    "beta2-agonist": ("shifts potassium into cells and lowers magnesium, most with high or frequent doses",
                      ("albuterol-label", "bodenhamer-1992")),
    "ssri": ("can cause SIAD, which lowers sodium, most in older adults", ("hyponatraemia-2014",)),
    "snri": ("can cause SIADH, which lowers sodium, most in older adults and with diuretics or volume depletion",
             ("snri-labels-hyponatremia",)),
}
STEPS = {
    "beta2-agonist": "Beta-2 agonist with a low {labs}: correct it before or as the drug starts; with high or "
                     "nebulised doses recheck potassium (albuterol label; Bodenhamer 1992).",
    "ssri": "SSRI with a low {labs}: consider another class for the indication, or recheck sodium after starting "
            "(European hyponatraemia guideline 2014).",
    "snri": "SNRI with a low {labs}: find the cause of the low sodium first; consider another drug for the indication, "
            "or recheck sodium after starting (SNRI labels, Hyponatremia).",
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
            evidence += _also_lowering(facts, draft, [e.lab for e in evidence if e.lab is not None])
            mechanism = "; ".join(f"{e.with_article} {LAB_EFFECT[e.drug_class][0]} ({_sources(e.drug_class)})"
                                  for e in effects)
            hits.append(Hit(draft, evidence, mechanism + "."))
    return OrderFinding(tuple(hits)) if hits else None


def _also_lowering(facts: PatientFacts, draft: MedicationUse,
                   labs: list[LabResult | UnreadableResult]) -> tuple[Evidence, ...]:
    """Active drugs (not the draft's ingredient) that also lower the low electrolytes found, each with how long it
    has been taken: a draft added to a thiazide taken for years reads differently from a first sodium-lowering drug."""
    abnormal = [a for a in (electrolytes.assess(r, key) for r, key, _ in electrolytes.latest_graded(facts)) if a]
    low = {(a.family, a.direction): a for a in abnormal if a.result in labs}
    out: list[Evidence] = []
    for (family, direction), a in low.items():
        classes = set(electrolytes.diuretic_explains(a)) | {e.drug_class for e in EFFECTS
                                                             if (family, direction) in e.labs and not e.needs_lab}
        meds = [m for m in facts.medications() if m.classes & classes and m.ingredient != draft.ingredient]
        name = card_text.ANALYTE_NAMES.get(a.result.analyte, a.result.analyte).lower()
        out += [order_checks.drug_evidence(m, f"also lowers {name}", facts.now)
                for m in card_text.one_per_ingredient(meds)]
    return tuple(out)


def _sources(drug_class: str) -> str:
    return "; ".join(guidelines.get(k).label for k in LAB_EFFECT[drug_class][1])


def _low(hits: list[Hit]) -> str:
    """The low results of these hits by name ("potassium or magnesium"), in the order they were found."""
    names = dict.fromkeys(card_text.ANALYTE_NAMES.get(e.lab.analyte, e.lab.analyte).lower()
                          for h in hits for e in h.evidence if e.lab is not None)
    return " or ".join(names)


def _card(finding: OrderFinding, facts: PatientFacts) -> Card:
    hits = list(finding.hits)
    steps = [STEPS[c].replace("{labs}", _low([h for h in hits if c in h.draft.classes]))
             for c in CLASSES if any(c in h.draft.classes for h in hits)]
    keys = tuple(dict.fromkeys(k for c in CLASSES if any(c in h.draft.classes for h in hits)
                               for k in LAB_EFFECT[c][1])) + ("ctcae-v5",)
    return order_checks.card(
        RULE, finding, facts, headline=order_checks.worsens_headline,
        intro=f"A low {_low(hits)} can cause muscle cramps and leg pain at night; the drafted drug can lower it "
              "further.",
        next_steps=steps, guideline_keys=keys)


RULE = Rule(
    id="order-medication-effect", version="1.2.1", topic=Topic.MEDICATION_EFFECT,
    hooks=frozenset({ORDER_SELECT, ORDER_SIGN}),
    needs=("patient", "observations", "medications", "medicationRequests"), applies=_applies, card=_card,
    analytes=("potassium", "magnesium", "sodium"), drug_classes=CLASSES,
    summary="A draft beta-2 agonist with low K or Mg, or a draft SSRI or SNRI with low Na.",
    fires_when="draft starts a beta-2 agonist with low potassium or magnesium, or an SSRI or SNRI with low sodium "
               f"(latest result within {LAB_WINDOW.value:g} days)",
    quiet_when=f"drug already current (re-order); the electrolyte in range or not measured in {LAB_WINDOW.value:g} "
               "days",
    advice="Remove the draft or start it knowingly: correct a low potassium or magnesium before or as a beta-2 "
           "agonist starts; with a low sodium consider another class than an SSRI or SNRI, or recheck sodium after "
           "starting; other active drugs lowering the same electrolyte are listed with how long each has been taken.",
    actionable_when="every finding: the drafted drug is its own context",
    possible_cause_when="never",
    references=("albuterol-label", "bodenhamer-1992", "hyponatraemia-2014", "snri-labels-hyponatremia", "ctcae-v5"),
)
