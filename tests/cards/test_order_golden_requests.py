"""The order-time golden requests: up to date with their generator, well-formed, and firing as their names say.

The web layer's golden runner (tests/test_golden.py) pairs them with responses; this test checks the requests
themselves through the same path the web layer uses (prefetch resources + draftOrders entries -> build_facts).
"""
from __future__ import annotations

import json
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.patient import Patient

from cards import engine, registry
from cards.facts import build_facts
from tests.cards import order_golden_cases as golden
from tests.fhir_builders import NOW

CASES = [(s, c) for s in golden.SERVICES for c in golden.CASES]


def _ids(value: tuple[str, str]) -> str:
    return f"{value[0]}/{value[1]}"


def test_every_pair_has_fires_and_quiet_cases() -> None:
    names = list(golden.CASES)
    for topic in ("diuretic-effect", "statin-muscle-symptoms", "restless-legs", "medication-effect"):
        assert any(n.startswith(f"fires-{topic}-") for n in names), topic
    assert sum(n.startswith("quiet-") for n in names) >= 8
    assert any("sandbox" in n for n in names)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_file_is_current(case: tuple[str, str]) -> None:
    """Regenerate with `python -m tests.cards.order_golden_cases` after changing the table."""
    assert golden.path(*case).read_text() == golden.render(*case)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_request_is_cds_hooks_2_shaped(case: tuple[str, str]) -> None:
    service_id, name = case
    req = json.loads(golden.path(*case).read_text())
    assert req["hook"] == registry.service(service_id).hook
    ctx = req["context"]
    assert ctx["userId"].startswith("Practitioner/") and ctx["patientId"]
    assert ("selections" in ctx) == (req["hook"] == "order-select")
    assert ctx["draftOrders"]["resourceType"] == "Bundle"
    if "sandbox" not in name:  # Sandbox-shaped drafts are invalid R4 on purpose
        Bundle.model_validate(ctx["draftOrders"])
    assert set(req["prefetch"]) == set(registry.service(service_id).prefetch)
    Patient.model_validate(req["prefetch"]["patient"])
    for key, value in req["prefetch"].items():
        if key != "patient":
            Bundle.model_validate(value)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_request_fires_as_named(case: tuple[str, str]) -> None:
    service_id, name = case
    req: dict[str, Any] = json.loads(golden.path(*case).read_text())
    drafts = [e.get("resource") for e in req["context"]["draftOrders"].get("entry", [])]
    facts = build_facts(req["prefetch"].values(), now=NOW, patient_id=req["context"]["patientId"],
                        draft_orders=drafts)
    cards = engine.evaluate(registry.service(service_id), facts)
    assert {c.topic for c in cards} == golden.expected_topics(name)
    # A "-info" case is a finding the card mentions without warning (a CK of at most 4 x ULN next to a statin draft).
    assert all(c.indicator.value == ("info" if name.endswith("-info") else "warning") for c in cards)
