"""Lab analytes (INTERIM stub: the terminology branch replaces this file wholesale with data-driven value sets).

Codes are from clinical-reference.md §1.2 (verified tags there); only what the rules' tests need.
"""
from __future__ import annotations

from terminology.systems import LOINC, SNOMED

_CODES = {
    "potassium": ["2823-3", "6298-4"],
    "magnesium": ["19123-9", "2601-3"],
    "calcium-total": ["17861-6", "2000-8", "49765-1"],
    "calcium-ionized": ["1994-3", "1995-0"],
    "albumin": ["1751-7"],
    "calcium-corrected": ["29265-6"],
    "sodium": ["2951-2", "2947-0"],
    "ck": ["2157-6"],
    "abi": ["77194-9"],
    "creatinine": ["2160-0", "38483-4", "14682-9"],
    "bun": ["3094-0", "6299-2"],
    "osmolality": ["2692-2"],
    "ferritin": ["2276-4", "20567-4"],
    "tsat": ["2502-3"],
    "iron": ["2498-4"],
    "tibc": ["2500-7"],
    "egfr": ["33914-3", "62238-1", "98979-8"],
    "hba1c": ["4548-4"],
    "b12": ["2132-9"],
}
ANALYTES = {"potassium": "mmol/L", "magnesium": "mg/dL", "calcium-total": "mg/dL", "calcium-ionized": "mmol/L",
            "calcium-corrected": "mg/dL", "albumin": "g/dL", "sodium": "mmol/L", "ck": "U/L", "abi": "{ratio}",
            "creatinine": "mg/dL", "bun": "mg/dL", "osmolality": "mosm/kg", "ferritin": "ng/mL", "tsat": "%",
            "iron": "ug/dL", "tibc": "ug/dL", "egfr": "mL/min/{1.73_m2}", "hba1c": "%", "b12": "pg/mL"}
_BY_CODE = {(LOINC, c): a for a, cs in _CODES.items() for c in cs}
_BY_CODE[(SNOMED, "446841001")] = "abi"  # clinical-reference.md §2.1 [C]


def analyte_for_code(system: str | None, code: str | None) -> str | None:
    return _BY_CODE.get((system or "", code or ""))


def all_codes() -> frozenset[tuple[str, str]]:
    return frozenset(_BY_CODE)


def loinc_codes(analyte: str) -> list[str]:
    return list(_CODES[analyte])
