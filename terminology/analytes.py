"""Lab analytes (interim; the terminology branch replaces this file with data-driven value sets)."""
from __future__ import annotations

from terminology.systems import LOINC

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
    "creatinine": ["2160-0", "38483-4"],
    "bun": ["3094-0", "6299-2"],
    "osmolality": ["2692-2"],
    "ferritin": ["2276-4"],
    "tsat": ["2502-3"],
}
ANALYTES = {"potassium": "mmol/L", "magnesium": "mg/dL", "calcium-total": "mg/dL", "calcium-ionized": "mmol/L", "calcium-corrected": "mg/dL",
            "albumin": "g/dL", "sodium": "mmol/L", "ck": "U/L", "abi": "{ratio}", "creatinine": "mg/dL",
            "bun": "mg/dL", "osmolality": "mosm/kg", "ferritin": "ng/mL", "tsat": "%"}
_BY_CODE = {(LOINC, c): a for a, cs in _CODES.items() for c in cs}


def analyte_for_code(system: str | None, code: str | None) -> str | None:
    return _BY_CODE.get((system or "", code or ""))


def all_codes() -> frozenset[tuple[str, str]]:
    return frozenset(_BY_CODE)


def loinc_codes(analyte: str) -> list[str]:
    return list(_CODES[analyte])
