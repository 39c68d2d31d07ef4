"""Guidelines and drug effects are data (cards/knowledge/data), read and checked once; malformed entries fail at import."""
from __future__ import annotations

import pytest

from cards import drug_effects, guidelines, knowledge
from cards.knowledge import KnowledgeError


def test_every_cited_key_is_a_guideline() -> None:
    cited = {t.source for t in knowledge.all_thresholds().values() if t.source}
    cited |= {key for effect in drug_effects.EFFECTS for key in effect.guideline_keys}
    assert cited <= set(guidelines.GUIDELINES)
    assert all(g.url.startswith("https://") and g.label and g.citation for g in guidelines.GUIDELINES.values())


def test_drug_effects_keep_their_behaviour() -> None:
    ssri = drug_effects.BY_CLASS["ssri"]
    assert ssri.with_article == "an SSRI" and ("sodium", "low") in ssri.labs and ssri.worsens_rls
    assert ssri.step(["sertraline", "sertraline"]).startswith("Sertraline: ")
    assert drug_effects.RLS_AGGRAVATING == tuple(e.drug_class for e in drug_effects.EFFECTS if e.worsens_rls)
    assert all(e.where for e in drug_effects.EFFECTS)


@pytest.mark.parametrize("change", [
    {"guideline_keys": ["no-such-guideline"]},
    {"guideline_keys": []},
    {"where": ""},
    {"review": "no placeholder for the drugs"},
    {"unknown_field": 1},
    {"worsens_rls": True, "rls_property": ""},
])
def test_a_malformed_drug_effect_is_rejected(change: dict[str, object]) -> None:
    good = {"drug_class": "x", "label": "x", "symptom": "cramps", "mechanism": "m", "review": "{drugs}: review",
            "guideline_keys": ["ctcae-v5"], "where": "w"}
    drug_effects._effect(good)
    with pytest.raises(KnowledgeError):
        drug_effects._effect({**good, **change})


def test_reads_are_recorded_per_reading_module() -> None:
    """The docs list a number under the rules that read it, from this record (never from the source text)."""
    from cards.rules import electrolyte_imbalance, restless_legs

    assert electrolyte_imbalance.CRITICAL["potassium", "high"].id == "potassium.critical-high"
    assert "potassium.critical-high" in knowledge.read_by("cards.rules.electrolyte_imbalance")
    assert "potassium.critical-high" not in knowledge.read_by(restless_legs.__name__)
    assert knowledge.read_by("no.such.module") == ()


@pytest.mark.parametrize("entry", [
    {"key": "x", "label": "x", "citation": "c"},  # no url
    {"key": "x", "label": "x", "citation": "c", "url": "http://insecure.example"},
    {"key": "x", "label": "x", "citation": "c", "url": "https://example.org", "unknown": 1},
])
def test_a_malformed_guideline_is_rejected(monkeypatch: pytest.MonkeyPatch, entry: dict[str, str]) -> None:
    monkeypatch.setattr(guidelines, "entries", lambda *_: iter([entry]))
    with pytest.raises(KnowledgeError):
        guidelines._load()
