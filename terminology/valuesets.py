"""Value sets (FHIR ValueSet JSON in ``data/valuesets/<slug>.json``) with fast code and text matching.

Matching rules:

* System URIs are normalised (``systems.canonical_system``), codes are stripped.
* ICD-10-CM codes match with or without the dot and in any case ("I70.221", "I70221", "i70.221").
* An ICD-10-CM entry carrying the extension ``urn:leg-pain-cds:include-descendants`` (valueBoolean true) also
  matches every code below it in the ICD-10-CM hierarchy, i.e. every code that extends it ("M48.06" ->
  "M48.061", "M48.062"). ICD-10-CM encodes its hierarchy in the code itself, so a prefix test on the dot-less
  code is exact. Descendants are only allowed on ICD-10-CM; SNOMED CT and LOINC hierarchies are not prefixes.
* Text patterns (extension ``urn:leg-pain-cds:text-pattern``) are joined into one precompiled, case-insensitive,
  whole-word alternation: the last-resort match on ``Condition.code.text`` or coding displays. Patterns of a
  region-specific set name the region ("lumbar spinal stenosis", "spinal stenosis, lumbar region") or exclude the
  other regions, so "Spinal stenosis, cervical region" is not lumbar stenosis.
* Text is a fallback only (``ValueSet.matches`` / ``ValueSet.text_allowed``): when a coding is in a condition code
  system (ICD-10-CM, SNOMED CT, WHO ICD-10; ``systems.CONDITION_SYSTEMS``) that the value set itself lists codes in,
  that code decides and the text is not read. A condition coded M48.02 "Spinal stenosis, cervical region" therefore
  never matches a lumbar set by its display. Codings in systems the set has no codes in (a local code, WHO ICD-10,
  SNOMED CT for an ICD-10-CM-only set) leave the text fallback open.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from terminology import systems
from terminology._data import TerminologyDataError, list_json, load_json

TEXT_PATTERN_URL = "urn:leg-pain-cds:text-pattern"
SOURCE_TAG_URL = "urn:leg-pain-cds:source-tag"
PROPERTY_URL = "urn:leg-pain-cds:property"
DESCENDANTS_URL = "urn:leg-pain-cds:include-descendants"
PROVENANCE_SOURCE_URL = "urn:leg-pain-cds:provenance-source"
HARVEST_DATE_URL = "urn:leg-pain-cds:harvest-date"
HARVESTED_BY_URL = "urn:leg-pain-cds:harvested-by"

# Shortest ICD-10-CM code is a 3-character category; descendants are longer by definition.
_ICD_CATEGORY_LEN = 3


@dataclass(frozen=True)
class ValueSet:
    """One loaded value set. Build with ``load(slug)``; all lookups are O(1) set/dict probes."""

    slug: str
    url: str
    version: str
    codes: frozenset[tuple[str, str]]
    text_patterns: tuple[str, ...] = ()
    _lookup: frozenset[tuple[str, str]] = field(default=frozenset(), repr=False)
    _icd_ancestors: frozenset[str] = field(default=frozenset(), repr=False)
    _displays: dict[tuple[str, str], str] = field(default_factory=dict, repr=False, compare=False)
    _tags: dict[tuple[str, str], str] = field(default_factory=dict, repr=False, compare=False)
    _properties: dict[tuple[str, str], str] = field(default_factory=dict, repr=False, compare=False)
    _regex: re.Pattern[str] | None = field(default=None, repr=False, compare=False)
    _systems: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    @staticmethod
    def _key(system: str | None, code: str | None) -> tuple[str, str] | None:
        canonical = systems.canonical_system(system)
        normalized = systems.normalize_code(canonical, code)
        if not canonical or not normalized:
            return None
        return canonical, normalized

    def _resolve(self, system: str | None, code: str | None) -> tuple[str, str] | None:
        """The value-set key that ``(system, code)`` matches (itself or an ICD-10-CM ancestor), else None."""
        key = self._key(system, code)
        if key is None:
            return None
        if key in self._lookup:
            return key
        if key[0] == systems.ICD10CM and self._icd_ancestors:
            code = key[1]
            for end in range(len(code) - 1, _ICD_CATEGORY_LEN - 1, -1):
                if code[:end] in self._icd_ancestors:
                    return systems.ICD10CM, code[:end]
        return None

    def contains(self, system: str | None, code: str | None) -> bool:
        """True when ``(system, code)`` is in the value set (ICD-10-CM: dot/case-insensitive, descendants)."""
        return self._resolve(system, code) is not None

    def includes_descendants(self, system: str | None, code: str | None) -> bool:
        """True when the entry ``(system, code)`` itself is flagged to match every ICD-10-CM code below it."""
        key = self._key(system, code)
        return key is not None and key[0] == systems.ICD10CM and key[1] in self._icd_ancestors

    def display(self, system: str | None, code: str | None) -> str | None:
        """The value set's display for the entry that ``(system, code)`` matches, else None."""
        key = self._resolve(system, code)
        return self._displays.get(key) if key else None

    def source_tag(self, system: str | None, code: str | None) -> str | None:
        """Verification tag (e.g. ``VSAC``, ``NLM``, ``C``) of the matching entry, else None."""
        key = self._resolve(system, code)
        return self._tags.get(key) if key else None

    def property(self, system: str | None, code: str | None) -> str | None:
        """Lab codes: the LOINC property family of the entry (``mass``, ``molar``, ...), else None."""
        key = self._resolve(system, code)
        return self._properties.get(key) if key else None

    def matches_text(self, text: str | None) -> bool:
        """True when a text pattern occurs in ``text`` as whole words (case-insensitive)."""
        return bool(text) and self._regex is not None and self._regex.search(text or "") is not None

    def find_text(self, text: str | None) -> str | None:
        """The first text-pattern hit in ``text`` (for card evidence), else None."""
        if not text or self._regex is None:
            return None
        found = self._regex.search(text)
        return found.group(0) if found else None

    def judges(self, system: str | None) -> bool:
        """True when a code of ``system`` decides membership on its own: the system is a condition code system
        (ICD-10-CM, SNOMED CT, WHO ICD-10) and this value set lists codes in it. A coding in such a system that is not
        in the set means "a different, specific diagnosis", so text must not overrule it."""
        canonical = systems.canonical_system(system)
        return canonical in systems.CONDITION_SYSTEMS and canonical in self._systems

    def text_allowed(self, coding_systems: Iterable[str | None]) -> bool:
        """Whether the text fallback may be used for a resource whose codings are in ``coding_systems`` (and did not
        match): only when none of them is a system this set ``judges``."""
        return not any(self.judges(system) for system in coding_systems)

    def matches(self, codings: Iterable[tuple[str | None, str | None]], texts: Iterable[str | None] = ()) -> bool:
        """Any coding in the value set; else, only when no coding is in a system the set judges, a text pattern."""
        codings = list(codings)
        if any(self.contains(system, code) for system, code in codings):
            return True
        if not self.text_allowed(system for system, code in codings if code and str(code).strip()):
            return False
        return any(self.matches_text(text) for text in texts)


def known_condition_system(system: str | None) -> bool:
    """True when ``system`` is ICD-10-CM, SNOMED CT or WHO ICD-10 (any alias): a terminology whose condition codes we
    can judge. Same as ``systems.is_known_condition_system``; see ``ValueSet.judges`` for the per-set rule."""
    return systems.is_known_condition_system(system)


def whole_word_regex(patterns: Iterable[str]) -> re.Pattern[str] | None:
    """One case-insensitive alternation of ``patterns``, each bounded by non-word characters."""
    joined = "|".join(f"(?:{p})" for p in patterns)
    if not joined:
        return None
    return re.compile(rf"(?<!\w)(?:{joined})(?!\w)", re.IGNORECASE)


def _extensions(node: dict[str, Any], url: str) -> list[Any]:
    values: list[Any] = []
    for ext in node.get("extension", []):
        if ext.get("url") == url:
            values.extend(v for k, v in ext.items() if k.startswith("value"))
    return values


def provenance_problems(resource: dict[str, Any]) -> list[str]:
    """What provenance a value-set resource lacks (empty list = complete)."""
    problems = [f"missing {key}" for key in ("url", "version", "publisher", "date", "purpose") if not resource.get(key)]
    for url in (PROVENANCE_SOURCE_URL, HARVEST_DATE_URL, HARVESTED_BY_URL):
        if not _extensions(resource, url):
            problems.append(f"missing extension {url}")
    for entry in resource.get("expansion", {}).get("contains", []):
        if not _extensions(entry, SOURCE_TAG_URL):
            problems.append(f"code {entry.get('code')} has no source tag")
    return problems


def build(slug: str, resource: dict[str, Any]) -> ValueSet:
    """Build a ``ValueSet`` from parsed JSON, refusing a resource without provenance."""
    problems = provenance_problems(resource)
    if problems:
        raise TerminologyDataError(f"value set {slug}: " + "; ".join(problems))
    codes, lookup, ancestors, code_systems = set(), set(), set(), set()
    displays, tags, properties = {}, {}, {}
    for entry in resource.get("expansion", {}).get("contains", []):
        system, code = entry.get("system"), entry.get("code")
        key = ValueSet._key(system, code)
        if key is None:
            raise TerminologyDataError(f"value set {slug}: entry without system/code: {entry}")
        codes.add((system, code))
        lookup.add(key)
        code_systems.add(key[0])
        displays[key] = entry.get("display", "")
        tags[key] = str(_extensions(entry, SOURCE_TAG_URL)[0])
        for prop in _extensions(entry, PROPERTY_URL):
            properties[key] = str(prop)
        if any(v is True for v in _extensions(entry, DESCENDANTS_URL)):
            if key[0] != systems.ICD10CM:
                raise TerminologyDataError(f"value set {slug}: descendants only allowed for ICD-10-CM ({code})")
            ancestors.add(key[1])
    patterns = tuple(str(p) for p in _extensions(resource, TEXT_PATTERN_URL))
    try:
        regex = whole_word_regex(patterns)
    except re.error as err:
        raise TerminologyDataError(f"value set {slug}: bad text pattern: {err}") from err
    return ValueSet(slug=slug, url=resource["url"], version=resource["version"], codes=frozenset(codes),
                    text_patterns=patterns, _lookup=frozenset(lookup), _icd_ancestors=frozenset(ancestors),
                    _displays=displays, _tags=tags, _properties=properties, _regex=regex,
                    _systems=frozenset(code_systems))


@functools.cache
def load(slug: str) -> ValueSet:
    """The value set ``data/valuesets/<slug>.json`` (cached; raises KeyError for an unknown slug)."""
    if slug not in slugs():
        raise KeyError(f"unknown value set {slug!r}")
    return build(slug, load_json("valuesets", f"{slug}.json"))


@functools.cache
def _slugs() -> tuple[str, ...]:
    return tuple(list_json("valuesets"))


def slugs() -> list[str]:
    """Every value-set slug shipped with the package, sorted."""
    return list(_slugs())
