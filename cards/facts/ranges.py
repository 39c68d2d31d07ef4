"""The lab's own reference range, when it applies to this patient (docs/clinical-basis.md, "How results are read").

A range applies when its type is normal (or absent); its appliesTo is absent or names the whole population, the
patient's sex or age group; and its age range, if any, contains the patient's age. The first range that applies and
has a bound is read, in the analyte's canonical unit.
"""
from __future__ import annotations

import re
from typing import Any

from cards.facts.readers import number
from terminology import units

# FHIR R4 referencerange-meaning: the range that describes "normal" for the patient (type absent means the same).
NORMAL_RANGE_TYPES = frozenset({"normal"})
# SNOMED CT codes of the FHIR R4 example value set ReferenceRangeAppliesTo (http://hl7.org/fhir/ValueSet/
# referencerange-appliesto): male, female, pregnant.
APPLIES_MALE, APPLIES_FEMALE, APPLIES_PREGNANT = "248153007", "248152002", "77386006"
_APPLIES_WORDS = (
    (re.compile(r"\b(?:all|everyone|general|whole population|both sexes|any|normal|reference)\b", re.I), "all"),
    (re.compile(r"\bpregnan", re.I), "pregnant"),
    (re.compile(r"\b(?:female|women|woman|girls?)\b", re.I), "female"),
    (re.compile(r"\b(?:male|men|man|boys?)\b", re.I), "male"),
    (re.compile(r"\b(?:child|children|paediatric|pediatric|neonat\w*|infant\w*|newborn)\b", re.I), "child"),
    (re.compile(r"\badults?\b", re.I), "adult"),
)
_NOT_NORMAL_TEXT = re.compile(r"therap|treat|target|recommend", re.I)
_AGE_UNITS = {"a": 1.0, "yr": 1.0, "yrs": 1.0, "year": 1.0, "years": 1.0, "mo": 1 / 12, "month": 1 / 12,
              "months": 1 / 12, "wk": 1 / 52.18, "week": 1 / 52.18, "weeks": 1 / 52.18, "d": 1 / 365.25,
              "day": 1 / 365.25, "days": 1 / 365.25}
ADULT_AGE = 18


def range_unit(ranges: Any) -> str | None:
    """The unit of the first range bound that names one (a value sent without a unit may be read in it)."""
    for rr in ranges or []:
        for qty in (rr.low, rr.high):
            if qty is not None and (qty.code or qty.unit):
                return str(qty.code or qty.unit)
    return None


def normal_range(ranges: Any, analyte: str, unit: str | None, *, sex: str | None,
                 age_years: int | None) -> tuple[float | None, float | None]:
    """The lab's own range that applies to this patient (the first one), in canonical units."""
    for rr in ranges or []:
        if not _applies(rr, sex, age_years):
            continue
        low = _bound(rr.low, analyte, unit)
        high = _bound(rr.high, analyte, unit)
        if low is not None or high is not None:
            return low, high
    return None, None


def _applies(rr: Any, sex: str | None, age_years: int | None) -> bool:
    """Type normal (or absent); appliesTo absent or naming this patient's population; age containing theirs."""
    if rr.type is not None:
        codes = {c.code for c in rr.type.coding or [] if c.code}
        if codes and not codes & NORMAL_RANGE_TYPES:
            return False
        if not codes and rr.type.text and _NOT_NORMAL_TEXT.search(rr.type.text):
            return False
    if rr.age is not None and not _age_in(rr.age, age_years):
        return False
    return all(_population_applies(concept, sex, age_years) for concept in rr.appliesTo or [])


def _age_in(age: Any, years: int | None) -> bool:
    """Whether the patient's age (an adult when unknown: the service's scope) lies in the range."""
    for bound, is_low in ((age.low, True), (age.high, False)):
        if bound is None or number(bound.value) is None:
            continue
        factor = _AGE_UNITS.get(str(bound.code or bound.unit or "a").strip().lower())
        if factor is None:
            return False  # an age unit we cannot read: do not guess
        limit = float(bound.value) * factor
        if years is None:
            if not is_low and limit < ADULT_AGE:
                return False  # a paediatric range
            continue
        if (years < limit) if is_low else (years > limit):
            return False
    return True


def _population_applies(concept: Any, sex: str | None, age_years: int | None) -> bool:
    codes = {c.code for c in concept.coding or [] if c.code}
    if APPLIES_PREGNANT in codes:
        return False  # the service does not know the pregnancy state at the time of the draw
    if APPLIES_MALE in codes or APPLIES_FEMALE in codes:
        wanted = "male" if APPLIES_MALE in codes else "female"
        return sex == wanted
    words = " ".join([concept.text or ""] + [c.display or "" for c in concept.coding or []])
    for pattern, meaning in _APPLIES_WORDS:
        if pattern.search(words):
            if meaning == "all":
                return True
            if meaning == "pregnant":
                return False
            if meaning in ("male", "female"):
                return sex == meaning
            if meaning == "child":
                return age_years is not None and age_years < ADULT_AGE
            return age_years is None or age_years >= ADULT_AGE  # adult
    return False  # a population we cannot interpret (a race, a local code): not assumed to be this patient


def _bound(qty: Any, analyte: str, result_unit: str | None) -> float | None:
    if qty is None or number(qty.value) is None:
        return None
    try:
        return units.to_canonical(float(qty.value), qty.code or qty.unit or result_unit, analyte)
    except units.UnitConversionError:
        return None
