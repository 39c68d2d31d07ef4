"""Which analyte an Observation is about, from its `code` (terminology.analytes), memoised for the process.

The pre-filter asks this of every Observation sent, and most code elements repeat (the same few hundred lab and
vital codes, within a chart and across charts): CONCEPTS answers a whole `code` element seen before with one dict
look-up on its JSON text; ANALYTES does the same for a (system, code) pair, which replaces the terminology look-up
(system alias normalisation and index) when a new element repeats a known coding. Both are BoundedMemos: a sender of
ever-new local codes costs look-ups, not memory.
"""
from __future__ import annotations

import re
from typing import Any

import orjson
from cards.facts.memo import BoundedMemo
from cards.facts.readers import codings, concept_text
from terminology import analytes as lab_analytes

ABI_TEXT = re.compile(r"ankle.?brachial|\bABI\b|\bAAI\b", re.IGNORECASE)


def _coding_analyte(key: tuple[Any, Any]) -> str | None:
    system, code = key
    if not isinstance(code, str) or not (system is None or isinstance(system, str)):
        return None  # a malformed coding matches nothing
    return lab_analytes.analyte_for_code(system, code)


def _coding_size(key: tuple[Any, Any]) -> int:
    return sum(len(part) for part in key if isinstance(part, str))


# Entries: a (system, code) pair and an analyte name, ~0.2 kB each; a pair of more than 512 characters is not
# kept: ~10 MB at most (~60 MB were every pair that long).
ANALYTES: BoundedMemo[tuple[Any, Any], str | None] = BoundedMemo(
    _coding_analyte, max_entries=50_000, key_size=_coding_size, max_key_size=512)


def analyte_for(system: Any, code: Any) -> str | None:
    """The analyte an Observation coding belongs to; None for a malformed coding."""
    try:
        return ANALYTES[(system, code)]
    except TypeError:  # an unhashable system or code (a list or object): malformed, matches nothing
        return None


def concept_analyte(concept: Any) -> str | None:
    """The analyte of a `code` element: its first coding of a known analyte, else an ABI named by its text."""
    for coding in codings(concept):
        analyte = analyte_for(coding.get("system"), coding.get("code"))
        if analyte:
            return analyte
    if isinstance(concept, dict) and ABI_TEXT.search(concept_text(concept)):
        return "abi"
    return None


def _element_analyte(key: bytes) -> str | None:
    return concept_analyte(orjson.loads(key))


# Key: the JSON text of a `code` element. Entries: ~0.3 kB each; an element of more than 2 kB is not kept: ~3 MB,
# ~20 MB at most. Read with CONCEPTS[orjson.dumps(code)] (the builder's loop); an element orjson cannot write (an
# integer over 64 bits: not from a JSON body) is decided by concept_analyte without the memo.
CONCEPTS: BoundedMemo[bytes, str | None] = BoundedMemo(
    _element_analyte, max_entries=8192, key_size=len, max_key_size=2048)
