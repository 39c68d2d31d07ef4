"""docs/configuration.md is generated from config.SETTINGS and names every CDS_* variable the code reads."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from cds_service import config

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "configuration.md"
# Where a CDS_* name can be read or set: the packages, the tools, the scripts and the deployment files.
SOURCES = [p for d in ("cds_service", "cards", "terminology", "tools", "scripts", "deploy")
           for p in (ROOT / d).rglob("*") if p.is_file() and p.suffix in {".py", ".sh", ".yaml", ".yml", ".toml", ""}]
# A whole name (not the tail of LEG_PAIN_CDS_...), and not a prefix such as "CDS_FHIR_*" in a comment.
CDS_NAME = re.compile(r"(?<![A-Z0-9_])CDS_[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_*])")


def test_configuration_doc_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == config.render_markdown(), \
        "stale: run `python -m cds_service.config --write` and commit"


def test_every_cds_variable_the_code_reads_is_documented() -> None:
    documented = DOC.read_text(encoding="utf-8")
    read = {m for p in SOURCES for m in CDS_NAME.findall(p.read_text(encoding="utf-8", errors="replace"))}
    assert {"CDS_AUTH", "CDS_ALLOWED_FHIR_SERVERS"} <= read, "the scan finds nothing: wrong ROOT?"
    assert not {name for name in read if f"| `{name}` |" not in documented}


def test_every_setting_is_in_exactly_one_group(monkeypatch: pytest.MonkeyPatch) -> None:
    grouped = [name for _, _, names in config.GROUPS for name in names]
    assert sorted(grouped) == sorted(s.name for s in config.SETTINGS)
    monkeypatch.setattr(config, "GROUPS", config.GROUPS[:-1])
    with pytest.raises(config.ConfigError, match="GROUPS must list every setting once"):
        config.render_markdown()


def test_write_and_print(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(config, "DOC_PATH", tmp_path / "configuration.md")
    assert config.main(["--write"]) == 0
    assert (tmp_path / "configuration.md").read_text(encoding="utf-8") == config.render_markdown()
    capsys.readouterr()
    assert config.main([]) == 0
    assert capsys.readouterr().out == config.render_markdown()
