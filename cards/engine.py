"""Evaluate a service's rules against a patient's facts: one card per topic, most urgent first."""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from cards import relevance
from cards.model import Card

if TYPE_CHECKING:
    from cards.facts import PatientFacts
    from cards.registry import Service


def evaluate(service: Service, facts: PatientFacts) -> list[Card]:
    """Run every rule of `service`; no try/except here: a failing rule is a bug, not "no advice"."""
    cards: dict[str, Card] = {}
    for rule in service.rules:
        finding = rule.applies(facts)
        if finding is None:
            continue
        card = dataclasses.replace(rule.card(finding, facts), rule_ids=(rule.ref,))
        topic = card.topic or rule.topic.value
        if topic in cards:  # the registry forbids two rules per topic per service; keep the worse card
            previous = cards[topic]
            if previous.indicator.rank >= card.indicator.rank:
                continue
        cards[topic] = card
    return sorted(cards.values(), key=lambda c: (-c.indicator.rank, c.topic or ""))


def decide(service: Service, facts: PatientFacts, possible_causes: str = relevance.WHEN_SYMPTOMATIC
           ) -> relevance.Decision:
    """Evaluate, then keep possible-cause cards only where the chart gives leg-symptom context (cards/relevance.py).

    `possible_causes` is the site's (or the calling client's) setting; a service that always shows them (the
    work-up service) overrides it.
    """
    policy = service.possible_causes or possible_causes
    return relevance.decide(evaluate(service, facts), facts, policy)
