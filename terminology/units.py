"""Unit normalisation to one canonical UCUM unit per analyte; factors and their sources live in ``data/units.json``.

A unit that is not listed for the analyte, an unknown analyte, or a missing unit on a dimensional analyte raises
``UnitConversionError``: a value is never converted on a guess.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

from terminology._data import TerminologyDataError, load_json


class UnitConversionError(ValueError):
    """The unit cannot be mapped for this analyte (the caller skips the value and counts the reason)."""


@dataclass(frozen=True)
class Conversion:
    """Multiply a value in ``unit`` by ``factor`` to get the canonical unit; ``source`` says where the factor is from."""

    unit: str
    factor: float
    source: str


@dataclass(frozen=True)
class AnalyteUnits:
    """Canonical unit and accepted units of one analyte."""

    analyte: str
    canonical: str
    dimensionless: bool
    conversions: dict[str, Conversion]


def normalize_unit(unit: str) -> str:
    """Key for unit lookups: UCUM code and display spellings of the same unit collapse to one key.

    Case-insensitive; micro sign and Greek mu become ``u``; ``mcg`` becomes ``ug``; whitespace, underscores and the
    brackets/braces of UCUM annotations and arbitrary units are dropped (``m[IU]/L`` ~ ``mIU/L``,
    ``mL/min/{1.73_m2}`` ~ ``mL/min/1.73 m2``, ``mOsm/kg H2O`` ~ ``mosm/kg{H2O}``).
    """
    key = unit.strip().lower().replace("\u00b5", "u").replace("\u03bc", "u")
    for char in " \t_[]{}":
        key = key.replace(char, "")
    return key.replace("mcg", "ug")


def _conversion(analyte: str, raw: dict[str, Any]) -> Conversion:
    multiply, divide = raw.get("multiply"), raw.get("divide")
    if (multiply is None) == (divide is None) or not raw.get("source"):
        raise TerminologyDataError(f"units.json {analyte}/{raw.get('unit')}: need exactly one of multiply/divide and a source")
    # divide is kept as written in the source ("mg/dL x 88.4 = umol/L") rather than as a rounded reciprocal
    factor = float(multiply) if multiply is not None else (1.0 / float(divide) if divide else 0.0)
    if not math.isfinite(factor) or factor <= 0:
        raise TerminologyDataError(f"units.json {analyte}/{raw.get('unit')}: factor must be positive")
    return Conversion(unit=str(raw["unit"]), factor=factor, source=str(raw["source"]))


@functools.cache
def _table() -> dict[str, AnalyteUnits]:
    data = load_json("units.json")
    if not data.get("provenance", {}).get("source"):
        raise TerminologyDataError("units.json: missing provenance")
    table = {}
    for analyte, spec in data["analytes"].items():
        conversions: dict[str, Conversion] = {}
        for raw in spec["conversions"]:
            conv = _conversion(analyte, raw)
            key = normalize_unit(conv.unit)
            if key in conversions:
                raise TerminologyDataError(f"units.json {analyte}: unit {conv.unit!r} listed twice")
            conversions[key] = conv
        canonical = str(spec["canonical"])
        if conversions.get(normalize_unit(canonical), Conversion("", 0.0, "")).factor != 1.0:
            raise TerminologyDataError(f"units.json {analyte}: canonical unit must convert with factor 1")
        table[analyte] = AnalyteUnits(analyte, canonical, bool(spec.get("dimensionless")), conversions)
    return table


def analytes() -> dict[str, AnalyteUnits]:
    """Every analyte with its canonical unit and accepted units."""
    return dict(_table())


def _spec(analyte: str) -> AnalyteUnits:
    try:
        return _table()[analyte]
    except KeyError:
        raise UnitConversionError(f"no unit table for analyte {analyte!r}") from None


def canonical_unit(analyte: str) -> str:
    """The UCUM unit every value of ``analyte`` is converted to."""
    return _spec(analyte).canonical


def factor(unit: str | None, analyte: str) -> Conversion:
    """The conversion that takes ``unit`` to the canonical unit of ``analyte``."""
    spec = _spec(analyte)
    if unit is None or not unit.strip():
        if spec.dimensionless:
            return spec.conversions[normalize_unit(spec.canonical)]
        raise UnitConversionError(f"{analyte}: value has no unit")
    conv = spec.conversions.get(normalize_unit(unit))
    if conv is None:
        raise UnitConversionError(f"{analyte}: unknown unit {unit!r}")
    return conv


def to_canonical(value: float, unit: str | None, analyte: str) -> float:
    """``value`` expressed in ``canonical_unit(analyte)``; raises UnitConversionError for an unmappable unit."""
    return value * factor(unit, analyte).factor


def convert(value: float, from_unit: str | None, to_unit: str | None, analyte: str) -> float:
    """``value`` converted between two units accepted for ``analyte`` (via its canonical unit)."""
    return value * factor(from_unit, analyte).factor / factor(to_unit, analyte).factor
