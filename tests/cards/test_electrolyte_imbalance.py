"""Electrolyte thresholds: just below, at and above each cut-off; lab range and flags first."""
from __future__ import annotations

import pytest

from tests.cards.helpers import card, indicator
from tests.fhir_builders import cond, med, obs

T = "electrolyte-imbalance"


@pytest.mark.parametrize(("value", "expected"), [
    (2.4, "critical"), (2.5, "warning"), (2.6, "warning"), (3.4, "warning"), (3.5, None), (5.0, None),
    (5.1, "warning"), (6.5, "warning"), (6.6, "critical"),
])
def test_potassium_default_range_and_critical(value: float, expected: str | None) -> None:
    assert indicator(T, obs("2823-3", value, "mmol/L")) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (119.0, "critical"), (120.0, "warning"), (134.0, "warning"), (135.0, None), (145.0, None), (146.0, "warning"),
    (160.0, "warning"), (161.0, "critical"),
])
def test_sodium(value: float, expected: str | None) -> None:
    assert indicator(T, obs("2951-2", value, "mmol/L")) == expected


@pytest.mark.parametrize(("value", "expected"), [(0.9, "critical"), (1.0, "warning"), (1.6, "warning"),
                                                 (1.7, None), (2.2, None), (2.3, "warning")])
def test_magnesium_mg_dl(value: float, expected: str | None) -> None:
    assert indicator(T, obs("19123-9", value, "mg/dL")) == expected


def test_magnesium_molar_is_converted() -> None:
    # 0.40 mmol/L = 0.97 mg/dL (x 2.43, clinical-reference §1.3) -> critical; 0.80 mmol/L = 1.94 mg/dL in range.
    assert indicator(T, obs("2601-3", 0.40, "mmol/L")) == "critical"
    assert indicator(T, obs("2601-3", 0.80, "mmol/L")) is None


@pytest.mark.parametrize(("total", "albumin", "expected"), [
    (8.0, 4.0, "warning"),     # corrected 8.0 < 8.6
    (8.0, 3.0, None),          # corrected 8.8: in range once albumin is accounted for
    (5.9, 3.5, "critical"),    # corrected 6.3 < 6.5
    (6.1, 3.5, "warning"),     # corrected 6.5: not below 6.5
    (12.9, 4.0, "warning"),
    (12.9, 3.8, "critical"),   # corrected 13.06 > 13
])
def test_corrected_calcium(total: float, albumin: float, expected: str | None) -> None:
    assert indicator(T, obs("17861-6", total, "mg/dL", days=3), obs("1751-7", albumin, "g/dL", days=3)) == expected


def test_albumin_from_another_day_is_not_used() -> None:
    c = card(T, obs("17861-6", 8.2, "mg/dL", days=3), obs("1751-7", 3.0, "g/dL", days=10))
    assert c is not None and "not corrected" in (c.detail or "")


def test_ionized_calcium_preferred_when_as_recent() -> None:
    assert indicator(T, obs("17861-6", 8.0, "mg/dL", days=3), obs("1994-3", 1.20, "mmol/L", days=3)) is None
    assert indicator(T, obs("1994-3", 0.75, "mmol/L", days=3)) == "critical"


def test_lab_reference_range_beats_default() -> None:
    # 3.4 is low by default but inside this lab's 3.3-5.1 range.
    assert indicator(T, obs("2823-3", 3.4, "mmol/L", low=3.3, high=5.1)) is None
    assert indicator(T, obs("2823-3", 5.05, "mmol/L", low=3.5, high=5.0)) == "warning"


def test_lab_critical_flag_makes_it_critical() -> None:
    assert indicator(T, obs("2823-3", 2.9, "mmol/L", flag="LL")) == "critical"
    assert indicator(T, obs("2823-3", 3.6, "mmol/L", flag="L")) == "warning"


def test_only_the_latest_valid_result_counts() -> None:
    assert indicator(T, obs("2823-3", 3.0, "mmol/L", days=30), obs("2823-3", 4.2, "mmol/L", days=2)) is None
    # A cancelled newer result does not hide the older low one.
    assert indicator(T, obs("2823-3", 3.0, "mmol/L", days=30),
                     obs("2823-3", 4.2, "mmol/L", days=2, status="cancelled")) == "warning"


def test_lookback_window() -> None:
    assert indicator(T, obs("2823-3", 3.0, "mmol/L", days=89)) == "warning"
    assert indicator(T, obs("2823-3", 3.0, "mmol/L", days=91)) is None


def test_units_mg_dl_potassium_and_unknown_unit() -> None:
    # 12 mg/dL x 0.256 = 3.07 mmol/L -> low.
    assert indicator(T, obs("2823-3", 12, "mg/dL")) == "warning"
    assert indicator(T, obs("2823-3", 3.0, "furlongs")) is None


def test_value_string_is_skipped_not_guessed() -> None:
    o = obs("2823-3", None)
    o["valueString"] = "<2.5"
    assert indicator(T, o) is None


def test_comparator_value_is_skipped() -> None:
    o = obs("2823-3", 2.5, "mmol/L")
    o["valueQuantity"]["comparator"] = "<"
    assert indicator(T, o) is None


def test_card_names_value_date_and_related_diuretic() -> None:
    c = card(T, obs("2823-3", 3.1, "mmol/L", days=5), med("313988", "furosemide 40 MG Oral Tablet"))
    assert c is not None
    assert "3.1 mmol/L" in c.summary and len(c.summary) < 140
    assert "furosemide" in (c.detail or "") and "2026-11-20" in (c.detail or "")
    assert c.suggestions and c.suggestions[0].actions[0].resource["resourceType"] == "ServiceRequest"


def test_unrelated_condition_does_not_matter() -> None:
    assert indicator(T, cond("399957001"), obs("2823-3", 4.0, "mmol/L")) is None


def test_results_of_another_patient_are_ignored() -> None:
    other = obs("2823-3", 2.0, "mmol/L")
    other["subject"] = {"reference": "Patient/someone-else"}
    assert indicator(T, other) is None
    absolute = obs("2823-3", 3.0, "mmol/L")
    absolute["subject"] = {"reference": "https://ehr.example.org/fhir/Patient/pat-1"}
    assert indicator(T, absolute) == "warning"


@pytest.mark.parametrize("birth", ["1950", "1950-03", "1950-03-04"])
def test_partial_birth_dates_are_read(birth: str) -> None:
    from cards.facts import build_facts
    from tests.fhir_builders import NOW, PATIENT_ID, patient

    facts = build_facts([patient(birth=birth)], now=NOW, patient_id=PATIENT_ID)
    assert facts.age_years == 76
