"""docs/api.md documents every card topic code and every FHIR query the service sends (the settings are checked in
tests/test_configuration_doc.py, the generated rule docs in tests/cards/test_docs.py)."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from cards import registry
from cards.topics import TOPIC_SYSTEM, Topic

API = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def test_topic_codes_are_documented() -> None:
    text = API.read_text(encoding="utf-8")
    assert TOPIC_SYSTEM in text
    assert all(f"| `{t.value}` |" in text for t in Topic)


def test_every_fhir_query_is_documented() -> None:
    """The FHIR query table names every data key and the parameters its fallback search uses."""
    table = API.read_text(encoding="utf-8").split("## FHIR queries the service sends", 1)[1].split("\n## ", 1)[0]
    for service in registry.services():
        for key in service.data_keys:
            query = key.fallback_query("{id}", datetime(2026, 11, 25, tzinfo=timezone.utc))
            parts = urlsplit(query)
            assert f"`{key.key}`" in table and parts.path.replace("%7Bid%7D", "{id}") in table, key.key
            for name, value in parse_qsl(parts.query):
                assert f"{name}=" in table, (key.key, name)
                if name not in ("code", "date", "patient"):
                    assert f"{name}={value}" in table, (key.key, name, value)
