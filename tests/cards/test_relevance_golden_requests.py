"""The relevance golden requests: current with their generator, and each service showing what EXPECTED names.

Checked through the path the web layer uses (prefetch -> build_facts -> engine.decide with the default setting);
tests/test_golden.py pairs the same files with their HTTP responses.
"""
from __future__ import annotations

import json
from typing import Any

import pytest

from cards import engine, registry
from cards.facts import build_facts
from tests.cards import relevance_golden_cases as golden
from tests.fhir_builders import NOW

CASES = sorted(golden.CASES)


def test_every_case_has_expectations() -> None:
    assert set(golden.EXPECTED) == set(golden.CASES)
    causes = [golden.EXPECTED[c][0] for c in CASES]
    workup = [golden.EXPECTED[c][1] for c in CASES]
    assert any(shown != all_ for shown, all_ in zip(causes, workup)), "no case withholds a card"
    assert any(shown and shown == all_ for shown, all_ in zip(causes, workup)), "no case shows actionable cards"


@pytest.mark.parametrize("service", golden.SERVICES)
@pytest.mark.parametrize("case", CASES)
def test_file_is_current(case: str, service: str) -> None:
    """Regenerate with `python -m tests.cards.relevance_golden_cases` after changing the table."""
    assert golden.path(case, service).read_text() == golden.render(case, service)


@pytest.mark.parametrize("case", CASES)
def test_each_service_shows_what_is_expected(case: str) -> None:
    for index, service in enumerate(golden.SERVICES):
        req: dict[str, Any] = json.loads(golden.path(case, service).read_text())
        facts = build_facts(req["prefetch"].values(), now=NOW, patient_id=req["context"]["patientId"],
                            encounter_id=req["context"].get("encounterId"))
        decision = engine.decide(registry.service(service), facts)
        assert [c.topic for c in decision.shown] == golden.EXPECTED[case][index], service
        # Nothing is lost: what the default service withholds is exactly what the work-up service adds.
        assert len(decision.shown) + len(decision.withheld) == len(golden.EXPECTED[case][1])
