"""Every rule has a golden pair: a case where its card fires, and a near miss where it stays quiet.

Read from the golden files themselves (tests/golden_cases.py), not from the generators' tables, so that the pair is
what the service answers:
- fires: a golden answer of a service that runs the rule carries a card naming the rule (each card's footer says
  "Rule `<id>@<version>`", cards/card_text.py) - and that card has the rule's topic;
- quiet: a `quiet-` case of such a service (a case meant to give no card) whose answer has no card of the rule,
  although its chart holds data the rule reads: a lab of one of its analytes, a drug of one of its classes, or a
  condition in one of its value sets (cards/rule.py: Rule.analytes, drug_classes, valuesets). A resolved
  diagnosis, a stopped drug or a value just inside a threshold counts; an empty chart does not.
New cases go in the generators (tests/cards/*_golden_cases.py, tests/cards/golden_areas/), then
`pytest tests/test_golden.py --update-golden` writes their answers.
"""
from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest

from cards import registry
from cards.rule import Rule
from terminology import analytes, drugs, valuesets
from tests import golden_cases
from tests.test_any_json_type import resources

RULE_REF = re.compile(r"Rule `([a-z0-9-]+)@[^`]+`")
MEDICATION_TYPES = ("MedicationStatement", "MedicationRequest", "Medication")


Cards = tuple[dict[str, Any], ...]


@cache
def _answers() -> tuple[tuple[golden_cases.GoldenCall, int, Cards], ...]:
    """Every golden call with the status and the cards of its expected answer (no cards for an error answer)."""
    out = []
    for call in golden_cases.calls():
        expected = call.expected()
        cards = expected["body"].get("cards", []) if isinstance(expected["body"], dict) else []
        out.append((call, expected["status"], tuple(cards)))
    return tuple(out)


def _runs(call: golden_cases.GoldenCall, rule: Rule) -> bool:
    return rule in registry.service(call.service_id).rules


def _named_rules(cards: Cards) -> set[str]:
    return {m.group(1) for card in cards for m in RULE_REF.finditer(card.get("detail", ""))}


def _concepts(resource: dict[str, Any]) -> list[dict[str, Any]]:
    """The CodeableConcepts that say what a resource is (a lab, a diagnosis, a drug)."""
    kind = resource["resourceType"]
    if kind == "Observation":
        return [resource.get("code") or {}] + [c.get("code") or {} for c in resource.get("component", [])]
    if kind == "Condition":
        return [resource.get("code") or {}]
    if kind in MEDICATION_TYPES:
        return [resource.get("medicationCodeableConcept") or resource.get("code") or {}]
    return []


def _codings(concept: dict[str, Any]) -> list[tuple[str | None, str | None, str | None]]:
    return [(c.get("system"), c.get("code"), c.get("display")) for c in concept.get("coding", [])]


def _reads(rule: Rule, resource: dict[str, Any]) -> bool:
    """Whether `resource` is data `rule` reads, whatever its status or value."""
    kind = resource["resourceType"]
    for concept in _concepts(resource):
        codings = _codings(concept)
        pairs = [(system, code) for system, code, _ in codings]
        if kind == "Observation" and analytes.analyte_for_codings(pairs) in rule.analytes:
            return True
        texts = [concept.get("text"), *(display for *_, display in codings)]
        if kind == "Condition" and any(valuesets.load(slug).matches(pairs, texts) for slug in rule.valuesets):
            return True
        found = drugs.match(codings, [concept.get("text")]) if kind in MEDICATION_TYPES else []
        if any(match.classes & set(rule.drug_classes) for match in found):
            return True
    return False


def fires(rule: Rule) -> list[str]:
    """The golden calls whose answer carries the rule's card."""
    out = []
    for call, _, cards in _answers():
        if _runs(call, rule) and rule.id in _named_rules(cards):
            assert {c["source"]["topic"]["code"] for c in cards if rule.id in _named_rules((c,))} == \
                {rule.topic.value}, f"{call.name}: a card of {rule.id} has another topic"
            out.append(call.name)
    return out


def near_misses(rule: Rule) -> list[str]:
    """The golden `quiet-` calls that hold data the rule reads and get no card of it."""
    return [call.name for call, status, cards in _answers()
            if _runs(call, rule) and call.case.startswith("quiet-") and status == 200
            and rule.id not in _named_rules(cards) and any(_reads(rule, r) for r in resources(call.request))]


RULES = registry.all_rules()


def test_every_rule_runs_in_a_service() -> None:
    assert all(any(rule in s.rules for s in registry.services()) for rule in RULES)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_fires_in_a_golden_case(rule: Rule) -> None:
    assert fires(rule), f"no golden case shows a card of {rule.id}: add a fires-{rule.topic.value}-... case"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_stays_quiet_in_a_golden_near_miss(rule: Rule) -> None:
    assert near_misses(rule), (f"no quiet- golden case holds data {rule.id} reads without its card: add a near miss "
                               f"(a value just inside its threshold, a resolved diagnosis, a stopped drug)")
