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
    # Through the default service with its default setting: each sample carries the leg complaint its story
    # describes, so what it promises shows on a chart open, not only in the work-up service.
    decision = engine.decide(registry.service("leg-pain-causes"), facts)
    cards = decision.shown
    assert {c.topic: c.indicator.value for c in cards} == samples.sample(name).topics
    assert not decision.withheld
    assert len({c.topic for c in cards}) == len(cards), "one card per topic"


def test_docs_table_lists_what_the_manifest_expects() -> None:
    """docs/samples.md's table of expected cards says what index.json says (and so what the tests check)."""
    import json
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    index = json.loads((root / "cds_service" / "samples" / "index.json").read_text(encoding="utf-8"))
    table = {m.group(1): m.group(2).strip() for m in re.finditer(r"^\| `(lpc-[a-z0-9-]+)` \| [^|]+ \| ([^|]+) \|",
                                                                  (root / "docs" / "samples.md").read_text(
                                                                      encoding="utf-8"), re.MULTILINE)}
    for patient in index["patients"]:
        expected = "; ".join(f"{e['topic']}: {e['indicator']}" for e in patient["expect"]) or "none"
        assert table.get(patient["id"]) == expected, patient["id"]
