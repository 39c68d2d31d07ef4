"""The README documents every CDS_* variable and every card topic code (no setting goes undocumented)."""
from __future__ import annotations

from pathlib import Path

import pytest
from cards.topics import TOPIC_SYSTEM, Topic
from cds_service.config import SETTINGS

README = Path(__file__).parents[1] / "README.md"


@pytest.mark.parametrize("name", [s.env for s in SETTINGS])
def test_every_setting_is_in_the_readme_table(name: str) -> None:
    assert f"| `{name}` |" in README.read_text()


def test_topic_codes_are_documented() -> None:
    text = README.read_text()
    assert TOPIC_SYSTEM in text
    assert all(f"| `{t.value}` |" in text for t in Topic)
