"""Conditions: which count as current, and whether one is in a value set (by code, else by text as a last resort).

Whether a Condition's codes and text match a value set depends on nothing else, and the same problem-list entries
recur across patients (the rules ask ~20 value sets about each): MATCHES keeps the answers for the process.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cards.facts.memo import BoundedMemo
from cards.facts.model import ConditionMatch
from cards.facts.readers import codings, concept_text, parse_fhir_datetime, status_code, string
from cards.projection import UNSET, Resource
from terminology import valuesets
from terminology.systems import ICD10CM

# FHIR R4 condition-clinical / condition-ver-status codes.
CONDITION_ACTIVE = frozenset({"active", "recurrence", "relapse"})
CONDITION_EXCLUDED_VERIFICATION = frozenset({"refuted", "entered-in-error"})

# (system, code as sent, variants to look up) of each coding with a string code
Codes = tuple[tuple[str | None, str, tuple[str, ...]], ...]
# How a Condition matched: ("code", the code) or ("text", None); None when it is not in the value set.
How = tuple[str, str | None] | None


def not_current(resource: Resource) -> str | None:
    """Why a Condition is not read as current (the note to count), or None when it is current.

    A missing clinicalStatus with no abatement[x] is read as current: problem lists in the wild omit it.
    """
    clinical = status_code(resource.clinicalStatus)
    if status_code(resource.verificationStatus) in CONDITION_EXCLUDED_VERIFICATION:
        return "condition-refuted-or-error"
    if clinical is None and all(value is UNSET for value in (
            resource.abatementDateTime, resource.abatementAge, resource.abatementPeriod, resource.abatementRange,
            resource.abatementString)):
        clinical = "active"
    return None if clinical in CONDITION_ACTIVE else "condition-inactive"


@dataclass(frozen=True)
class ConditionView:
    """What condition matching reads of one Condition, computed once: rules ask about ~20 value sets per call."""

    resource: Resource
    codes: Codes
    text: str
    all_text: str
    when: datetime | None
    latest: datetime | None

    @classmethod
    def of(cls, resource: Resource) -> ConditionView:
        concept = resource.code
        # A system that is not a string is malformed: read as absent (no code match; the text may still match).
        codes = tuple((string(c.get("system")), c["code"], _code_variants(string(c.get("system")), c["code"]))
                      for c in codings(concept) if isinstance(c.get("code"), str))
        text = concept_text(concept)
        # Only string displays count: an object's repr ("{'x': 'sciatica'}") must not match a value set by its text.
        all_text = " ".join([text] + [string(c.get("display")) or "" for c in codings(concept)]).strip()
        onset = parse_fhir_datetime(resource.onsetDateTime)
        recorded = parse_fhir_datetime(resource.recordedDate)
        when = onset or recorded
        latest = max(onset, recorded) if onset and recorded else when
        return cls(resource, codes, text, all_text, when, latest)

    def match(self, slug: str) -> ConditionMatch | None:
        """By code (any coding, ICD-10-CM with or without the dot), else by text as a last resort."""
        how = MATCHES[(slug, self.codes, self.all_text)]  # strings and tuples of strings only (see of())
        if how is None:
            return None
        kind, code = how
        shown = self.text or ((code or self.all_text) if kind == "code" else self.all_text)
        # An id that is not a string (an object or array sent by a client) is read as absent: rules use the id as a
        # dict key and in sets, so it must be hashable, and a malformed one identifies nothing.
        return ConditionMatch(string(self.resource.id), shown, slug, kind, code, self.when, self.latest)


def _how(key: tuple[str, Codes, str]) -> How:
    """By code; by text only when no coding is in a system whose codes the value set judges (a Condition coded
    M48.02 "Spinal stenosis, cervical region" is not lumbar stenosis because its text says "spinal stenosis")."""
    slug, codes, all_text = key
    vs = valuesets.load(slug)
    for system, code, variants in codes:
        if any(vs.contains(system, variant) for variant in variants):
            return "code", code
    if not vs.text_allowed(system for system, _, _ in codes):
        return None
    if all_text and vs.matches_text(all_text):
        return "text", None
    return None


def _match_key_size(key: tuple[str, Codes, str]) -> int:
    _slug, codes, all_text = key
    return len(all_text) + sum(len(code) + len(system or "") for system, code, _ in codes)


# Entries: ~0.4 kB each (a value set slug, a problem-list entry's codes and text; one of more than 2,000
# characters is not kept): ~3 MB, ~20 MB at most.
MATCHES: BoundedMemo[tuple[str, Codes, str], How] = BoundedMemo(
    _how, max_entries=8192, key_size=_match_key_size, max_key_size=2000)


def _code_variants(system: str | None, code: str) -> tuple[str, ...]:
    """The code as sent, plus for ICD-10-CM the dotted upper-case form: EHR extracts often send "M5416"."""
    if system != ICD10CM:
        return (code,)
    clean = code.strip().upper()
    dotted = clean if "." in clean or len(clean) <= 3 else f"{clean[:3]}.{clean[3:]}"
    return tuple(dict.fromkeys((code, clean, dotted)))
