"""Reading the knowledge files: one place that finds ``data/`` and turns a malformed file into KnowledgeError.

Dependency-free within cards (stdlib only), so that ``cards.guidelines``, which ``cards.knowledge`` itself cites,
can read its file without an import cycle.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from importlib.abc import Traversable
from typing import Any


class KnowledgeError(ValueError):
    """A knowledge file is malformed (a bug in the data, found at import)."""


def folder(*parts: str) -> Traversable:
    """``cards/knowledge/data/<parts>`` (in a checkout or an installed wheel)."""
    return resources.files("cards").joinpath("knowledge", "data", *parts)


def read(*parts: str) -> Any:
    """The parsed JSON of ``data/<parts>``."""
    path = folder(*parts)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise KnowledgeError(f"{'/'.join(parts)}: {err}") from err


def entries(*parts: str) -> Iterator[dict[str, Any]]:
    """The objects of ``data/<parts>``, a JSON list of objects."""
    data = read(*parts)
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise KnowledgeError(f"{'/'.join(parts)}: expected a list of objects")
    yield from data
