"""Unit conversion (interim; the terminology branch replaces this file)."""
from __future__ import annotations

from terminology.analytes import ANALYTES


class UnitConversionError(ValueError):
    pass


_SAME = {"mmol/L": {"mmol/l", "mmol/L", "meq/L", "mEq/L"}, "mg/dL": {"mg/dL", "mg/dl"}, "g/dL": {"g/dL"},
         "U/L": {"U/L", "IU/L", "[IU]/L"}, "{ratio}": {"{ratio}", "1", "", "ratio"}, "ng/mL": {"ng/mL"},
         "%": {"%"}, "mosm/kg": {"mosm/kg", "mOsm/kg"}}


def canonical_unit(analyte: str) -> str:
    return ANALYTES[analyte]


def to_canonical(value: float, unit: str | None, analyte: str) -> float:
    canon = ANALYTES[analyte]
    if (unit or "") in _SAME.get(canon, ()):
        return value
    if analyte == "potassium" and unit in ("mg/dL", "mg/dl"):
        return value * 0.256
    if analyte == "albumin" and unit == "g/L":
        return value / 10
    raise UnitConversionError(f"no conversion from {unit!r} for {analyte}")
