"""Unit normalisation to one canonical UCUM unit per analyte; factors and their sources live in ``data/units.json``.

A unit that is not listed for the analyte, an unknown analyte, or a missing unit on a dimensional analyte raises
``UnitConversionError``: a value is never converted on a guess.

Conversions are linear (``canonical = value * factor``) except where the source equation is affine: HbA1c in IFCC
units (mmol/mol) converts to NGSP % with the IFCC-NGSP master equation ``% = mmol/mol / 10.929 + 2.15``, stored as a
factor plus an ``offset``. Callers must therefore convert with ``to_canonical``/``from_canonical``/``convert`` and never
divide by a factor themselves.

Values for the ESPEN calculated osmolarity (1.86 x (Na + K) + 1.15 x glucose + urea + 14, all mmol/L):
``from_canonical(glucose_mg_dl, "mmol/L", "glucose")`` gives glucose in mmol/L (mg/dL / 18.02) and
``from_canonical(bun_mg_dl, "mmol/L", "bun")`` gives urea in mmol/L (BUN mg/dL / 2.8 = x 0.357: urea carries two
nitrogen atoms, so urea mmol/L and urea-nitrogen mmol/L are the same number).
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
    """``canonical = value * factor + offset`` for a value in ``unit``; ``source`` says where the numbers are from.

    ``offset`` is 0 for every unit except affine conversions (HbA1c mmol/mol -> %).
    """

    unit: str
    factor: float
    source: str
    offset: float = 0.0

    def to_canonical(self, value: float) -> float:
        return value * self.factor + self.offset

    def from_canonical(self, value: float) -> float:
        return (value - self.offset) / self.factor


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
    offset = float(raw.get("offset", 0.0))
    if not math.isfinite(offset):
        raise TerminologyDataError(f"units.json {analyte}/{raw.get('unit')}: offset must be finite")
    return Conversion(unit=str(raw["unit"]), factor=factor, source=str(raw["source"]), offset=offset)


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
        identity = conversions.get(normalize_unit(canonical), Conversion("", 0.0, ""))
        if identity.factor != 1.0 or identity.offset != 0.0:
            raise TerminologyDataError(f"units.json {analyte}: canonical unit must convert with factor 1 and no offset")
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
    return factor(unit, analyte).to_canonical(value)


def from_canonical(value: float, unit: str | None, analyte: str) -> float:
    """A canonical ``value`` of ``analyte`` expressed in ``unit`` (the inverse of ``to_canonical``).

    E.g. ``from_canonical(glucose_mg_dl, "mmol/L", "glucose")``, ``from_canonical(bun_mg_dl, "mmol/L", "bun")`` (urea
    mmol/L), ``from_canonical(hba1c_percent, "mmol/mol", "hba1c")``.
    """
    return factor(unit, analyte).from_canonical(value)


def convert(value: float, from_unit: str | None, to_unit: str | None, analyte: str) -> float:
    """``value`` converted between two units accepted for ``analyte`` (via its canonical unit)."""
    return from_canonical(to_canonical(value, from_unit, analyte), to_unit, analyte)
