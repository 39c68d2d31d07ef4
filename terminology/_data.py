"""Read the JSON data files shipped inside the package (never relative to the working directory)."""

from __future__ import annotations

import functools
import json
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any


class TerminologyDataError(ValueError):
    """A data file is missing, malformed or lacks provenance (a packaging bug, never a client error)."""


def data_root() -> Traversable:
    """The ``terminology/data`` directory as an importlib resource."""
    return resources.files("terminology") / "data"


@functools.cache
def load_json(*parts: str) -> Any:
    """Parse ``data/<parts...>`` once per process."""
    node = data_root()
    for part in parts:
        node = node / part
    try:
        return json.loads(node.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise TerminologyDataError(f"cannot read terminology data {'/'.join(parts)}: {err}") from err


def list_json(*parts: str) -> list[str]:
    """Names (without ``.json``) of the JSON files in ``data/<parts...>``, sorted."""
    node = data_root()
    for part in parts:
        node = node / part
    return sorted(p.name[: -len(".json")] for p in node.iterdir() if p.name.endswith(".json"))
