"""Electrolytes: each threshold just below, at and above (read from the knowledge data, and pinned once to the number
of the source); the lab's own range and flags first; censored and unreadable results; advice by direction."""
from __future__ import annotations

from typing import Any

import pytest

from cards.knowledge import threshold
from cards.model import CardKind
from tests.cards.helpers import card, indicator
from tests.fhir_builders import UCUM, cond, med, obs, patient

T = "electrolyte-imbalance"


def test_thresholds_equal_their_sources() -> None:
    """The numbers of the sources the cards cite (a change to the data must change this test too)."""
    expected = {
        "potassium.critical-high": 6.5, "potassium.moderate-high": 6.0, "potassium.default-high": 5.5,  # UKKA 2020
        "potassium.critical-low": 2.5, "potassium.moderate-low": 3.0,  # CTCAE v5 grade 4 / grade 3
        "sodium.critical-low": 120, "sodium.critical-high": 160, "sodium.moderate-high": 150,  # CTCAE v5
        "sodium.moderate-low": 130, "sodium.profound-low": 125,  # European hyponatraemia guideline 2014
        "calcium.critical-low": 6.0, "calcium.critical-high": 13.5, "calcium.moderate-high": 11.5,  # CTCAE v5
        "calcium.moderate-low": 8.0, "calcium-ionized.critical-low": 0.8, "calcium-ionized.critical-high": 1.8,
        "magnesium.critical-low": 0.7, "magnesium.moderate-low": 1.2, "magnesium.critical-high": 8.0,  # CTCAE v5
        "calcium.correct-below-albumin": 4.0, "calcium.per-albumin": 0.8,  # Payne 1973
        "thiazide.max-calcium": 11.5,
    }
    assert {k: threshold(k).value for k in expected} == expected


def _k(value: float, **kw: Any) -> dict[str, Any]:
    return obs("2823-3", value, "mmol/L", **kw)


@pytest.mark.parametrize(("value", "expected"), [
    (2.4, "critical"), (2.5, "warning"), (2.9, "warning"), (3.0, "info"), (3.4, "info"), (3.5, None), (5.0, None),
    (5.4, None), (5.5, "info"), (5.9, "info"), (6.0, "warning"), (6.4, "warning"), (6.5, "critical"),
])
def test_potassium_default_range_by_severity(value: float, expected: str | None) -> None:
    assert indicator(T, _k(value)) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (119.0, "critical"), (120.0, "warning"), (129.0, "warning"), (130.0, "info"), (134.0, "info"), (135.0, None),
    (145.0, None), (146.0, "info"), (150.0, "info"), (151.0, "warning"), (160.0, "warning"), (161.0, "critical"),
])
def test_sodium(value: float, expected: str | None) -> None:
    assert indicator(T, obs("2951-2", value, "mmol/L")) == expected


@pytest.mark.parametrize(("value", "expected"), [(0.6, "critical"), (0.7, "warning"), (1.1, "warning"),
                                                 (1.2, "info"), (1.6, "info"), (1.7, None), (2.2, None),
                                                 (2.3, "info"), (3.1, "warning"), (8.1, "critical")])
def test_magnesium_mg_dl(value: float, expected: str | None) -> None:
    assert indicator(T, obs("19123-9", value, "mg/dL")) == expected


def test_magnesium_molar_is_converted() -> None:
    # 0.25 mmol/L = 0.61 mg/dL (x 2.43) -> critical; 0.80 mmol/L = 1.94 mg/dL in range.
    assert indicator(T, obs("2601-3", 0.25, "mmol/L")) == "critical"
    assert indicator(T, obs("2601-3", 0.80, "mmol/L")) is None


@pytest.mark.parametrize(("total", "albumin", "expected"), [
    (8.0, 4.0, "info"),        # albumin not low: no correction; 8.0 < 8.6 but >= 8.0 (grade 1)
    (7.9, 4.0, "warning"),
    (8.0, 3.0, None),          # corrected 8.8: in range once the low albumin is accounted for
    (5.5, 3.5, "critical"),    # corrected 5.9 < 6.0
    (5.7, 3.5, "warning"),     # corrected 6.1
    (13.5, 4.0, "warning"),    # not above 13.5
    (13.2, 3.5, "critical"),   # corrected 13.6 > 13.5
])
def test_corrected_calcium(total: float, albumin: float, expected: str | None) -> None:
    assert indicator(T, obs("17861-6", total, "mg/dL", days=3), obs("1751-7", albumin, "g/dL", days=3)) == expected


def test_albumin_correction_only_when_albumin_is_low() -> None:
    """Synthea patient: total calcium 8.6 with albumin 4.79 is normal, not "corrected calcium low"."""
    assert card(T, obs("17861-6", 8.6, "mg/dL", days=3), obs("1751-7", 4.79, "g/dL", days=3)) is None
    c = card(T, obs("17861-6", 8.2, "mg/dL", days=3), obs("1751-7", 4.5, "g/dL", days=3))
    assert c is not None and "not low, so no correction" in (c.detail or "") and "Corrected" not in c.summary


@pytest.mark.parametrize(("albumin", "unit"), [(30, "g/L"), (451.5, "umol/L")])
def test_albumin_in_other_units(albumin: float, unit: str) -> None:
    # 3.0 g/dL either way: total 8.0 corrects to 8.8 (in range).
    assert indicator(T, obs("17861-6", 8.0, "mg/dL", days=3), obs("1751-7", albumin, unit, days=3)) is None


def test_albumin_from_another_day_is_not_used() -> None:
    c = card(T, obs("17861-6", 8.2, "mg/dL", days=3), obs("1751-7", 3.0, "g/dL", days=10))
    assert c is not None and "not corrected" in (c.detail or "")


def test_ionized_calcium_is_used_first_and_the_card_says_so() -> None:
    assert indicator(T, obs("17861-6", 8.0, "mg/dL", days=3), obs("1994-3", 1.20, "mmol/L", days=3)) is None
    assert indicator(T, obs("1994-3", 0.75, "mmol/L", days=3)) == "critical"
    c = card(T, obs("17861-6", 9.0, "mg/dL", days=3), obs("1994-3", 0.95, "mmol/L", days=3))
    assert c is not None and "ionized calcium (measured; used before total calcium)" in (c.detail or "")


# ---------------------------------------------------------------------------------------------- lab ranges


def test_lab_reference_range_beats_default() -> None:
    assert indicator(T, _k(3.4, low=3.3, high=5.1)) is None
    assert indicator(T, _k(5.05, low=3.5, high=5.0)) == "info"


def _ranged(value: float, low: float, high: float, **range_extra: Any) -> dict[str, Any]:
    o = _k(value)
    o["referenceRange"] = [{"low": {"value": low, "unit": "mmol/L", "system": UCUM, "code": "mmol/L"},
                            "high": {"value": high, "unit": "mmol/L", "system": UCUM, "code": "mmol/L"},
                            **range_extra}]
    return o


def test_us_core_potassium_with_normal_range_type() -> None:
    """US Core's serum potassium example: 5.4 with its range 3.5-5.5 (type normal) is in range."""
    normal = {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/referencerange-meaning",
                                   "code": "normal"}], "text": "Normal Range"}}
    assert indicator(T, _ranged(5.4, 3.5, 5.5, **normal)) is None


@pytest.mark.parametrize(("applies", "sex", "expected"), [
    ({"text": "Adult"}, "female", None),
    ({"coding": [{"system": "http://snomed.info/sct", "code": "248152002", "display": "Female"}]}, "female", None),
    # A male-only range does not apply to a woman: the default range (3.5-5.5) grades 5.45 as in range too, so use
    # a value only the lab range would accept.
    ({"coding": [{"system": "http://snomed.info/sct", "code": "248153007", "display": "Male"}]}, "female", "info"),
    ({"text": "Pregnancy"}, "female", "info"),
])
def test_applies_to(applies: dict[str, Any], sex: str, expected: str | None) -> None:
    from cards import engine, registry
    from cards.facts import build_facts
    from tests.fhir_builders import NOW, PATIENT_ID

    o = _ranged(5.7, 3.6, 5.8, appliesTo=[applies])
    facts = build_facts([patient(gender=sex), o], now=NOW, patient_id=PATIENT_ID)
    cards = engine.evaluate(registry.service("leg-pain-causes"), facts)
    found = next((c.indicator.value for c in cards if c.topic == T), None)
    assert found == expected


def test_age_range_containing_the_patient_applies() -> None:
    """A magnesium inside its lab range for 0-150 years is not low."""
    o = obs("19123-9", 1.65, "mg/dL")
    o["referenceRange"] = [{"low": {"value": 1.6, "unit": "mg/dL"}, "high": {"value": 2.6, "unit": "mg/dL"},
                            "age": {"low": {"value": 0, "unit": "a", "system": UCUM, "code": "a"},
                                    "high": {"value": 150, "unit": "a", "system": UCUM, "code": "a"}}}]
    assert indicator(T, o) is None


def test_paediatric_age_range_is_not_used_for_an_adult() -> None:
    o = obs("19123-9", 1.65, "mg/dL")
    o["referenceRange"] = [{"low": {"value": 1.6, "unit": "mg/dL"}, "high": {"value": 2.6, "unit": "mg/dL"},
                            "age": {"low": {"value": 0, "unit": "a"}, "high": {"value": 17, "unit": "a"}}}]
    assert indicator(T, o) == "info"  # the default range (1.7-2.2) applies


def test_therapeutic_range_type_is_not_a_normal_range() -> None:
    treat = {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/referencerange-meaning",
                                  "code": "therapeutic"}]}}
    assert indicator(T, _ranged(3.3, 3.0, 5.0, **treat)) == "info"  # default range: 3.3 is low


# ---------------------------------------------------------------------------------------------- flags, censored


def test_lab_flags() -> None:
    assert indicator(T, _k(2.9, flag="LL")) == "critical"
    assert indicator(T, _k(3.6, flag="L")) == "info"


@pytest.mark.parametrize(("text", "expected"), [("<2.5", "critical"), ("< 2.5 mmol/L", "critical"),
                                                ("<3.0", "warning"), ("> 7.0", "critical"), ("<5.0", None),
                                                ("3.1", "info")])
def test_value_string_is_read_with_its_comparator(text: str, expected: str | None) -> None:
    o = obs("2823-3", None)
    o["valueString"] = text
    assert indicator(T, o) == expected


def test_censored_quantity_flagged_ll_is_critical_and_named() -> None:
    o = _k(2.5, flag="LL")
    o["valueQuantity"]["comparator"] = "<"
    c = card(T, o)
    assert c is not None and c.indicator.value == "critical" and "< 2.5 mmol/L" in c.summary


def test_unreadable_result_with_flag_is_graded_by_the_flag() -> None:
    o = obs("2823-3", None, flag="LL")
    o["valueString"] = "haemolysed - see comment"
    c = card(T, o)
    assert c is not None and c.indicator.value == "critical"
    assert "not readable" in c.summary and "haemolysed" in c.summary


def test_unreadable_result_is_named_on_the_card() -> None:
    o = obs("2823-3", None, days=1)
    o["valueString"] = "specimen haemolysed"
    c = card(T, o, obs("2951-2", 128.0, "mmol/L", days=1))
    assert c is not None and "could not be read" in (c.detail or "") and "specimen haemolysed" in (c.detail or "")


# ---------------------------------------------------------------------------------------------- advice by direction


def test_high_potassium_is_an_emergency_with_the_culprits_named() -> None:
    c = card(T, _k(6.5), med("29046", "lisinopril"), med(None, "Spironolactone 25 mg tablet", text="spironolactone"))
    assert c is not None and c.indicator.value == "critical"
    text = c.summary + (c.detail or "")
    assert "ECG now" in c.summary and "emergency" in text
    assert "lisinopril" in text and "spironolactone" in text
    for wrong in ("can cause night leg cramps", "refractory", "replete", "Replace potassium"):
        assert wrong not in text, wrong
    assert "Do not give potassium supplements" in text and "magnesium supplements" not in text


def test_moderate_high_potassium_asks_for_an_ecg() -> None:
    c = card(T, _k(6.1))
    assert c is not None and c.indicator.value == "warning" and "12-lead ECG now" in (c.detail or "")


def test_a_flag_that_contradicts_the_value_is_not_trusted() -> None:
    """Outside review: K 3.2 flagged H (no range) was called high and given 'no potassium supplements'."""
    c = card(T, _k(3.2, flag="H"))
    assert c is not None and "disagrees with the value" in (c.detail or "")
    text = c.summary + (c.detail or "")
    assert "High potassium" not in text and "supplement" not in text.lower()


def test_unreadable_critical_potassium_states_no_value() -> None:
    o = obs("2823-3", None, flag="HH")
    o["valueString"] = "haemolysed"
    c = card(T, o)
    assert c is not None and c.indicator.value == "critical"
    detail = c.detail or ""
    assert "flagged critical high but not reportable" in detail and ">= 6.5" not in detail


def test_mild_high_potassium_keeps_an_indicated_ace_inhibitor() -> None:
    c = card(T, _k(5.6), med("29046", "lisinopril"))
    assert c is not None and "Keep lisinopril if indicated while potassium is below 6.0 mmol/L" in (c.detail or "")
    assert "reduce or hold" not in (c.detail or "")
    severe = card(T, _k(6.2), med("29046", "lisinopril"))
    assert severe is not None and "reduce or hold" in (severe.detail or "")


def test_mixed_findings_get_a_neutral_summary() -> None:
    c = card(T, _k(5.9), obs("19123-9", 1.1, "mg/dL"))
    assert c is not None and "several findings" in c.summary and "not a cramp cause" not in c.summary


def test_low_sodium_is_corrected_for_a_high_glucose() -> None:
    """Outside review: sodium 129 with glucose 650 mg/dL is about 142 once corrected (Hillier 1999)."""
    assert indicator(T, obs("2951-2", 129.0, "mmol/L"), obs("2345-7", 650, "mg/dL")) is None
    c = card(T, obs("2951-2", 126.0, "mmol/L"), obs("2345-7", 300, "mg/dL"))  # 126 + 4.8 = 130.8: mild
    assert c is not None and c.indicator.value == "info" and "corrected for the same-day glucose" in (c.detail or "")
    assert indicator(T, obs("2951-2", 129.0, "mmol/L"), obs("2345-7", 180, "mg/dL")) == "warning"  # not corrected


def test_high_calcium_on_a_thiazide_holds_it() -> None:
    c = card(T, obs("17861-6", 12.5, "mg/dL"), med("310798", "hydrochlorothiazide 25 MG Oral Tablet"))
    assert c is not None and "Hold hydrochlorothiazide while calcium is high" in (c.detail or "")


def test_high_calcium_suggests_pth_not_cramps() -> None:
    c = card(T, obs("17861-6", 12.0, "mg/dL"))
    assert c is not None
    text = c.summary + (c.detail or "")
    assert "PTH" in text and "cramps" not in c.summary and "refractory" not in text


def test_thiazide_explains_only_mild_hypercalcaemia() -> None:
    hctz = med("5487", "hydrochlorothiazide")
    mild = card(T, obs("17861-6", 10.9, "mg/dL"), hctz)
    assert mild is not None and "may be explained by hydrochlorothiazide" in (mild.detail or "")
    severe = card(T, obs("17861-6", 13.6, "mg/dL"), hctz)
    assert severe is not None and "may be explained by hydrochlorothiazide" not in (severe.detail or "")
    assert "points to another cause" in (severe.detail or "")


def test_low_potassium_advice() -> None:
    c = card(T, _k(2.8), med("4603", "furosemide"))
    assert c is not None and c.indicator.value == "warning"
    text = c.detail or ""
    assert "Check magnesium" in text and "ECG" in text and "furosemide" in text
    assert "cramps" in c.summary


def test_profound_hyponatraemia_advises_slow_correction() -> None:
    c = card(T, obs("2951-2", 123.0, "mmol/L"))
    assert c is not None and "10 mmol/L in the first 24 h" in (c.detail or "")


# ---------------------------------------------------------------------------------------------- the rest


def test_only_the_latest_valid_result_counts() -> None:
    assert indicator(T, _k(3.0, days=30), _k(4.2, days=2)) is None
    assert indicator(T, _k(2.9, days=30), _k(4.2, days=2, status="cancelled")) == "warning"


def test_lookback_window() -> None:
    assert indicator(T, _k(2.9, days=89)) == "warning"
    assert indicator(T, _k(3.2, days=91)) is None  # a mild value leaves with the window


def test_a_moderate_or_worse_value_not_repeated_stays_visible() -> None:
    """Outside review: a potassium of 6.8 from 100 days ago on lisinopril, never repeated, vanished."""
    c = card(T, _k(6.8, days=100), med("29046", "lisinopril"))
    assert c is not None and c.indicator.value == "info"
    assert "not repeated since - recheck" in c.summary and "ECG now" not in (c.detail or "")
    assert "lisinopril" in (c.detail or "")
    assert indicator(T, _k(6.8, days=100), _k(4.4, days=10)) is None  # repeated since, and normal
    assert indicator(T, _k(6.8, days=370)) is None  # beyond the history window


def test_units_mg_dl_potassium_and_unknown_unit() -> None:
    # 11 mg/dL x 0.256 = 2.82 mmol/L -> low.
    assert indicator(T, obs("2823-3", 11, "mg/dL")) == "warning"
    assert indicator(T, obs("2823-3", 3.0, "furlongs")) is None


def test_card_names_value_date_and_related_diuretic() -> None:
    c = card(T, _k(3.1, days=5), med("313988", "furosemide 40 MG Oral Tablet"))
    assert c is not None
    assert "3.1 mmol/L" in c.summary and len(c.summary) < 140
    assert "furosemide" in (c.detail or "") and "2026-11-20" in (c.detail or "")
    assert c.suggestions and c.suggestions[0].actions[0].resource["resourceType"] == "ServiceRequest"


def test_one_value_per_result() -> None:
    c = card(T, _k(3.214))
    assert c is not None and "**3.21 mmol/L** |" in (c.detail or "") and "3.214" not in (c.detail or "")


def test_unrelated_condition_does_not_matter() -> None:
    assert indicator(T, cond("399957001"), _k(4.0)) is None


def test_results_of_another_patient_are_ignored() -> None:
    other = _k(2.0)
    other["subject"] = {"reference": "Patient/someone-else"}
    assert indicator(T, other) is None
    absolute = _k(2.9)
    absolute["subject"] = {"reference": "https://ehr.example.org/fhir/Patient/pat-1"}
    assert indicator(T, absolute) == "warning"


@pytest.mark.parametrize("birth", ["1950", "1950-03", "1950-03-04"])
def test_partial_birth_dates_are_read(birth: str) -> None:
    from cards.facts import build_facts
    from tests.fhir_builders import NOW, PATIENT_ID

    facts = build_facts([patient(birth=birth)], now=NOW, patient_id=PATIENT_ID)
    assert facts.age_years == 76


# ---------------------------------------------------------------------------------------------- card kind
# Every electrolyte card is an abnormal value: actionable, shown on every chart open. Its pointers name only cards that
# carry the same abnormality and are themselves always shown.

FUROSEMIDE = ("313988", "furosemide 40 MG Oral Tablet")
ALBUTEROL = ("745752", "albuterol 0.09 MG/ACTUAT Metered Dose Inhaler [ProAir]")


@pytest.mark.parametrize("result", [
    _k(3.3),  # mild low
    _k(2.4),  # critical low
    _k(5.6),  # mild high
    obs("2951-2", 148, "mmol/L"),  # mild high sodium
    obs("19123-9", 1.5, "mg/dL"),  # mild low magnesium
    _k(6.8, days=100),  # moderate or worse, older than 90 days, never repeated: still unacted on
])
def test_every_electrolyte_card_is_actionable(result: dict[str, Any]) -> None:
    c = card(T, result)
    assert c is not None and c.kind is CardKind.ACTIONABLE


def test_a_stale_abnormality_points_only_to_cards_that_carry_it() -> None:
    from tests.cards.helpers import cards_for

    # A low potassium never repeated is on the diuretic card too (actionable): the pointer stays.
    k = {c.topic: c for c in cards_for(med(*FUROSEMIDE), _k(2.8, days=100))}
    assert "furosemide (see the *Diuretic effect* card)" in (k[T].detail or "")
    assert k["diuretic-effect"].kind is CardKind.ACTIONABLE
    # A magnesium never repeated is not on the diuretic card; the albuterol card without a current value is a possible
    # cause: both are named without a pointer.
    mg = {c.topic: c for c in cards_for(med(*FUROSEMIDE), med(*ALBUTEROL), obs("19123-9", 1.0, "mg/dL", days=100),
                                        _k(4.2, days=10))}
    detail = mg[T].detail or ""
    assert "may be explained by furosemide." in detail and "*Diuretic effect* card" not in detail
    assert "may also be explained by albuterol." in detail and "*Medication side effect* card" not in detail
    assert mg["medication-effect"].kind is CardKind.POSSIBLE_CAUSE


# ---------------------------------------------------------------------------------------------- review 14, items 5, 11
# Hyperkalaemia on spironolactone or eplerenone names the culprit and gives the ESC 2021 heart failure guideline's
# action (potassium > 5.5 mmol/L: halve the MRA; > 6.0 mmol/L: stop it); the chart gets one electrolyte-panel
# suggestion with the same label and codes wherever it appears.

SPIRONOLACTONE = ("313096", "spironolactone 25 MG Oral Tablet")


def test_mra_thresholds_equal_their_source() -> None:
    assert threshold("potassium.mra-reduce").value == 5.5 and threshold("potassium.mra-reduce").compare == ">"
    assert threshold("potassium.mra-stop").value == 6.0 and threshold("potassium.mra-stop").compare == ">"
    assert threshold("potassium.mra-reduce").source == "esc-hf-2021"


def test_mild_high_potassium_on_spironolactone_is_a_warning_to_halve_it() -> None:
    """Probe p8: K 5.9 on spironolactone and lisinopril was INFO, never said to reduce spironolactone, told a patient
    on it not to be given a potassium-sparing diuretic, and printed "Below >= 6.0 mmol/L"."""
    c = card(T, _k(5.9, days=5), med(*SPIRONOLACTONE), med("29046", "lisinopril"))
    assert c is not None and c.indicator.value == "warning"
    assert "spironolactone" in c.summary and "halve" in c.summary and len(c.summary) < 140
    detail = c.detail or ""
    assert "Halve the dose of spironolactone" in detail and "ESC 2021 heart failure guideline" in detail
    assert "Below >=" not in detail and ">= 6.0 mmol/L keep" not in detail
    assert "or a potassium-sparing diuretic" not in detail and "start a potassium-sparing" not in detail
    assert "Keep lisinopril if indicated" in detail
    assert any(link.url == "https://doi.org/10.1093/eurheartj/ehab368" for link in c.links)


@pytest.mark.parametrize(("value", "expected", "action"), [
    (5.5, "info", None), (5.6, "warning", "Halve the dose of spironolactone"),
    (6.0, "warning", "Halve the dose of spironolactone"), (6.1, "warning", "Stop spironolactone now"),
    (6.5, "critical", "Stop spironolactone now"),
])
def test_mra_action_by_potassium(value: float, expected: str, action: str | None) -> None:
    c = card(T, _k(value), med(*SPIRONOLACTONE))
    assert c is not None and c.indicator.value == expected
    detail = c.detail or ""
    if action is None:
        assert "Halve the dose" not in detail and "Stop spironolactone" not in detail
    else:
        assert action in detail
        other = "Stop spironolactone now" if action.startswith("Halve") else "Halve the dose"
        assert other not in detail


def test_without_an_mra_a_mild_high_potassium_stays_info() -> None:
    c = card(T, _k(5.9))
    assert c is not None and c.indicator.value == "info"
    assert "start a potassium-sparing diuretic or mineralocorticoid receptor antagonist" in (c.detail or "")
    assert "Halve" not in (c.detail or "")


def test_the_electrolyte_card_carries_the_shared_panel_suggestion() -> None:
    from cards import card_text
    c = card(T, _k(3.1, days=5))
    assert c is not None and [s.label for s in c.suggestions] == [card_text.ELECTROLYTE_PANEL]
    codes = [a.resource["code"]["coding"][0]["code"] for a in c.suggestions[0].actions]
    assert codes == ["51990-0", "19123-9"]


def test_one_panel_suggestion_for_a_low_sodium_on_a_thiazide_and_an_snri() -> None:
    """Probe p5: "Order basic metabolic panel and magnesium", "Repeat basic metabolic panel and magnesium" and
    "Check sodium" on three cards for one low sodium."""
    from tests.cards.helpers import cards_for
    cards = cards_for(obs("2951-2", 129.0, "mmol/L", days=5), med("310798", "hydrochlorothiazide 25 MG Oral Tablet"),
                      med("39786", "venlafaxine"), service="leg-pain-workup")
    labels = [s.label for c in cards for s in c.suggestions]
    assert labels == ["Order basic metabolic panel and magnesium"], labels
