"""Golden cases of the neuro medication area (issue "Clinical trust, part 2"), merged into the golden tables.

PATIENT_CASES / PATIENT_EXPECTED extend tests/cards/patient_golden_cases.py (service leg-pain-causes);
ORDER_CASES / ORDER_EXPECTED extend tests/cards/order_golden_cases.py (the two order services). Naming and dates
follow those modules: `fires-<topic>-<what>` yields exactly one card of <topic>, `quiet-<what>` none, and a
case with several cards is listed in the EXPECTED table.
"""
from __future__ import annotations

from typing import Any

PATIENT_CASES: dict[str, dict[str, list[dict[str, Any]]]] = {}
PATIENT_EXPECTED: dict[str, list[tuple[str, str]]] = {}
ORDER_CASES: dict[str, tuple[dict[str, list[dict[str, Any]]], list[Any]]] = {}
ORDER_EXPECTED: dict[str, set[str]] = {}
