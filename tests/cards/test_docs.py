"""docs/clinical-basis.md and the README's rule catalogue are generated from the knowledge data and the rules: the
checked-in files must equal the generated text, and every number a rule reads must be documented with its source."""
from __future__ import annotations

from pathlib import Path

import pytest

from cards import docs, knowledge, registry

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BASIS = ROOT / "docs" / "clinical-basis.md"


def test_clinical_basis_is_current() -> None:
    assert BASIS.read_text(encoding="utf-8") == docs.render_clinical_basis(), \
        "stale: run `python -m cards.docs --write` and commit"


def test_readme_catalogue_is_current() -> None:
    section = docs.section_of(README.read_text(encoding="utf-8"))
    assert section is not None, "README.md lacks the <!-- rules:start --> / <!-- rules:end --> markers"
    assert section == docs.render_rules_markdown(), "stale: run `python -m cards.docs --write` and commit"


def test_every_rule_is_documented_with_what_fires_it_and_what_it_advises() -> None:
    text = docs.render_clinical_basis()
    for rule in registry.all_rules():
        assert f"`{rule.id}` {rule.version}" in text
        assert rule.fires_when and rule.quiet_when and rule.references and rule.advice, rule.id


def test_every_number_has_a_source_or_a_stated_decision_and_is_used() -> None:
    used = docs.used_threshold_ids()
    for item in knowledge.all_thresholds().values():
        assert item.source is not None or item.decision, item.id
        assert item.source is None or item.where, f"{item.id}: say where in the source the number is"
        assert item.id in used, f"{item.id} is in the knowledge data but no rule reads it"


def test_the_thresholds_a_rule_reads_appear_in_its_section() -> None:
    from cards.rules import electrolyte_imbalance

    items = {t.id for t in docs.rule_thresholds(electrolyte_imbalance.RULE)}
    assert {"potassium.critical-high", "calcium.correct-below-albumin", "thiazide.max-calcium"} <= items
    text = docs.render_clinical_basis()
    assert "| `potassium.critical-high` | >= 6.5 mmol/L |" in text
    assert "| `dehydration.measured-osmolality` | > 300 mOsm/kg |" in text
    assert "product decision" in text


def test_knowledge_rejects_a_number_without_source_or_reason() -> None:
    with pytest.raises(knowledge.KnowledgeError):
        knowledge._entry({"id": "x", "value": 1, "unit": "mg/dL", "compare": "<", "means": "m", "source": None,
                          "where": "", "decision": None}, "test")
    with pytest.raises(knowledge.KnowledgeError):
        knowledge._entry({"id": "x", "value": 1, "unit": "mg/dL", "compare": "~", "means": "m",
                          "source": "ctcae-v5", "where": "w", "decision": None}, "test")
    with pytest.raises(knowledge.KnowledgeError):
        knowledge._entry({"id": "x", "value": 1, "unit": "mg/dL", "compare": "<", "means": "m",
                          "source": "no-such-guideline", "where": "w", "decision": None}, "test")


def test_write_creates_and_refreshes_the_section(tmp_path: Path) -> None:
    target = tmp_path / "rules.md"
    docs.write(target)
    first = target.read_text(encoding="utf-8")
    assert docs.section_of(first) == docs.render_rules_markdown()
    target.write_text(first.replace("| Rule |", "| Stale |", 1) + "\nkept after the markers\n", encoding="utf-8")
    docs.write(target)
    refreshed = target.read_text(encoding="utf-8")
    assert docs.section_of(refreshed) == docs.render_rules_markdown() and "kept after the markers" in refreshed


def test_cli_prints_the_clinical_basis(capsys: pytest.CaptureFixture[str]) -> None:
    assert docs.main([]) == 0
    assert capsys.readouterr().out == docs.render_clinical_basis()
