"""`leg-pain-cds terminology check` runs in the suite: data files and every rule reference are sound."""
from __future__ import annotations

import io

import pytest

from cards import references
from cds_service import cli, terminology_cli
def test_terminology_check_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["terminology", "check"]) == 0
    out = capsys.readouterr().out
    assert "terminology check: OK" in out and "value sets:" in out


def test_rules_reference_what_the_code_uses() -> None:
    refs = references.collect()
    assert {"cond-pad", "cond-rls", "cond-statin-myopathy"} <= refs.valuesets
    assert {"potassium", "abi", "ck", "ferritin"} <= refs.analytes
    assert {"statin", "loop-diuretic"} <= refs.drug_classes


def test_a_missing_reference_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    real = references.collect

    def broken() -> references.References:
        refs = real()
        refs.valuesets.add("cond-does-not-exist")
        refs.drug_classes.add("no-such-class")
        return refs

    monkeypatch.setattr(references, "collect", broken)
    out = io.StringIO()
    assert terminology_cli.run_check(out) == 1
    assert "cond-does-not-exist" in out.getvalue() and "no-such-class" in out.getvalue()
