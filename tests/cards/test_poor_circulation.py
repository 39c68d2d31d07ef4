"""Poor circulation: venous disease and diabetic neuropathy; HbA1c and B12 notes only when present."""
from __future__ import annotations

import pytest

from cards.knowledge import threshold
from cards.rules import poor_circulation as rules
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
    assert "8.2%" in detail and "2026-10-16" in detail and "low (< 200 pg/mL, BSH 2014): B12 deficiency" in detail
    assert c.suggestions == ()


def test_knowledge_values_are_the_sources() -> None:
    assert threshold("circulation.b12-low").value == 200  # BSH 2014: 148 pmol/L (200 ng/L)
    assert threshold("circulation.hba1c-diabetes").value == 6.5  # ADA 2025 section 2: A1C >= 6.5 %
    assert threshold("circulation.lab-lookback").value == 365


@pytest.mark.parametrize(("offset", "expected"), [(-1, "low"), (0, "adequate"), (1, "adequate")])
def test_b12_cut_off(offset: int, expected: str) -> None:
    c = card(T, cond(*NEUROPATHY), obs("2132-9", rules.B12_LOW.value + offset, "pg/mL", days=40))
    assert c is not None and f"| {expected}" in (c.detail or "")


@pytest.mark.parametrize(("offset", "expected"), [(-0.1, "below 6.5%"), (0, "diabetic range (>= 6.5%)"),
                                                  (0.1, "diabetic range (>= 6.5%)")])
def test_hba1c_cut_off(offset: float, expected: str) -> None:
    value = round(rules.HBA1C_DIABETES.value + offset, 1)
    c = card(T, cond(*NEUROPATHY), obs("4548-4", value, "%", days=40))
    assert c is not None and f"| {expected} |" in (c.detail or "")


@pytest.mark.parametrize(("offset", "shown"), [(-1, True), (0, True), (1, False)])
def test_note_window(offset: int, shown: bool) -> None:
    c = card(T, cond(*NEUROPATHY), obs("2132-9", 150, "pg/mL", days=rules.NOTE_WINDOW.value + offset))
    assert c is not None and ("| low" in (c.detail or "")) is shown
    assert ("Order vitamin B12" in [s.label for s in c.suggestions]) is not shown


@pytest.mark.parametrize("code", ["I83.811", "I83.812", "I83.813", "I83.819", "I83.90", "I83.91", "I83811"])
def test_painful_and_unspecified_varicose_veins_fire(code: str) -> None:
    """Issue 13: painful varicose veins (I83.81x) and I83.90/I83.91 gave no card."""
    c = card(T, cond(code, ICD10CM, display="Varicose veins of lower extremity"))
    assert c is not None and c.indicator.value == "info" and "venous duplex" in (c.detail or "").lower()


def test_a_code_outside_the_value_set_is_not_matched_by_its_text() -> None:
    """I86.8 "Varicose veins of other specified sites" is coded in ICD-10-CM outside the leg value set: its text
    matches the varicose-veins pattern, but a Condition coded in a known system is matched by its code only."""
    assert card(T, cond("I86.8", ICD10CM, display="Varicose veins of other specified sites")) is None
    assert card(T, cond("I85.00", ICD10CM, display="Esophageal varices without bleeding",
                        text="Varicose veins of esophagus")) is None


def test_stale_labs_are_not_shown_and_are_suggested() -> None:
    c = card(T, cond(*NEUROPATHY), obs("4548-4", 8.2, "%", days=400), obs("2132-9", 150, "pg/mL", days=400))
    assert c is not None and "8.2%" not in (c.detail or "")
    codes = [a.resource["code"]["coding"][0]["code"] for s in c.suggestions for a in s.actions]
    assert codes == ["2132-9", "4548-4"]


@pytest.mark.parametrize(("mmol_mol", "expected"), [(47, "below 6.5%"), (48, "diabetic range (>= 6.5%)")])
def test_hba1c_in_ifcc_units(mmol_mol: float, expected: str) -> None:
    """ADA 2025: A1C >= 6.5 % is 48 mmol/mol (IFCC, LOINC 59261-8)."""
    c = card(T, cond(*NEUROPATHY), obs("59261-8", mmol_mol, "mmol/mol", days=40))
    assert c is not None and f"| {expected} |" in (c.detail or "")
