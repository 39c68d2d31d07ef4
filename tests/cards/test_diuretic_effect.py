from __future__ import annotations

import pytest

from tests.cards.helpers import card, indicator
from tests.fhir_builders import med, obs

T = "diuretic-effect"
FUROSEMIDE = ("313988", "furosemide 40 MG Oral Tablet")
HCTZ = ("310798", "hydrochlorothiazide 25 MG Oral Tablet")


def test_quiet_without_diuretic() -> None:
    assert indicator(T, obs("2823-3", 3.0, "mmol/L")) is None


def test_loop_with_low_potassium_is_warning() -> None:
    c = card(T, med(*FUROSEMIDE), obs("2823-3", 3.2, "mmol/L"))
    assert c is not None and c.indicator.value == "warning"
    assert "furosemide" in c.summary.lower() and "3.2 mmol/L" in c.summary


def test_loop_with_normal_potassium_is_quiet() -> None:
    assert indicator(T, med(*FUROSEMIDE), obs("2823-3", 4.0, "mmol/L")) is None


def test_monitoring_gap_is_info() -> None:
    c = card(T, med(*FUROSEMIDE), obs("2823-3", 4.0, "mmol/L", days=120))
    assert c is not None and c.indicator.value == "info"
    assert "no potassium" in c.summary.lower()


@pytest.mark.parametrize(("drug", "code", "value", "unit", "expected"), [
    (HCTZ, "2951-2", 130.0, "mmol/L", "warning"),      # thiazide + low sodium
    (FUROSEMIDE, "2951-2", 130.0, "mmol/L", None),     # loop + low sodium: not loop-typical here
    (HCTZ, "17861-6", 10.8, "mg/dL", "warning"),       # thiazide + high calcium
    (FUROSEMIDE, "17861-6", 10.8, "mg/dL", None),
    (FUROSEMIDE, "17861-6", 8.0, "mg/dL", "warning"),  # loop + low calcium
    (HCTZ, "17861-6", 8.0, "mg/dL", None),
])
def test_class_specific_effects(drug: tuple[str, str], code: str, value: float, unit: str,
                                expected: str | None) -> None:
    assert indicator(T, med(*drug), obs(code, value, unit), obs("2823-3", 4.0, "mmol/L")) == expected


def test_stopped_diuretic_is_ignored() -> None:
    assert indicator(T, med(*FUROSEMIDE, status="stopped"), obs("2823-3", 3.0, "mmol/L")) is None


def test_medication_request_and_text_only() -> None:
    assert indicator(T, med(*FUROSEMIDE, resource="MedicationRequest"), obs("2823-3", 3.0, "mmol/L")) == "warning"
    assert indicator(T, med(text="Lasix 40 mg tablet"), obs("2823-3", 3.0, "mmol/L")) == "warning"
    draft = med(*FUROSEMIDE, resource="MedicationRequest")
    draft["intent"] = "proposal"
    assert indicator(T, draft, obs("2823-3", 3.0, "mmol/L")) is None
