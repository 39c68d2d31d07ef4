"""The primary sources cards and cards/knowledge cite, read from ``cards/knowledge/data/guidelines.json``.

One entry per source: ``key`` (what thresholds, drug effects, interactions and rules cite), ``label`` (short, shown
on cards), ``citation`` (the full reference, in docs/clinical-basis.md) and ``url`` (the card's link); an optional
``note`` says how the entry was checked. Read and checked once, at import: a key cited anywhere but missing here
fails at the import of the citing module, not on a card.
"""
from __future__ import annotations

from dataclasses import dataclass

from cards.knowledge._data import KnowledgeError, entries


@dataclass(frozen=True)
class Guideline:
    key: str
    label: str
    citation: str
    url: str
    note: str = ""


_REQUIRED = ("key", "label", "citation", "url")


def _load() -> dict[str, Guideline]:
    found: dict[str, Guideline] = {}
    for data in entries("guidelines.json"):
        unknown = set(data) - {*_REQUIRED, "note"}
        if unknown or not set(_REQUIRED) <= set(data):
            raise KnowledgeError(f"guidelines.json: {data!r}: needs {_REQUIRED} (and an optional note only)")
        item = Guideline(key=str(data["key"]), label=str(data["label"]), citation=str(data["citation"]),
                         url=str(data["url"]), note=str(data.get("note", "")))
        if not (item.key and item.label and item.citation and item.url.startswith("https://")):
            raise KnowledgeError(f"guidelines.json: {item.key!r} needs a label, a citation and an https url")
        if item.key in found:
            raise KnowledgeError(f"guidelines.json: duplicate key {item.key!r}")
        found[item.key] = item
    return found


GUIDELINES: dict[str, Guideline] = _load()


def get(key: str) -> Guideline:
    return GUIDELINES[key]
