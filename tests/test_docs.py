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


def test_readme_documents_every_fhir_query() -> None:
    """The README's FHIR query table names every data key and the parameters its fallback search uses."""
    from datetime import datetime, timezone
    from urllib.parse import parse_qsl, urlsplit

    from cards import registry

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme.split("## FHIR queries the service sends", 1)[1].split("\n## ", 1)[0]
    for service in registry.services():
        for key in service.data_keys:
            query = key.fallback_query("{id}", datetime(2026, 11, 25, tzinfo=timezone.utc))
            parts = urlsplit(query)
            assert f"`{key.key}`" in table and parts.path.replace("%7Bid%7D", "{id}") in table, key.key
            for name, value in parse_qsl(parts.query):
                assert f"{name}=" in table, (key.key, name)
                if name not in ("code", "date", "patient"):
                    assert f"{name}={value}" in table, (key.key, name, value)
