"""Every sample patient, evaluated by the rule engine directly, yields exactly the topics and indicators that
``samples/index.json`` promises (the manifest is what `samples list` shows users).
"""
from __future__ import annotations

import pytest

from cards import engine, registry
from cards import facts as facts_mod
from cds_service import samples

from .conftest_fhir import SAMPLE_NOW


@pytest.mark.parametrize("name", [s.id for s in samples.list_samples()])
def test_sample_triggers_what_the_manifest_says(name: str) -> None:
    resources = samples.resources_of(samples.materialize(name, SAMPLE_NOW))
    facts = facts_mod.build_facts(resources, now=SAMPLE_NOW, patient_id=name)
    cards = engine.evaluate(registry.service("leg-pain-causes"), facts)
    assert {c.topic: c.indicator.value for c in cards} == samples.sample(name).topics
    assert len({c.topic for c in cards}) == len(cards), "one card per topic"
