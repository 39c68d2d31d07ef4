"""Poor circulation: venous disease and diabetic neuropathy; HbA1c and B12 notes only when present."""
from __future__ import annotations

import pytest

from cards.knowledge import threshold
from cards.rules import poor_circulation as rules
from tests.cards.helpers import card, indicator
from tests.fhir_builders import ICD10CM, SNOMED, cond, med, obs

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
    assert threshold("circulation.hba1c-target").value == 7.0  # ADA 2025 section 6: A1C < 7 % for many adults
    assert threshold("circulation.compression-abi-avoid").value == 0.60  # consensus 2020: severe PAD ABPI < 0.6
    assert threshold("circulation.lab-lookback").value == 365


@pytest.mark.parametrize(("offset", "expected"), [(-1, "low"), (0, "adequate"), (1, "adequate")])
def test_b12_cut_off(offset: int, expected: str) -> None:
    c = card(T, cond(*NEUROPATHY), obs("2132-9", rules.B12_LOW.value + offset, "pg/mL", days=40))
    assert c is not None and f"| {expected}" in (c.detail or "")


@pytest.mark.parametrize(("offset", "expected"), [(-0.1, "at the usual goal"), (0, "above the usual goal"),
                                                  (0.1, "above the usual goal")])
def test_hba1c_cut_off(offset: float, expected: str) -> None:
    """Issue 14: HbA1c is shown against the usual individual goal (< 7 %), not the diagnostic 6.5 %."""
    value = round(rules.HBA1C_TARGET.value + offset, 1)
    c = card(T, cond(*NEUROPATHY), obs("4548-4", value, "%", days=40))
    assert c is not None and f"| {expected} (< 7% for many adults" in (c.detail or "")
    assert "diabetic range" not in (c.detail or "")


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


@pytest.mark.parametrize(("mmol_mol", "expected"), [(50, "at the usual goal"), (56, "above the usual goal")])
def test_hba1c_in_ifcc_units(mmol_mol: float, expected: str) -> None:
    """ADA 2025 section 6: A1C < 7 % is < 53 mmol/mol (IFCC, LOINC 59261-8)."""
    c = card(T, cond(*NEUROPATHY), obs("59261-8", mmol_mol, "mmol/mol", days=40))
    assert c is not None and f"| {expected} (" in (c.detail or "")


# ---------------------------------------------------------------------------------------------- issue 14

VENOUS = ("I87.2", ICD10CM)


def _abi(value: float, days: float = 30, side: str | None = None) -> dict:
    extra = {"bodySite": {"text": f"{side} lower limb"}} if side else {}
    return obs("77194-9", value, "{ratio}", days=days, **extra)


@pytest.mark.parametrize("abi", [0.38, 0.45, 0.59])
def test_no_compression_advice_with_severe_pad(abi: float) -> None:
    c = card(T, cond(*VENOUS, display="Venous insufficiency"), _abi(abi))
    assert c is not None
    text = c.summary + (c.detail or "")
    assert "avoid compression" in c.summary and "**Avoid compression**" in (c.detail or "")
    assert "Compression and leg elevation" not in text and "eased by elevation and compression" not in text
    assert "vascular specialist" in (c.detail or "") and "international consensus 2020" in (c.detail or "")


@pytest.mark.parametrize(("offset", "advice"), [(-0.01, "avoid"), (0, "reduced"), (0.01, "reduced")])
def test_compression_cut_off(offset: float, advice: str) -> None:
    value = round(rules.COMPRESSION_AVOID.value + offset, 2)
    c = card(T, cond(*VENOUS), _abi(value))
    assert c is not None
    expected = "avoid compression" if advice == "avoid" else "compression only after vascular advice"
    assert expected in c.summary


@pytest.mark.parametrize(("abi", "reduced"), [(0.90, True), (0.91, False), (1.10, False)])
def test_reduced_compression_up_to_the_pad_cut_off(abi: float, reduced: bool) -> None:
    c = card(T, cond(*VENOUS), _abi(abi))
    assert c is not None
    assert ("Reduced (modified) compression only after vascular specialist assessment" in (c.detail or "")) is reduced
    assert ("Compression and leg elevation" in (c.detail or "")) is not reduced


def test_the_same_per_leg_readings_as_the_pad_card() -> None:
    """Left 0.45 / right 1.05, then right 1.10: the left leg still forbids compression; an old one too."""
    c = card(T, cond(*VENOUS), _abi(0.45, 40, "left"), _abi(1.05, 40, "right"), _abi(1.10, 10, "right"))
    assert c is not None and "avoid compression (ABI left 0.45" in c.summary
    old = card(T, cond(*VENOUS), _abi(0.45, 430))
    assert old is not None and "avoid compression" in old.summary and "over 12 months old" in (old.detail or "")


@pytest.mark.parametrize(("risk", "why"), [(cond("E11.9", ICD10CM), "diabetes"), (cond(*NEUROPATHY), "diabetes"),
                                           (cond("I70.213", ICD10CM), "PAD"), (cond("44054006"), "diabetes")])
def test_unknown_abi_with_pad_or_diabetes_confirm_it_first(risk: dict, why: str) -> None:
    c = card(T, cond(*VENOUS), risk)
    assert c is not None and c.summary.endswith(f"confirm the ABI before compression ({why})")
    assert "measure the ABI before prescribing compression" in (c.detail or "")
    assert "Compression and leg elevation" not in (c.detail or "")
    assert c.suggestions[0].label == "Order resting ankle-brachial index"
    # an old normal ABI does not count as known
    assert "confirm the ABI" in (card(T, cond(*VENOUS), risk, _abi(1.10, 430)) or c).summary


def test_unknown_abi_without_risk_and_a_normal_abi_keep_the_usual_advice() -> None:
    for extra in ((), (_abi(1.10),), (_abi(1.10), cond("E11.9", ICD10CM))):
        c = card(T, cond(*VENOUS), *extra)
        assert c is not None and "Compression and leg elevation" in (c.detail or "")
        assert c.summary.endswith("eased by elevation and compression")


def test_noncompressible_abi_asks_for_toe_pressures() -> None:
    c = card(T, cond(*VENOUS), _abi(1.55))
    assert c is not None and "toe pressures before any compression" in c.summary


@pytest.mark.parametrize("code", ["I87.001", "I87.012", "I87.023", "I87.039", "I87.099", "I87009"])
def test_post_thrombotic_syndrome_fires(code: str) -> None:
    c = card(T, cond(code, ICD10CM, display="Postthrombotic syndrome"))
    assert c is not None and "venous leg pain" in c.summary and "venous duplex" in (c.detail or "").lower()


@pytest.mark.parametrize(("code", "system"), [("E11.40", ICD10CM), ("E11.41", ICD10CM), ("E11.43", ICD10CM),
                                              ("E11.44", ICD10CM), ("E11.49", ICD10CM), ("E10.41", ICD10CM),
                                              ("E10.44", ICD10CM), ("E10.49", ICD10CM), ("E13.42", ICD10CM),
                                              ("420436000", SNOMED), ("102781000119107", SNOMED)])
def test_more_diabetic_neuropathy_codes(code: str, system: str) -> None:
    assert indicator(T, cond(code, system)) == "info"


def test_g63_is_not_diabetic_neuropathy() -> None:
    assert card(T, cond("G63", ICD10CM, display="Polyneuropathy in diseases classified elsewhere")) is None


METFORMIN = med(text="metformin 1000 mg tablet")


def test_low_b12_on_metformin_is_replaced() -> None:
    c = card(T, cond(*NEUROPATHY), obs("2132-9", 150, "pg/mL", days=30), METFORMIN)
    assert c is not None
    detail = c.detail or ""
    assert "is low: replace vitamin B12" in detail and "on metformin, which lowers B12" in detail
    assert "ADA 2025, section 9" in detail and "**Medications:**" in detail
    no_metformin = card(T, cond(*NEUROPATHY), obs("2132-9", 150, "pg/mL", days=30))
    assert no_metformin is not None and "replace vitamin B12" in (no_metformin.detail or "")
    assert "find its cause" in (no_metformin.detail or "")
    adequate = card(T, cond(*NEUROPATHY), obs("2132-9", 420, "pg/mL", days=30), METFORMIN)
    assert adequate is not None and "replace vitamin B12" not in (adequate.detail or "")


def test_no_b12_on_metformin_says_why_to_check_it() -> None:
    c = card(T, cond(*NEUROPATHY), METFORMIN)
    assert c is not None and "on metformin: check it periodically, ADA 2025 section 9" in (c.detail or "")


@pytest.mark.parametrize(("value", "step"), [(6.8, False), (9.5, True)])
def test_hba1c_is_shown_against_the_goal(value: float, step: bool) -> None:
    c = card(T, cond(*NEUROPATHY), obs("4548-4", value, "%", days=30))
    assert c is not None
    assert ("is above the usual goal" in (c.detail or "")) is step
    assert ("slows the progression of neuropathy" in (c.detail or "")) is step


def test_painful_neuropathy_treatments_are_named() -> None:
    c = card(T, cond(*NEUROPATHY))
    assert c is not None
    detail = c.detail or ""
    for drug in ("gabapentinoids", "SNRIs", "tricyclic antidepressants", "sodium-channel blockers"):
        assert drug in detail
    venous_only = card(T, cond(*VENOUS))
    assert venous_only is not None and "gabapentinoids" not in (venous_only.detail or "")


def test_a_long_diagnosis_never_hides_the_compression_advice() -> None:
    long = cond("I87.012", ICD10CM, display="Postthrombotic syndrome with ulcer of left lower extremity, with a long "
                                            "local description appended by the problem list")
    c = card(T, long, cond(*NEUROPATHY), _abi(0.45, 20, "left"))
    assert c is not None and len(c.summary) < 140
    assert c.summary.endswith("avoid compression (ABI left 0.45, severe PAD)")
