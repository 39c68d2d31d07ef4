"""Condition groupings shared by several rules (so that one Condition counts on exactly one card)."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cards.facts import ConditionMatch, PatientFacts

# Lumbar spinal stenosis: terminology value sets cond-lumbar-stenosis-claudication (ICD-10-CM M48.062) and
# cond-lumbar-stenosis (SNOMED CT 18347007; ICD-10-CM M48.06, M48.061, M48.062), each code with its provenance in the
# value set. Region words count: cervical or thoracic stenosis (M48.02, M48.04) is not in either set, and a Condition
# coded in a known system outside the sets is not matched by its text (cards.facts).
# The claudication set (M48.062) is listed first so that its match, the more specific one, is kept.
STENOSIS_VALUESETS = ("cond-lumbar-stenosis-claudication", "cond-lumbar-stenosis")


def condition_key(match: ConditionMatch) -> tuple[str | None, ...]:
    """Identity of the Condition a match came from (its id, else its text and code)."""
    return (match.condition_id,) if match.condition_id else (None, match.display, match.code)


def stenosis_conditions(facts: PatientFacts) -> tuple[ConditionMatch, ...]:
    """Active lumbar stenosis diagnoses, each Condition once."""
    found: dict[tuple[str | None, ...], ConditionMatch] = {}
    for slug in STENOSIS_VALUESETS:
        for match in facts.conditions(slug):
            found.setdefault(condition_key(match), match)
    return tuple(found.values())
