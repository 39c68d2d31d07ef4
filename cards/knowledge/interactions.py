"""Statin drug interactions by the US labels, as data (``data/interactions/statin.json``), and the statin dose a
patient takes, read against them.

A row names a statin, the interacting drugs (terminology ingredients), the kind - ``contraindicated``, ``avoid``,
``dose-cap`` (``max_mg``: the labelled maximum daily statin dose with that drug) or ``caution`` - and its source (a key
of ``cards.guidelines``) with the section. The table is read once, checked at import (every drug a known ingredient,
every source a known key), and docs/clinical-basis.md shows it (``cards.docs``).

The dose: the strength of the statin is read per ingredient from the product name (RxNorm "simvastatin 40 MG Oral
Tablet", a combination "ezetimibe 10 MG / simvastatin 40 MG Oral Tablet", or free text "Zocor 40 mg tablet"); with a
dose quantity and a frequency in the dosage instruction, the daily dose is computed. A dose that cannot be read is
said so on the card, never taken as within the cap.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from terminology import drugs

from cards import guidelines
from cards.knowledge._data import KnowledgeError, read

if TYPE_CHECKING:
    from cards.facts import MedicationUse

KINDS = ("contraindicated", "avoid", "dose-cap", "caution")


@dataclass(frozen=True)
class StatinInteraction:
    """One statin and one interacting drug, as a label states it."""

    statin: str
    drug: str
    group: str
    kind: str
    max_mg: float | None
    source: str
    where: str
    start_mg: float | None = None  # the starting dose the label gives with this drug, when it gives one

    @property
    def label(self) -> str:
        """The source's short label ("Zocor (simvastatin) US label 2023")."""
        return guidelines.get(self.source).label

    @property
    def rule_text(self) -> str:
        """What the label says, card-ready ("contraindicated", "at most 20 mg a day")."""
        if self.kind == "dose-cap":
            start = f"start at {self.start_mg:g} mg, " if self.start_mg is not None else ""
            return f"{start}at most {self.max_mg:g} mg a day"
        if self.kind == "avoid":
            return "avoid" + (f" (if used, at most {self.max_mg:g} mg a day)" if self.max_mg else "")
        return self.kind


@dataclass(frozen=True)
class Table:
    rows: tuple[StatinInteraction, ...]
    by_pair: dict[tuple[str, str], StatinInteraction]
    # Per statin whose own label says so: the anti-infectives for whose short course it is suspended, and the
    # source (key, where). A statin without an entry is never advised to be suspended by another statin's label.
    suspend: dict[str, tuple[frozenset[str], tuple[str, str]]]
    antibiotic_drugs: frozenset[str]
    antibiotic_name: str
    antibiotic_source: tuple[str, str]

    @property
    def suspend_for_course(self) -> frozenset[str]:
        """Every anti-infective some statin's label suspends the statin for (cards.docs)."""
        return frozenset(drug for drugs, _ in self.suspend.values() for drug in drugs)

    @property
    def suspend_source(self) -> tuple[str, str]:
        """The first statin's suspension source (cards.docs lists the sources per statin from `suspend`)."""
        return next(iter(self.suspend.values()))[1]

    def suspend_source_for(self, statin: str, drug: str) -> tuple[str, str] | None:
        """The source (key, where) by which `statin` is suspended for a short course of `drug`, if its label says so."""
        entry = self.suspend.get(statin)
        return entry[1] if entry is not None and drug in entry[0] else None


def _source(data: dict[str, Any], where: str) -> tuple[str, str]:
    key, place = data.get("source"), data.get("where")
    if key not in guidelines.GUIDELINES or not isinstance(place, str) or not place:
        raise KnowledgeError(f"statin interactions {where}: needs a known source and where ({key!r})")
    return str(key), place


@functools.cache
def table() -> Table:
    """The statin interaction table (read and checked once)."""
    data_file = read("interactions", "statin.json")
    known = {i.name for i in drugs.ingredients()}
    statins = set(drugs.ingredients_in_class("statin"))
    rows: list[StatinInteraction] = []
    by_pair: dict[tuple[str, str], StatinInteraction] = {}
    for number, data in enumerate(data_file["rows"]):
        source, where = _source(data, f"row {number}")
        kind, max_mg, start_mg = data.get("kind"), data.get("max_mg"), data.get("start_mg")
        if kind not in KINDS or data.get("statin") not in statins:
            raise KnowledgeError(f"statin interactions row {number}: unknown kind or statin")
        if kind == "dose-cap" and not isinstance(max_mg, (int, float)):
            raise KnowledgeError(f"statin interactions row {number}: a dose cap needs max_mg")
        if start_mg is not None and not (isinstance(start_mg, (int, float)) and isinstance(max_mg, (int, float))
                                         and 0 < start_mg <= max_mg):
            raise KnowledgeError(f"statin interactions row {number}: start_mg must be a dose up to max_mg")
        for drug in data["drugs"]:
            if drug not in known:
                raise KnowledgeError(f"statin interactions row {number}: {drug!r} is not a known ingredient")
            row = StatinInteraction(data["statin"], drug, str(data.get("group") or ""), kind,
                                    float(max_mg) if max_mg is not None else None, source, where,
                                    float(start_mg) if start_mg is not None else None)
            if (row.statin, drug) in by_pair:
                raise KnowledgeError(f"statin interactions: {row.statin} with {drug} is listed twice")
            by_pair[(row.statin, drug)] = row
            rows.append(row)
    antibiotic = data_file["antibiotic_alternative"]
    suspend: dict[str, tuple[frozenset[str], tuple[str, str]]] = {}
    for entry in data_file["suspend_for_course"]:
        if entry.get("statin") not in statins or entry["statin"] in suspend:
            raise KnowledgeError(f"statin interactions suspend_for_course: unknown or repeated statin {entry!r}")
        suspend[entry["statin"]] = (frozenset(entry["drugs"]), _source(entry, "suspend_for_course"))
    for name in [*(d for e in data_file["suspend_for_course"] for d in e["drugs"]), *antibiotic["drugs"]]:
        if name not in known:
            raise KnowledgeError(f"statin interactions: {name!r} is not a known ingredient")
    return Table(tuple(rows), by_pair, suspend, frozenset(antibiotic["drugs"]), str(antibiotic["name"]),
                 _source(antibiotic, "antibiotic_alternative"))


def lookup(statin: str, drug: str) -> StatinInteraction | None:
    """The label row for this statin with this drug, if any."""
    return table().by_pair.get((statin, drug))


# ---------------------------------------------------------------------------------------------- the dose

# "40 MG", "12.5 mg", "0.5 g"; a concentration ("MG/ML") or a per-actuation dose is no tablet strength.
_STRENGTH = re.compile(r"(\d+(?:\.\d+)?)\s*(mg|mcg|g)\b(?!\s*/\s*(?:ml|actuat))", re.IGNORECASE)
_COMBINATION_SPLIT = re.compile(r"\s+/\s+")  # RxNorm writes "ezetimibe 10 MG / simvastatin 40 MG Oral Tablet"
_TO_MG = {"mg": 1.0, "mcg": 0.001, "g": 1000.0}
_COUNT_UNITS = frozenset({"tab", "tabs", "tablet", "tablets", "{tbl}", "{tablet}", "{tablets}", "cap", "caps",
                          "capsule", "capsules", "{capsule}", "{cap}", "1", "{each}", "each", "ea", "{count}"})
_MASS_UNITS = {"mg": 1.0, "milligram": 1.0, "milligrams": 1.0, "g": 1000.0, "gram": 1000.0, "mcg": 0.001,
               "ug": 0.001, "microgram": 0.001}


@functools.lru_cache(maxsize=4096)
def _names_pattern(ingredient: str) -> re.Pattern[str]:
    try:
        names = drugs.ingredient(ingredient).text_names
    except KeyError:
        names = (ingredient,)
    alternatives = "|".join(re.escape(n) for n in sorted(set(names) | {ingredient}, key=len, reverse=True))
    return re.compile(rf"(?<![a-z])(?:{alternatives})(?![a-z])", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def strength_mg(product_names: tuple[str, ...], ingredient: str) -> float | None:
    """The strength (mg per unit) of `ingredient` in the first product name that states it; None when no name
    does, or a name is ambiguous (several strengths, none tied to the ingredient)."""
    pattern = _names_pattern(ingredient)
    for name in product_names:
        segments = _COMBINATION_SPLIT.split(name)
        for segment in segments:
            found = _STRENGTH.findall(segment)
            if found and (pattern.search(segment) or (len(segments) == 1 and len(found) == 1)):
                value, unit = found[0]
                return float(value) * _TO_MG[unit.lower()]
    return None


@dataclass(frozen=True)
class Dose:
    """The daily statin dose in mg (None when it cannot be read) and how it was read, for the card."""

    mg: float | None
    how: str

    @property
    def text(self) -> str:
        return f"{self.mg:g} mg" if self.mg is not None else "dose not readable"


def daily_dose(med: MedicationUse) -> Dose:
    """The daily dose of `med`'s ingredient: dose quantity x frequency when the dosage instruction gives them, else
    the product strength (one unit a day, as statins are taken); unreadable otherwise."""
    strength = strength_mg(med.product_names, med.ingredient)
    if med.dose is not None:
        value, unit = med.dose
        key = unit.lower()
        per_dose = None
        if key in _MASS_UNITS:
            per_dose = value * _MASS_UNITS[key]
        elif key in _COUNT_UNITS and strength is not None:
            per_dose = value * strength
        if per_dose is not None:
            if med.per_day:
                return Dose(per_dose * med.per_day, f"{value:g} {unit} x {med.per_day:g} a day")
            return Dose(per_dose, f"{value:g} {unit} a dose, frequency not given")
    if strength is not None:
        return Dose(strength, "product strength, one a day")
    return Dose(None, "no strength in the product name and no dose in mg")


def rows_for_docs() -> list[StatinInteraction]:
    """Every row, in table order (cards.docs)."""
    return list(table().rows)
