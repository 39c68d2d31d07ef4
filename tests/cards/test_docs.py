"""The README's rules section is generated from the rule registry: the checked-in section must equal the generated text."""
from __future__ import annotations

from pathlib import Path

import pytest

from cards import docs, registry

DOC = Path(__file__).resolve().parents[2] / "README.md"


def test_rules_section_matches_the_registry() -> None:
    section = docs.section_of(DOC.read_text(encoding="utf-8"))
    assert section is not None, "README.md lacks the <!-- rules:start --> / <!-- rules:end --> markers"
    assert section == docs.render_rules_markdown(), "stale: run `python -m cards.docs --write` and commit"


def test_every_rule_and_threshold_is_documented() -> None:
    text = docs.render_rules_markdown()
    for rule in registry.all_rules():
        assert f"`{rule.id}` {rule.version}" in text
        assert rule.fires_when and rule.quiet_when and rule.references, rule.id
    assert "| `FERRITIN_RLS_MAX` | `75.0` | AASM RLS 2024" in text
    assert "| `SODIUM_CRITICAL` | `160.0` |" in text


def test_threshold_sources_are_read_from_comments() -> None:
    from cards.rules import dehydration

    rows = {name: (value, source) for name, value, source in docs.thresholds(dehydration)}
    assert rows["BUN_CREATININE_RATIO_MIN"][0] == "20.0"
    assert "clinical-reference.md §1.4" in rows["BUN_CREATININE_RATIO_MIN"][1]
    assert "Finding" not in rows


def test_write_creates_and_refreshes_the_section(tmp_path: Path) -> None:
    target = tmp_path / "rules.md"
    docs.write(target)
    first = target.read_text(encoding="utf-8")
    assert docs.section_of(first) == docs.render_rules_markdown()
    target.write_text(first.replace("## Rules\n", "## Stale\n", 1) + "\nkept after the markers\n", encoding="utf-8")
    docs.write(target)
    refreshed = target.read_text(encoding="utf-8")
    assert docs.section_of(refreshed) == docs.render_rules_markdown() and "kept after the markers" in refreshed


def test_cli_prints_the_section(capsys: pytest.CaptureFixture[str]) -> None:
    assert docs.main([]) == 0
    assert capsys.readouterr().out == docs.render_rules_markdown()
