"""Readers of raw FHIR JSON elements: dates, arrays, codings, strings and numbers, whatever a sender put there.

Every resource reaches the readers of this package in one shape, the projection (cards/projection.py): its
top-level elements are attributes, each a plain JSON value as sent, ``UNSET`` when absent. Below the top level
everything is JSON (dicts, lists, strings, numbers), and these readers are the ones that look into it: they answer
None, empty or "" for a number or an object where a string, list or object belongs, so that malformed data is
skipped, never raised on.
"""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Iterator

from cards.projection import UNSET, Resource


def present(value: Any) -> Any:
    """A projected element as ``dict.get`` would give it: None when it was absent (UNSET) or sent as null."""
    return None if value is UNSET else value


def parse_fhir_datetime(value: Any) -> datetime | None:
    """FHIR date/dateTime/instant -> aware datetime (UTC when no zone); partial dates -> start of period."""
    if not isinstance(value, str) or not value:
        return None
    try:
        if len(value) == 4:
            parsed = datetime(int(value), 1, 1)
        elif len(value) == 7:
            parsed = datetime(int(value[:4]), int(value[5:7]), 1)
        else:
            parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def effective_date(resource: Resource) -> datetime | None:
    """When an Observation was taken: effectiveDateTime, else effectivePeriod (end, else start), else issued."""
    when = parse_fhir_datetime(resource.effectiveDateTime)
    if when is None:
        period = resource.effectivePeriod
        if isinstance(period, dict):
            when = parse_fhir_datetime(period.get("end")) or parse_fhir_datetime(period.get("start"))
    if when is None:
        when = parse_fhir_datetime(resource.effectiveInstant) or parse_fhir_datetime(resource.issued)
    return when


def array(value: Any) -> list[Any] | tuple[()]:
    """A raw JSON array element, or nothing: raw reads must survive a number or object where a list belongs."""
    return value if isinstance(value, list) else ()


def codings(concept: Any) -> Iterator[dict[str, Any]]:
    """The codings of a CodeableConcept that are objects."""
    if isinstance(concept, dict):
        for coding in array(concept.get("coding")):
            if isinstance(coding, dict):
                yield coding


def concept_text(concept: Any) -> str:
    """A CodeableConcept's text, else its first coding display, else ""."""
    if not isinstance(concept, dict):
        return ""
    text = concept.get("text")
    if isinstance(text, str) and text:
        return text
    for coding in codings(concept):
        if isinstance(coding.get("display"), str):
            return str(coding["display"])
    return ""


def first_code(concept: Any) -> str | None:
    for coding in codings(concept):
        if isinstance(coding.get("code"), str):
            return str(coding["code"])
    return None


def status_code(concept: Any) -> str | None:
    """The first code of a status concept (Condition.clinicalStatus), lower case."""
    code = first_code(concept)
    return code.lower() if code else None


def string(value: Any) -> str | None:
    """A JSON string element, or None for anything else (a list or object where a code or id belongs)."""
    return value if isinstance(value, str) else None


def number(value: Any) -> float | None:
    """A JSON number element as a float, or None (booleans are not numbers)."""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return float(value)
    return None
