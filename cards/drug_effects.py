"""Drugs other than diuretics and statins that cause or worsen night-time leg symptoms: one entry per class.

The entries are data (``cards/knowledge/data/drug_effects.json``), read and checked once at import. Shared by the
medication-effect and restless-legs rules (patient view and order time) and the electrolyte card's cross-references.
Each entry carries its own primary sources (``guideline_keys``, keys of cards.guidelines, and ``where``: what each
says) and its own next step (``review``): a card shows the steps of the classes the patient takes and no other class's
text.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from cards import guidelines
from cards.knowledge._data import KnowledgeError, entries


@dataclass(frozen=True)
class DrugEffect:
    """What a drug class does to the legs, which lab abnormality it can explain, its next step and its sources."""

    drug_class: str
    label: str
    symptom: str  # short, for summaries and the card's opening line
    mechanism: str
    review: str  # the class's own next step; "{drugs}" is replaced by the patient's drugs of this class
    labs: tuple[tuple[str, str], ...] = ()  # (analyte family, direction) it can explain
    worsens_rls: bool = False
    rls_property: str = ""  # the property an RLS-friendlier alternative lacks ("dopamine-blocking", ...)
    needs_lab: bool = False  # listed only when the lab abnormality is present (e.g. PPIs: very common drugs)
    guideline_keys: tuple[str, ...] = ()
    where: str = ""  # what the sources say, and where (docs/clinical-basis.md)

    def step(self, drugs: list[str] | tuple[str, ...]) -> str:
        """The next step for this class, naming the patient's own drugs of it (never a drug they do not take)."""
        names = ", ".join(dict.fromkeys(drugs))
        return self.review.replace("{drugs}", names[:1].upper() + names[1:])

    @property
    def with_article(self) -> str:
        """The label with its indefinite article ("an antipsychotic", "an SSRI", "a beta-2 agonist")."""
        vowel_sound = self.label[:1].lower() in "aeiou" or self.label[:4] in ("SSRI", "SNRI")
        return f"{'an' if vowel_sound else 'a'} {self.label}"

    @property
    def source(self) -> str:
        """The sources by label ("AASM RLS guideline 2024; ..."), from `guideline_keys`."""
        return "; ".join(guidelines.get(k).label for k in self.guideline_keys)


_FIELDS = {f.name for f in fields(DrugEffect)}


def _effect(data: dict[str, Any]) -> DrugEffect:
    name = data.get("drug_class")
    if set(data) - _FIELDS:
        raise KnowledgeError(f"drug_effects.json: {name}: unknown fields {sorted(set(data) - _FIELDS)}")
    try:
        labs = tuple((lab["analyte"], lab["direction"]) for lab in data.get("labs", ()))
        effect = DrugEffect(**{**data, "labs": labs, "guideline_keys": tuple(data["guideline_keys"])})
    except (KeyError, TypeError) as err:
        raise KnowledgeError(f"drug_effects.json: {name}: {err}") from err
    if not effect.guideline_keys or not effect.where or set(effect.guideline_keys) - set(guidelines.GUIDELINES):
        raise KnowledgeError(f"drug_effects.json: {name}: needs known guideline_keys and where they say it")
    if effect.worsens_rls != bool(effect.rls_property) or "{drugs}" not in effect.review:
        raise KnowledgeError(f"drug_effects.json: {name}: rls_property goes with worsens_rls; review names {{drugs}}")
    return effect


EFFECTS: tuple[DrugEffect, ...] = tuple(_effect(data) for data in entries("drug_effects.json"))
BY_CLASS: dict[str, DrugEffect] = {e.drug_class: e for e in EFFECTS}
RLS_AGGRAVATING: tuple[str, ...] = tuple(e.drug_class for e in EFFECTS if e.worsens_rls)
