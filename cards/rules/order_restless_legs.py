"""Order-time check: a draft drug that aggravates restless legs in a patient with RLS on record.

Fires when: a draft order starts (cards.order_checks: not already current) an RLS-aggravating drug - an
  antipsychotic, metoclopramide (D2-antagonist antiemetic), a sedating antihistamine, an SSRI or SNRI, or
  mirtazapine - AND the patient has an active RLS diagnosis (cond-rls, cond-rls-pregnancy; one evidence line per
  Condition). Iron deficiency by the AASM 2024 thresholds (latest ferritin within the iron window at or below the
  iron-therapy cut-off, or transferrin saturation below it, reported or iron / TIBC as a percentage from the same day,
  even inside the lab's normal range) is listed as further evidence and advice, never as a reason to fire on its own.
  Thresholds, window and TSAT calculation are the patient-view rule restless-legs'
  (cards/knowledge/data/thresholds/rls.json); the drug classes are cards.drug_effects'.
Why not on low iron alone: low ferritin is a cause of RLS symptoms, not RLS; a drug that can aggravate RLS is no
  hazard to a patient without it, and these drugs are often first-line for their indication - SNRIs (duloxetine)
  for painful diabetic neuropathy (ADA Standards of Care 2025 section 12; AAN 2021 guideline, Level B). Iron
  deficiency without RLS is the patient-view card's (restless-legs: its cause must be found).
Warning, one card listing every such draft; suggestions remove the draft. No alternative drug is offered, the
  choice depends on the indication - except for an SNRI drafted with diabetic neuropathy on record, where
  gabapentin or pregabalin is named (first-line for painful diabetic neuropathy and for RLS).
Quiet when: no such draft; the drug is already current (a re-order); no active RLS diagnosis (whatever the iron
  studies).
Needs: draftOrders, medications (+ medicationRequests), conditions, observations (ferritin, TSAT, iron, TIBC).
References: AASM RLS/PLMD guideline 2024 (Winkelman et al., J Clin Sleep Med 2025;21(1):137-152): iron thresholds
  (good practice statement 1) and the medications that exacerbate RLS (antidopaminergic, antihistaminergic,
  serotonergic); ADA Standards of Care 2025 section 12 and AAN 2021 (Price et al., Neurology 2022;98:31-43): SNRIs
  among the first-line drugs for painful diabetic neuropathy.
"""
from __future__ import annotations

from cards import order_checks
from cards.drug_effects import BY_CLASS, RLS_AGGRAVATING
from cards.facts import PatientFacts
from cards.knowledge import threshold
from cards.model import Card
from cards.order_checks import Evidence, Hit, OrderFinding
from cards.rule import ORDER_SELECT, ORDER_SIGN, Rule
from cards.rules import restless_legs as rls
from cards.topics import Topic

IRON_WINDOW = threshold("rls.iron-lookback")
FERRITIN_RLS = threshold("rls.ferritin-iron-therapy")
TSAT_RLS = threshold("rls.tsat-iron-therapy")
WINDOW_TEXT = f"{IRON_WINDOW.value * 12 / 365:g} months"
FERRITIN_TEXT = f"{FERRITIN_RLS.compare} {FERRITIN_RLS.value:g} ng/mL"
TSAT_TEXT = f"{TSAT_RLS.compare} {TSAT_RLS.value:g}%"
SHORT = {"cond-rls": "RLS on the problem list", "cond-rls-pregnancy": "RLS in pregnancy on the problem list"}


def _findings(facts: PatientFacts) -> list[Evidence]:
    """RLS on record, then low iron as further evidence; nothing (no card) without an active RLS diagnosis."""
    evidence = [order_checks.condition_evidence(c, SHORT[c.valueset], tag="rls") for c in rls.rls_conditions(facts)]
    if not evidence:
        return []
    ferritin = facts.latest("ferritin", IRON_WINDOW.days)
    if rls.ferritin_low(ferritin) and ferritin is not None:
        evidence.append(order_checks.lab_evidence(ferritin, f"iron deficiency for RLS (AASM 2024: {FERRITIN_TEXT})",
                                                  f"> {FERRITIN_RLS.value:g} ng/mL (AASM 2024)", tag="iron"))
    tsat, calculated = rls.transferrin_saturation(facts)
    if rls.tsat_low(tsat) and tsat is not None:
        note = "calculated from iron/TIBC of the same day; " if calculated else ""
        evidence.append(order_checks.lab_evidence(tsat, note + f"iron deficiency for RLS (AASM 2024: {TSAT_TEXT})",
                                                  f">= {TSAT_RLS.value:g}% (AASM 2024)", tag="iron"))
    return evidence


def _mechanism(classes: frozenset[str]) -> str:
    effects = [BY_CLASS[c] for c in RLS_AGGRAVATING if c in classes]
    return "; ".join(f"{e.with_article} {e.mechanism} ({e.source})" for e in effects) + "."


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


def _tags(finding: OrderFinding) -> set[str]:
    return {e.tag for h in finding.hits for e in h.evidence}


def _steps(facts: PatientFacts, finding: OrderFinding) -> list[str]:
    steps = ["Consider whether the drafted drug is needed, or a drug of another class for the same indication."]
    drafted = {c for h in finding.hits for c in h.draft.classes}
    if "snri" in drafted and facts.has_condition("cond-diabetic-neuropathy"):
        steps.append("Diabetic neuropathy on record: gabapentin or pregabalin is first-line both for painful diabetic "
                     "neuropathy (ADA 2025 section 12; AAN 2021) and for RLS (AASM 2024), and may serve both.")
    if "iron" in _tags(finding):
        steps.append(f"Iron deficiency for RLS (ferritin {FERRITIN_TEXT} or transferrin saturation {TSAT_TEXT}): "
                     "oral or IV iron (AASM 2024).")
    elif facts.latest("ferritin", IRON_WINDOW.days) is None or rls.transferrin_saturation(facts)[0] is None:
        steps.append(f"No complete iron studies in {WINDOW_TEXT}: check ferritin and transferrin saturation, morning "
                     "draw (AASM 2024).")
    return steps


def _intro(finding: OrderFinding) -> str:
    """What RLS is, which drafted classes aggravate it (only those drafted), and iron only when it is low."""
    classes = dict.fromkeys(BY_CLASS[c].label for h in finding.hits for c in RLS_AGGRAVATING if c in h.draft.classes)
    text = ("Restless legs cause an urge to move the legs at rest, worst in the evening and at night. The drafted "
            + " and ".join(classes) + (" aggravates" if len(classes) == 1 else " aggravate") + " it")
    return text + (", and iron deficiency makes it worse." if "iron" in _tags(finding) else ".")


def _card(finding: OrderFinding, facts: PatientFacts) -> Card:
    return order_checks.card(
        RULE, finding, facts, headline=_headline, intro=_intro(finding), next_steps=_steps(facts, finding),
        guideline_keys=_keys(finding, facts))


def _keys(finding: OrderFinding, facts: PatientFacts) -> tuple[str, ...]:
    drafted = {c for h in finding.hits for c in h.draft.classes}
    if "snri" in drafted and facts.has_condition("cond-diabetic-neuropathy"):
        return ("aasm-rls-2024", "ada-2025", "aan-pdn-2021")
    return ("aasm-rls-2024",)


RULE = Rule(
    id="order-restless-legs", version="1.2.1", topic=Topic.RESTLESS_LEGS, hooks=frozenset({ORDER_SELECT, ORDER_SIGN}),
    needs=("patient", "observations", "medications", "medicationRequests", "conditions"), applies=_applies,
    card=_card, analytes=("ferritin", "tsat", "iron", "tibc"),
    valuesets=rls.RLS_VALUESETS + ("cond-diabetic-neuropathy",),
    drug_classes=RLS_AGGRAVATING,
    summary="A draft RLS-aggravating drug in a patient with RLS on record; low iron (ferritin "
            f"{FERRITIN_TEXT}, TSAT {TSAT_TEXT}) shown with it.",
    fires_when="draft starts an antipsychotic, metoclopramide, sedating antihistamine, SSRI/SNRI or mirtazapine AND "
               f"an active RLS diagnosis; ferritin {FERRITIN_TEXT} or TSAT {TSAT_TEXT} within {WINDOW_TEXT} is "
               "listed with it",
    quiet_when="drug already current (re-order); no active RLS diagnosis, whatever the iron studies (an SNRI is "
               "first-line for painful diabetic neuropathy, ADA 2025 section 12, AAN 2021)",
    advice="Reconsider the drafted drug or choose another class for the indication (the card offers removal); treat "
           f"iron deficiency for RLS with oral or IV iron, or check iron studies when none exist within {WINDOW_TEXT}; "
           "an SNRI drafted with diabetic neuropathy on record: gabapentin or pregabalin treats both.",
    actionable_when="every finding: the drafted drug is its own context",
    possible_cause_when="never",
    references=("aasm-rls-2024", "ada-2025", "aan-pdn-2021"),
)
