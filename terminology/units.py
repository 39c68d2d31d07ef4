"""Unit conversion (INTERIM stub: the terminology branch replaces this file wholesale).

Factors from clinical-reference.md §1.3.
"""
from __future__ import annotations

from terminology.analytes import ANALYTES


class UnitConversionError(ValueError):
    pass


_SAME = {"mmol/L": {"mmol/l", "mmol/L", "meq/L", "mEq/L"}, "mg/dL": {"mg/dL", "mg/dl"}, "g/dL": {"g/dL"},
         "U/L": {"U/L", "IU/L", "[IU]/L"}, "{ratio}": {"{ratio}", "1", "", "ratio"},
         "ng/mL": {"ng/mL", "ug/L", "µg/L"}, "%": {"%"}, "mosm/kg": {"mosm/kg", "mOsm/kg"},
         "ug/dL": {"ug/dL", "µg/dL"}, "pg/mL": {"pg/mL", "ng/L"},
         "mL/min/{1.73_m2}": {"mL/min/{1.73_m2}", "mL/min/1.73m2"}}
_FACTORS = {  # (analyte, unit) -> multiply into the canonical unit; clinical-reference.md §1.3
    ("potassium", "mg/dL"): 0.256, ("potassium", "mg/dl"): 0.256,
    ("magnesium", "mmol/L"): 2.43,
    ("albumin", "g/L"): 0.1,
    ("creatinine", "umol/L"): 1 / 88.4, ("creatinine", "µmol/L"): 1 / 88.4,
    ("ferritin", "pmol/L"): 0.445,
    ("b12", "pmol/L"): 1.355,
}


def canonical_unit(analyte: str) -> str:
    return ANALYTES[analyte]


def to_canonical(value: float, unit: str | None, analyte: str) -> float:
    canon = ANALYTES[analyte]
    if (unit or "") in _SAME.get(canon, ()):
        return value
    factor = _FACTORS.get((analyte, unit or ""))
    if factor is not None:
        return value * factor
    raise UnitConversionError(f"no conversion from {unit!r} for {analyte}")
