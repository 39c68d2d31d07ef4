"""Poor circulation: venous disease and diabetic neuropathy; HbA1c and B12 notes only when present."""
from __future__ import annotations

import pytest

from cards.knowledge import threshold
from cards.model import CardKind
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
    assert c is not None and "venous leg" in c.summary and "venous duplex" in (c.detail or "").lower()
    # with an ulcer (I87.01x, I87.03x) the card names it and asks for the ABI first (review 14, item 4)
    ulcer = code.replace(".", "")[4] in "13"
    assert ("venous leg ulcer - measure the ABI before any compression" in c.summary) is ulcer


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


# ---------------------------------------------------------------------------------------------- card kind
# Actionable (shown on every chart open): an ABI in the PAD range that changes the compression advice, a low B12.
# Possible cause (shown only with leg-symptom context): the venous or neuropathy diagnosis alone.


@pytest.mark.parametrize(("abi", "kind"), [
    (0.45, CardKind.ACTIONABLE),  # compression contraindicated
    (0.90, CardKind.ACTIONABLE),  # reduced compression only after vascular advice
    (0.91, CardKind.POSSIBLE_CAUSE),  # compression and elevation
    (1.50, CardKind.POSSIBLE_CAUSE),  # noncompressible: toe pressures first (a work-up step)
])
def test_venous_disease_with_an_abi_in_the_pad_range_is_actionable(abi: float, kind: CardKind) -> None:
    c = card(T, cond(*VENOUS), _abi(abi))
    assert c is not None and c.kind is kind


@pytest.mark.parametrize("resources", [
    (cond(*VENOUS),),
    (cond(*VENOUS), cond("E11.9", ICD10CM)),  # diabetes, no ABI: confirm the ABI first
    (cond(*NEUROPATHY),),
    (cond(*NEUROPATHY), obs("4548-4", 8.2, "%", days=40), obs("2132-9", 300, "pg/mL", days=40)),  # HbA1c above goal
])
def test_the_diagnoses_alone_are_a_possible_cause(resources: tuple[dict, ...]) -> None:
    c = card(T, *resources)
    assert c is not None and c.kind is CardKind.POSSIBLE_CAUSE


@pytest.mark.parametrize(("b12", "kind"), [(199, CardKind.ACTIONABLE), (200, CardKind.POSSIBLE_CAUSE)])
def test_neuropathy_with_a_low_b12_is_actionable(b12: float, kind: CardKind) -> None:
    c = card(T, cond(*NEUROPATHY), obs("2132-9", b12, "pg/mL", days=40))
    assert c is not None and c.kind is kind


def test_the_pad_card_is_pointed_to_only_where_it_shows_whenever_this_card_does() -> None:
    pad_code = cond("399957001")
    both_possible = card(T, cond(*VENOUS), pad_code)
    assert both_possible is not None and "(see the *Peripheral artery disease* card)" in (both_possible.detail or "")
    actionable = card(T, cond(*VENOUS), cond(*NEUROPATHY), obs("2132-9", 150, "pg/mL", days=40), pad_code)
    assert actionable is not None and actionable.kind is CardKind.ACTIONABLE
    assert "arterial rest pain worsens with it." in (actionable.detail or "")
    assert "*Peripheral artery disease* card" not in (actionable.detail or "")


# ---------------------------------------------------------------------------------------------- review 14, item 4


@pytest.mark.parametrize("code", ["I83.013", "I83.001", "I83.029", "I83.213", "I83.225", "I83013"])
def test_varicose_veins_with_ulcer_fire(code: str) -> None:
    """I83.0x (with ulcer) and I83.2x (with ulcer and inflammation) gave no card, so no compression warning."""
    c = card(T, cond(code, ICD10CM, display="Varicose veins of lower extremity with ulcer"))
    assert c is not None and "venous leg ulcer - measure the ABI before any compression" in c.summary
    assert len(c.summary) < 140


def test_varicose_ulcer_with_severe_pad_warns_against_compression_and_offers_the_referral() -> None:
    """Probe q3: I83.013 + ABI 0.45 + I73.9: the venous card must appear and say to avoid compression."""
    c = card(T, cond("I83.013", ICD10CM, display="Varicose veins of right lower extremity with ulcer of ankle"),
             cond("I73.9", ICD10CM), _abi(0.45))
    assert c is not None and "venous leg ulcer - avoid compression (ABI 0.45, severe PAD)" in c.summary
    assert "**Avoid compression**" in (c.detail or "") and "Compression and leg elevation" not in (c.detail or "")
    assert c.kind is CardKind.ACTIONABLE
    referral = c.suggestions[0]
    assert referral.label == "Refer to vascular surgery before any compression" and referral.is_recommended
    resource = referral.actions[0].resource or {}
    assert resource["resourceType"] == "ServiceRequest" and resource["code"]["coding"][0]["code"] == "307777008"
    # one Condition listed once, though it is both a varicose vein and a venous ulcer
    assert (c.detail or "").count("code I83.013") == 1


@pytest.mark.parametrize("extra", [(), (cond("E11.9", ICD10CM),), (_abi(1.10, 430),)])
def test_venous_ulcer_without_a_current_abi_is_never_told_to_compress(extra: tuple[dict, ...]) -> None:
    """Probe fires-poor-circulation-post-thrombotic-syndrome: I87.012 with no ABI said "Compression and leg
    elevation"; every venous leg ulcer needs an ABI first (SVS/AVF 2014), with or without diabetes."""
    c = card(T, cond("I87.012", ICD10CM, display="Postthrombotic syndrome with ulcer of left lower extremity"), *extra)
    assert c is not None
    text = c.summary + (c.detail or "")
    assert "measure the ABI before any compression" in c.summary
    assert "Compression and leg elevation" not in text and "eased by elevation and compression" not in text
    assert "every patient with a venous leg ulcer needs an ABI (SVS/AVF 2014)" in (c.detail or "")
    assert c.suggestions[0].label == "Order resting ankle-brachial index" and c.suggestions[0].is_recommended
    assert "O'Donnell TF Jr" in (c.detail or "")


def test_venous_ulcer_with_a_normal_abi_may_be_compressed() -> None:
    c = card(T, cond("I87.012", ICD10CM), _abi(1.05))
    assert c is not None and "Compression and leg elevation" in (c.detail or "")
    assert "measure the ABI" not in c.summary


def test_venous_ulcer_by_text_fires() -> None:
    c = card(T, cond("L-9", system="http://hospital.example.org/p", text="Venous leg ulcer, left calf"))
    assert c is not None and "measure the ABI before any compression" in c.summary


def test_no_second_referral_beside_a_critical_pad_card() -> None:
    """ABI 0.35: the PAD card is critical and offers the urgent referral; the venous card does not repeat it."""
    c = card(T, cond(*VENOUS), _abi(0.35))
    assert c is not None and "avoid compression" in c.summary
    assert all("vascular surgery" not in s.label for s in c.suggestions)
    moderate = card(T, cond(*VENOUS), _abi(0.75))
    assert moderate is not None and moderate.suggestions[0].label == "Refer to vascular surgery before any compression"
