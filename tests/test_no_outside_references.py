"""Nothing in the project points outside it: no research notes, no machine paths, in code, data, docs or card text.

Cards and docs cite primary sources (guideline and section, label, paper) and the project's own
docs/clinical-basis.md; a file that only the developers had is no citation a clinician can follow.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Assembled from parts so that this file does not contain what it looks for (the same holds for the examples below).
_NOTES = "clinical" + r"[-_ ]" + "reference"
_SHARED, _MACHINE = r"\.\./" + "shared", "/" + "work" + "/"
FORBIDDEN = re.compile(rf"{_NOTES}|(?<![\w.]){_SHARED}|{_MACHINE}|shared/clinical", re.IGNORECASE)
TEXT_SUFFIXES = {".py", ".md", ".json", ".toml", ".txt", ".sh", ".yaml", ".yml", ".cfg", ".ini", ""}


def _project_files() -> list[Path]:
    try:
        listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                                capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):  # not a checkout (an installed copy): scan the packages
        return [p for d in ("cards", "cds_service", "terminology", "docs") for p in (ROOT / d).rglob("*")
                if p.is_file()]
    return [ROOT / name for name in listed]


def test_no_file_points_outside_the_project() -> None:
    me = Path(__file__).resolve()
    offenders = []
    for path in _project_files():
        if path.resolve() == me or path.suffix not in TEXT_SUFFIXES or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if FORBIDDEN.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert not offenders, "\n".join(offenders[:40])


@pytest.mark.parametrize("text", ["see clinical" + "-reference.md §1.4", ".." + "/shared/x",
                                  "/wo" + "rk/shared/y"])
def test_the_pattern_catches_what_it_must(text: str) -> None:
    assert FORBIDDEN.search(text)
