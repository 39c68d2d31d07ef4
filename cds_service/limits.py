"""Input limits: what a request body may be, checked before anything reads it.

* ``parse_json_body`` parses with orjson and enforces a nesting depth limit (deeply nested JSON would
  otherwise hit Python's recursion limit somewhere downstream and become a 500).
* ``check_prefetch_limits`` bounds the number of entries per Bundle and resources per request.

Limit violations raise ``InputLimitExceeded`` (status 413 or 400, an OperationOutcome issue code and a message
that says which limit and how to change it — never echoing the content).
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

import orjson
from cards.projection import Resource

from cds_service.errors import BadHookRequest, CdsError

class InputLimitExceeded(CdsError):
    """A request exceeded a configured limit (413 too-costly, or 400 structure for nesting)."""

    def __init__(self, message: str, *, status: int = 413, code: str = "too-costly") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class InvalidJson(BadHookRequest):
    """The body is not JSON (400)."""


_SCALARS = frozenset({str, int, float, bool, type(None)})


def json_depth_exceeds(value: Any, max_depth: int) -> bool:
    """True when objects/arrays nest deeper than ``max_depth`` (iterative: no recursion limit of our own).

    Level by level, with exact-type checks first: this walks every node of every request body, and the first
    version (a stack of (node, depth) tuples fed by a generator) cost 3-4x ``orjson.loads`` of the same body -
    then the largest single cost of a hook call (docs/performance.md). Same answers, subclasses included.
    """
    level = [value] if isinstance(value, (dict, list)) else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            return True
        below: list[Any] = []
        push = below.append
        scalars = _SCALARS
        for node in level:
            children = node.values() if isinstance(node, dict) else node
            if scalars.issuperset(map(type, children)):
                continue  # leaves only (codings, quantities, references...): decided in C, the common case
            for child in children:
                kind = type(child)
                if kind in scalars:
                    continue
                if kind is dict or kind is list or isinstance(child, (dict, list)):
                    push(child)
        level = below
    return False


def envelope_depth_exceeds(body: Any, max_depth: int) -> bool:
    """Depth check of everything this service walks: the CDS Hooks envelope and the shape of each prefetch Bundle.

    The insides of prefetched FHIR resources (dicts, or cards.projection structs on the hook route) are not
    walked: the service reads them only at fixed paths, and validates what it reads with fhir.resources
    (pydantic-core bounds its own recursion), so nesting there cannot reach Python's recursion limit; orjson caps
    the whole document at 1024 levels, msgspec at Python's recursion limit (fhir/decode.py then falls back to
    orjson). Walking every node of a 5,000-observation prefetch in Python cost ~0.7x the JSON parse itself on
    every call (docs/performance.md).
    """
    if not isinstance(body, dict) or not isinstance(body.get("prefetch"), dict):
        return json_depth_exceeds(body, max_depth)
    prefetch = body["prefetch"]
    envelope = {k: v for k, v in body.items() if k != "prefetch"}
    envelope["prefetch"] = {k: None for k in prefetch}  # body (1) -> prefetch (2): the values are checked below
    if json_depth_exceeds(envelope, max_depth):
        return True
    return any(_skeleton_exceeds(value, max_depth - 2) for value in prefetch.values())


def _skeleton_exceeds(value: Any, allowed: int) -> bool:
    """Whether the part of a prefetch value the service walks nests deeper than `allowed` levels.

    That part is Bundle -> entry[] -> {resource} (nested Bundles followed); any other resource counts as one level,
    and anything that is not an object where the service expects one is walked whole. Counted in place, one look
    at each entry, instead of building a skeleton copy of the Bundle and walking that (which cost ~0.6x the parse of
    a typical body). tests/security/test_hardening.py checks the same answers as the skeleton walk.
    """
    if not isinstance(value, dict):
        return json_depth_exceeds(value, allowed)
    if allowed < 1:
        return True
    entries = value.get("entry") if value.get("resourceType") == "Bundle" else None
    if not isinstance(entries, list):
        return False  # a resource: one level
    if allowed < 2:
        return True  # Bundle (1) -> entry[] (2)
    inner = allowed - 2  # what each entry may take
    if inner >= 2 and _plain_entries_fit(entries):
        return False
    for entry in entries:
        if type(entry) is dict or isinstance(entry, dict):
            if inner < 1:
                return True
            resource = entry.get("resource")
            if isinstance(resource, (dict, list)) and _skeleton_exceeds(resource, inner - 1):
                return True
        elif isinstance(entry, list) and json_depth_exceeds(entry, inner):
            return True
    return False


_RESOURCE = operator.methodcaller("get", "resource")
_RESOURCE_TYPE = operator.methodcaller("get", "resourceType")
# A projected resource (cards.projection) is one level, like any resource: its insides are not walked.
_NOT_WALKED = frozenset({dict, Resource, str, int, float, bool, type(None)})


def entry_resources(entries: list[Any]) -> list[Any] | None:
    """``entry[].resource`` of a Bundle whose entries are all plain objects (the common case), else None.

    Taken with C-level map() calls: the depth check and fhir/gather.py both look at every entry of every prefetch
    Bundle, and their Python loops over the entries were ~5 % of a typical request (cProfile, docs/performance.md).
    """
    if not entries or set(map(type, entries)) != {dict}:
        return None
    return list(map(_RESOURCE, entries))


def resource_types(resources: list[Any]) -> list[Any] | None:
    """The resourceType of each resource, when every one is a plain object or a projected resource (else None)."""
    kinds = set(map(type, resources))
    if kinds == {dict}:
        return list(map(_RESOURCE_TYPE, resources))
    if kinds <= {dict, Resource}:
        return [r.resourceType if type(r) is Resource else r.get("resourceType") for r in resources]
    return None


def _plain_entries_fit(entries: list[Any]) -> bool:
    """True when no entry can exceed the depth left (>= 2): plain entries holding no array and no nested Bundle.

    Such an entry takes entry (1) -> resource (1, not walked further). Anything else - a nested Bundle, an array
    where a resource belongs, a subclass - is left to the walk in _skeleton_exceeds (False here means "not decided").
    """
    resources = entry_resources(entries)
    if resources is None:
        return False
    kinds = set(map(type, resources))
    if not kinds <= _NOT_WALKED:
        return False
    objects = resources if kinds == {dict} else [r for r in resources if type(r) is dict]
    return "Bundle" not in map(_RESOURCE_TYPE, objects)


def parse_json_body(raw: bytes, max_depth: int) -> Any:
    """Parse a request body; InvalidJson when it is not JSON, InputLimitExceeded (400) when too deep."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        if "depth" in err.msg or "recursion" in err.msg:  # orjson's own hard limit (1024) is far above ours
            raise InputLimitExceeded(_depth_message(max_depth), status=400, code="structure") from err
        raise InvalidJson(f"Request body is not valid JSON: {err}") from err
    check_envelope_depth(value, max_depth)
    return value


def check_envelope_depth(body: Any, max_depth: int) -> None:
    """InputLimitExceeded (400) when envelope_depth_exceeds."""
    if envelope_depth_exceeds(body, max_depth):
        raise InputLimitExceeded(_depth_message(max_depth), status=400, code="structure")


def _depth_message(max_depth: int) -> str:
    return f"JSON nests deeper than {max_depth} levels (CDS_MAX_JSON_DEPTH)"


def count_bundle_entries(value: object) -> int:
    """Entries of a Bundle (0 for anything else)."""
    if isinstance(value, Mapping) and value.get("resourceType") == "Bundle":
        entries = value.get("entry")
        return len(entries) if isinstance(entries, list) else 0
    return 0


def check_prefetch_limits(prefetch: object, *, max_bundle_entries: int, max_resources: int) -> None:
    """Raise InputLimitExceeded (413) when one prefetch Bundle or the whole prefetch is too large."""
    if not isinstance(prefetch, Mapping):
        return
    total = 0
    for key, value in prefetch.items():
        entries = count_bundle_entries(value)
        if entries > max_bundle_entries:
            raise InputLimitExceeded(
                f"prefetch {str(key)[:64]!r} holds {entries} Bundle entries; the limit is {max_bundle_entries} "
                "(CDS_MAX_BUNDLE_ENTRIES)"
            )
        total += entries if entries else (1 if isinstance(value, Mapping) else 0)
    if total > max_resources:
        raise InputLimitExceeded(
            f"prefetch holds {total} resources; the limit is {max_resources} (CDS_MAX_PREFETCH_RESOURCES)"
        )
