"""The patient-view golden requests: current with their generator, well-formed, and firing as their names say.

The web layer's golden runner (tests/test_golden.py) pairs them with responses; this test checks the requests
themselves through the path the web layer uses (prefetch resources -> build_facts -> engine).
"""
from __future__ import annotations

import json
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.patient import Patient

from cards import engine, registry
from cards.facts import build_facts
from tests.cards import patient_golden_cases as golden
from tests.fhir_builders import NOW

CASES = sorted(golden.CASES)
NEW_TOPICS = ("medication-effect", "restless-legs", "dehydration", "nerve-compression", "spinal-stenosis",
              "poor-circulation")


def test_every_new_topic_has_fires_and_quiet_cases() -> None:
    for topic in NEW_TOPICS:
        assert any(n.startswith(f"fires-{topic}-") for n in CASES), topic
    assert sum(n.startswith("quiet-") for n in CASES) >= len(NEW_TOPICS)
    assert all(n.startswith(("fires-", "quiet-")) or n in golden.EXPECTED for n in CASES)


@pytest.mark.parametrize("case", CASES)
def test_file_is_current(case: str) -> None:
    """Regenerate with `python -m tests.cards.patient_golden_cases` after changing the table."""
    assert golden.path(case).read_text() == golden.render(case)


@pytest.mark.parametrize("case", CASES)
def test_request_is_cds_hooks_2_shaped(case: str) -> None:
    req = json.loads(golden.path(case).read_text())
    service = registry.service(golden.SERVICE)
    assert req["hook"] == service.hook and req["context"]["patientId"]
    assert set(req["prefetch"]) == set(service.prefetch) - {"encounter"}  # no context.encounterId here
    Patient.model_validate(req["prefetch"]["patient"])
    for key, value in req["prefetch"].items():
        if key != "patient":
            Bundle.model_validate(value)


@pytest.mark.parametrize("case", CASES)
def test_request_fires_as_named(case: str) -> None:
    req: dict[str, Any] = json.loads(golden.path(case).read_text())
    facts = build_facts(req["prefetch"].values(), now=NOW, patient_id=req["context"]["patientId"])
    cards = engine.evaluate(registry.service(golden.SERVICE), facts)
    assert [c.topic for c in cards] == golden.expected_topics(case)
    if case in golden.EXPECTED:
        assert [(c.topic, c.indicator.value) for c in cards] == golden.EXPECTED[case]
    for needle, indicator in (("-info", "info"), ("-warning", "warning"), ("-critical", "critical")):
        if case.endswith(needle):
            assert cards[0].indicator.value == indicator
