"""docs/rules.md and docs/clinical-basis.md are generated from the rule registry and the knowledge data: the
checked-in files must equal the generated text, and every number a rule reads must be documented with its source."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from cards import docs, knowledge, registry

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "docs" / "rules.md"
BASIS = ROOT / "docs" / "clinical-basis.md"


def test_clinical_basis_is_current() -> None:
    assert BASIS.read_text(encoding="utf-8") == docs.render_clinical_basis(), \
        "stale: run `python -m cards.docs --write` and commit"


def test_rule_catalogue_is_current() -> None:
    assert RULES.read_text(encoding="utf-8") == docs.render_rules_markdown(), \
        "stale: run `python -m cards.docs --write` and commit"


def test_catalogue_lists_every_rule_under_its_topic_with_a_link_to_its_basis() -> None:
    text = docs.render_rules_markdown()
    basis = docs.render_clinical_basis()
    for rule in registry.all_rules():
        assert f"[`{rule.id}`](clinical-basis.md#rule-{rule.id}) {rule.version}" in text
        assert f'<a id="rule-{rule.id}"></a>' in basis
        assert f"- [{rule.topic.display}](#" in text
    assert "{" not in text and "{" not in basis.split("## Every number")[0], "a placeholder was left unrendered"


def test_generation_reads_no_source_text() -> None:
    """Everything comes from the registry and the knowledge data, never from comments or source parsing."""
    tree = ast.parse(Path(docs.__file__).read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                 and node.module}
    assert not imported & {"ast", "inspect", "tokenize", "linecache"}


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


def test_write_regenerates_both_files(tmp_path: Path) -> None:
    rules, basis = tmp_path / "rules.md", tmp_path / "clinical-basis.md"
    rules.write_text("stale\n", encoding="utf-8")
    docs.write(rules, basis)
    assert rules.read_text(encoding="utf-8") == docs.render_rules_markdown()
    assert basis.read_text(encoding="utf-8") == docs.render_clinical_basis()


def test_cli_prints_the_clinical_basis(capsys: pytest.CaptureFixture[str]) -> None:
    assert docs.main([]) == 0
    assert capsys.readouterr().out == docs.render_clinical_basis()
