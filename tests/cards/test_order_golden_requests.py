"""The order-time golden requests: up to date with their generator, well-formed, and firing as their names say.

Each case is stored once (its order-select call) and run for both order services (tests/golden_cases.py). The web
layer's golden runner (tests/test_golden.py) pairs them with responses; this test checks the calls themselves
through the same path the web layer uses (prefetch resources + draftOrders entries -> build_facts).
"""
from __future__ import annotations

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.patient import Patient

from cards import engine, registry
from cards.facts import build_facts
from tests import golden_cases
from tests.cards import order_golden_cases as golden
from tests.fhir_builders import NOW

CASES = sorted(golden.CASES)
CALLS = [call for case in CASES for call in golden_cases.calls_of(golden.path(case))]


def _ids(call: golden_cases.GoldenCall) -> str:
    return call.name


def test_every_pair_has_fires_and_quiet_cases() -> None:
    names = list(golden.CASES)
    for topic in ("diuretic-effect", "statin-muscle-symptoms", "restless-legs", "medication-effect"):
        assert any(n.startswith(f"fires-{topic}-") for n in names), topic
    assert sum(n.startswith("quiet-") for n in names) >= 8
    assert any("sandbox" in n for n in names)


@pytest.mark.parametrize("case", CASES)
def test_file_is_current(case: str) -> None:
    """Regenerate with `python -m tests.cards.order_golden_cases` after changing the table."""
    assert golden.path(case).read_text() == golden.render(case)


def test_every_order_service_runs_every_case() -> None:
    order_services = {s.id for s in registry.services() if s.hook in ("order-select", "order-sign")}
    assert {call.service_id for call in CALLS} == order_services
    assert len(CALLS) == len(order_services) * len(CASES)


@pytest.mark.parametrize("call", CALLS, ids=_ids)
def test_request_is_cds_hooks_2_shaped(call: golden_cases.GoldenCall) -> None:
    service_id, name, req = call.service_id, call.case, call.request
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


@pytest.mark.parametrize("call", CALLS, ids=_ids)
def test_request_fires_as_named(call: golden_cases.GoldenCall) -> None:
    service_id, name, req = call.service_id, call.case, call.request
    drafts = [e.get("resource") for e in req["context"]["draftOrders"].get("entry", [])]
    facts = build_facts(req["prefetch"].values(), now=NOW, patient_id=req["context"]["patientId"],
                        draft_orders=drafts)
    cards = engine.evaluate(registry.service(service_id), facts)
    assert {c.topic for c in cards} == golden.expected_topics(name)
    # A "-info" case is a finding the card mentions without warning (a CK of at most 4 x ULN next to a statin draft).
    assert all(c.indicator.value == ("info" if name.endswith("-info") else "warning") for c in cards)
