"""Which cards a chart open shows: actionable findings always, possible causes only where the legs hurt.

`patient-view` runs on every chart open. A card that only offers a possible cause of leg symptoms ("On
atorvastatin: statins can cause leg muscle pain") is noise on the chart of someone whose legs do not hurt, and
each extra reminder per encounter lowers acceptance of the rest (Ancker et al., BMC Med Inform Decis Mak 2017;17:36).
So each card carries a kind (cards.model.CardKind), set by its rule from the finding:

* actionable - shown always: an abnormal or critical value (and the drug the card links to it), a label
  contraindication or dose cap, a critical finding, every order check (the drafted drug is its own context);
* possible cause - shown only with *leg-symptom context*: the chart says the legs hurt, cramp, tingle or are
  restless (`leg_symptom_context`), or the service is the work-up service, or the setting is `always`.

Leg-symptom context is an active, not refuted Condition in the `leg-symptoms` value set asserted (onset or
recorded) within CONTEXT_WINDOW, or undated; or a reasonCode in the same set on the Encounter of
`context.encounterId`. Withheld cards are never lost silently: the hook route logs and audits them by rule id,
and `leg-pain-cds evaluate` lists them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from terminology import valuesets

from cards.knowledge import threshold
from cards.model import Card, CardKind

if TYPE_CHECKING:
    from cards.facts import PatientFacts

LEG_SYMPTOMS = "leg-symptoms"
WHEN_SYMPTOMATIC = "when-symptomatic"
ALWAYS = "always"
POLICIES = (WHEN_SYMPTOMATIC, ALWAYS)

CONTEXT_WINDOW = threshold("relevance.leg-symptom-window")


@dataclass(frozen=True)
class LegSymptomContext:
    """Why the chart is taken to say the legs hurt (for the log and `evaluate`; ids only, no patient data)."""

    source: str  # "encounter-reason" | "condition"
    resource_id: str | None
    code: str | None


@dataclass(frozen=True)
class Decision:
    """The cards a call shows, the possible-cause cards it withholds, and the context that decided it."""

    shown: list[Card]
    withheld: list[Card]
    context: LegSymptomContext | None


def leg_symptom_context(facts: PatientFacts) -> LegSymptomContext | None:
    """The first piece of leg-symptom context in the chart, or None."""
    if facts.encounter_id is not None:
        reasons = facts.encounter_reasons.get(facts.encounter_id, ())
        if reasons:
            vs = valuesets.load(LEG_SYMPTOMS)
            for concept in reasons:
                codings = [(c.get("system"), c.get("code")) for c in concept.get("coding") or ()
                           if isinstance(c, dict) and isinstance(c.get("code"), str)
                           and isinstance(c.get("system"), (str, type(None)))]
                text = concept.get("text") if isinstance(concept.get("text"), str) else None
                if vs.matches(codings, [text]):
                    code = next((code for system, code in codings if vs.contains(system, code)), None)
                    return LegSymptomContext("encounter-reason", facts.encounter_id, code)
    since = facts.now - timedelta(days=CONTEXT_WINDOW.value)
    for match in facts.conditions(LEG_SYMPTOMS):
        if match.latest is None or match.latest >= since:
            cid = match.condition_id if isinstance(match.condition_id, str) else None
            return LegSymptomContext("condition", cid, match.code)
    return None


def decide(cards: list[Card], facts: PatientFacts, policy: str) -> Decision:
    """Split `cards` by kind: with policy `always`, or with leg-symptom context, every card is shown."""
    if policy == ALWAYS or all(c.kind is CardKind.ACTIONABLE for c in cards):
        return Decision(list(cards), [], None)
    context = leg_symptom_context(facts)
    if context is not None:
        return Decision(list(cards), [], context)
    shown = [c for c in cards if c.kind is CardKind.ACTIONABLE]
    withheld = [c for c in cards if c.kind is not CardKind.ACTIONABLE]
    return Decision(shown, withheld, None)
