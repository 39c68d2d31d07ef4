from __future__ import annotations

from typing import Any

from cards import engine, registry
from cards.facts import build_facts
from cards.model import Card

from tests.fhir_builders import NOW, PATIENT_ID, patient


def cards_for(*resources: dict[str, Any], service: str = "leg-pain-causes") -> list[Card]:
    facts = build_facts([patient(), *resources], now=NOW, patient_id=PATIENT_ID)
    return engine.evaluate(registry.service(service), facts)


def card(topic: str, *resources: dict[str, Any]) -> Card | None:
    return next((c for c in cards_for(*resources) if c.topic == topic), None)


def indicator(topic: str, *resources: dict[str, Any]) -> str | None:
    c = card(topic, *resources)
    return c.indicator.value if c else None
