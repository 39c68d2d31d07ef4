"""Poor circulation: venous disease and diabetic neuropathy; HbA1c and B12 notes only when present."""
from __future__ import annotations

import pytest

from tests.cards.helpers import card, indicator
from tests.fhir_builders import ICD10CM, SNOMED, cond, obs

T = "poor-circulation"
NEUROPATHY = ("E11.42", ICD10CM)


@pytest.mark.parametrize(("code", "system"), [("I87.2", ICD10CM), ("I872", ICD10CM), ("I83.93", ICD10CM),
                                              ("E11.42", ICD10CM), ("368581000119106", SNOMED)])
def test_codes_fire_info(code: str, system: str) -> None:
    assert indicator(T, cond(code, system)) == "info"


def test_text_only_inactive_and_unrelated() -> None:
    assert indicator(T, cond("L-7", system="http://hospital.example.org/p", text="Varicose veins of both legs")) \
        == "info"
    assert indicator(T, cond("I87.2", ICD10CM, clinical="resolved")) is None
    assert indicator(T, cond("I87.2", ICD10CM, verification="refuted")) is None
    assert indicator(T, cond("M54.16", ICD10CM)) is None


def test_venous_card_suggests_text_only_duplex() -> None:
    c = card(T, cond("I87.2", ICD10CM, display="Chronic venous insufficiency"))
    assert c is not None and c.summary.startswith("Chronic venous insufficiency (I87.2)")
    assert [s.label for s in c.suggestions] == ["Order venous duplex ultrasound"]
    assert "coding" not in c.suggestions[0].actions[0].resource["code"]
    assert "HbA1c" not in (c.detail or "")


def test_neuropathy_shows_hba1c_and_b12_with_dates() -> None:
    c = card(T, cond(*NEUROPATHY), obs("4548-4", 8.2, "%", days=40), obs("2132-9", 150, "pg/mL", days=40))
    assert c is not None
    detail = c.detail or ""
    assert "8.2%" in detail and "2026-10-16" in detail and "low: B12 deficiency" in detail
    assert c.suggestions == ()


@pytest.mark.parametrize(("b12", "expected"), [(199.0, "low"), (200.0, "adequate"), (201.0, "adequate")])
def test_b12_cut_off(b12: float, expected: str) -> None:
    c = card(T, cond(*NEUROPATHY), obs("2132-9", b12, "pg/mL", days=40))
    assert c is not None and f"| {expected}" in (c.detail or "")


def test_stale_labs_are_not_shown_and_are_suggested() -> None:
    c = card(T, cond(*NEUROPATHY), obs("4548-4", 8.2, "%", days=400), obs("2132-9", 150, "pg/mL", days=400))
    assert c is not None and "8.2%" not in (c.detail or "")
    codes = [a.resource["code"]["coding"][0]["code"] for s in c.suggestions for a in s.actions]
    assert codes == ["2132-9", "4548-4"]
