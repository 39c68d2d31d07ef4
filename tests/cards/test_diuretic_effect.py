"""Diuretic effect: class-specific abnormalities (a thiazide only for a mild hypercalcaemia), and a monitoring gap
that follows the start of the drug (2-4 weeks) or a yearly check for a stable user - with monitoring advice only."""
from __future__ import annotations

from typing import Any

import pytest

from cards.knowledge import threshold
from cards.model import CardKind
from tests.cards.helpers import card, indicator
from tests.fhir_builders import days_ago, med, obs

T = "diuretic-effect"
FUROSEMIDE = ("313988", "furosemide 40 MG Oral Tablet")
HCTZ = ("310798", "hydrochlorothiazide 25 MG Oral Tablet")


def _started(drug: tuple[str, str], days: float, **kw: Any) -> dict[str, Any]:
    return med(*drug, resource="MedicationRequest", authoredOn=days_ago(days), **kw)


def test_windows_are_the_product_decisions() -> None:
    assert threshold("diuretic.first-check-after").value == 28
    assert threshold("diuretic.stable-monitoring").value == 365
    assert threshold("thiazide.max-calcium").value == 11.5


def test_quiet_without_diuretic() -> None:
    assert indicator(T, obs("2823-3", 3.0, "mmol/L")) is None


def test_loop_with_low_potassium() -> None:
    c = card(T, med(*FUROSEMIDE), obs("2823-3", 2.9, "mmol/L"))
    assert c is not None and c.indicator.value == "warning"
    assert "furosemide" in c.summary.lower() and "2.9 mmol/L" in c.summary
    assert "potassium-sparing agent" in (c.detail or "")
    mild = card(T, med(*FUROSEMIDE), obs("2823-3", 3.3, "mmol/L"))
    assert mild is not None and mild.indicator.value == "info"


def test_loop_with_normal_potassium_is_quiet() -> None:
    assert indicator(T, med(*FUROSEMIDE), obs("2823-3", 4.0, "mmol/L")) is None


def test_stable_user_with_a_yearly_panel_is_quiet() -> None:
    """Every stable diuretic user with a panel older than 90 days used to get a card: a yearly check is enough."""
    assert indicator(T, med(*FUROSEMIDE), obs("2823-3", 4.0, "mmol/L", days=200)) is None
    assert indicator(T, _started(FUROSEMIDE, 800), obs("2823-3", 4.3, "mmol/L", days=364)) is None


def test_stable_user_without_a_panel_in_twelve_months_gets_monitoring_advice() -> None:
    c = card(T, _started(FUROSEMIDE, 800), obs("2823-3", 4.0, "mmol/L", days=380))
    assert c is not None and c.indicator.value == "info"
    assert "no potassium in 12 months" in c.summary
    text = c.detail or ""
    assert "basic metabolic panel" in text and "supplement" not in text.lower() and "replace" not in text.lower()


def test_new_start_needs_a_check_after_four_weeks() -> None:
    old_panel = obs("2823-3", 4.1, "mmol/L", days=100)
    assert indicator(T, _started(HCTZ, 20), old_panel) is None  # not yet due
    c = card(T, _started(HCTZ, 40), old_panel)
    assert c is not None and c.indicator.value == "info"
    assert "since hydrochlorothiazide was started" in c.summary
    assert indicator(T, _started(HCTZ, 40), obs("2823-3", 4.0, "mmol/L", days=10)) is None  # checked since


def test_unreadable_potassium_is_named_not_called_missing() -> None:
    unreadable = obs("2823-3", None, days=10)
    unreadable["valueString"] = "haemolysed"
    c = card(T, _started(HCTZ, 40), unreadable)
    assert c is not None and "could not be read (sent \"haemolysed\")" in (c.detail or "")
    # A stable user whose only potassium is unreadable, with a sodium that was read: still told (outside data).
    stable = card(T, med(*HCTZ), unreadable, obs("2951-2", 139.0, "mmol/L", days=10))
    assert stable is not None and "could not be read" in (stable.detail or "") and "could not be read" in stable.summary


def test_a_drug_reordered_is_listed_once_since_its_first_order() -> None:
    orders = [_started(HCTZ, days) for days in (700, 400, 40)]
    c = card(T, *orders, obs("2823-3", 2.9, "mmol/L"))
    assert c is not None and (c.detail or "").count("hydrochlorothiazide 25 MG Oral Tablet**") == 1
    assert "since 2024-12-25" in (c.detail or "")


@pytest.mark.parametrize(("drug", "code", "value", "unit", "expected"), [
    (HCTZ, "2951-2", 128.0, "mmol/L", "warning"),      # thiazide + low sodium
    (HCTZ, "2951-2", 133.0, "mmol/L", "info"),         # mild
    (FUROSEMIDE, "2951-2", 128.0, "mmol/L", None),     # loop + low sodium: not named
    (HCTZ, "17861-6", 10.8, "mg/dL", "info"),          # thiazide + mild high calcium
    (HCTZ, "17861-6", 11.5, "mg/dL", "info"),
    (HCTZ, "17861-6", 11.6, "mg/dL", None),            # above 11.5: the thiazide does not explain it
    (HCTZ, "17861-6", 13.6, "mg/dL", None),
    (FUROSEMIDE, "17861-6", 10.8, "mg/dL", None),
    (FUROSEMIDE, "17861-6", 7.9, "mg/dL", "warning"),  # loop + low calcium
    (HCTZ, "17861-6", 7.9, "mg/dL", None),
])
def test_class_specific_effects(drug: tuple[str, str], code: str, value: float, unit: str,
                                expected: str | None) -> None:
    assert indicator(T, med(*drug), obs(code, value, unit), obs("2823-3", 4.0, "mmol/L")) == expected


def test_stopped_diuretic_is_ignored() -> None:
    assert indicator(T, med(*FUROSEMIDE, status="stopped"), obs("2823-3", 3.0, "mmol/L")) is None


def test_medication_request_and_text_only() -> None:
    assert indicator(T, med(*FUROSEMIDE, resource="MedicationRequest"), obs("2823-3", 2.9, "mmol/L")) == "warning"
    assert indicator(T, med(text="Lasix 40 mg tablet"), obs("2823-3", 2.9, "mmol/L")) == "warning"
    draft = med(*FUROSEMIDE, resource="MedicationRequest")
    draft["intent"] = "proposal"
    assert indicator(T, draft, obs("2823-3", 2.9, "mmol/L")) is None


def test_name_match_is_described_once() -> None:
    c = card(T, med(text="Lasix 40 mg tablet"), obs("2823-3", 2.9, "mmol/L"))
    assert c is not None and "matched by name 'Lasix'" in (c.detail or "")
    assert "matched by name `matched by name" not in (c.detail or "")


def test_newest_potassium_unreadable_is_named_whatever_the_start() -> None:
    """Outside data (carebundle defect injector): a thiazide ordered 5 days ago, potassium sent as 'see comment'."""
    unreadable = obs("2823-3", None, days=5)
    unreadable["valueString"] = "see comment"
    c = card(T, _started(HCTZ, 5), unreadable)
    assert c is not None and c.indicator.value == "info"
    assert "newest potassium" in c.summary and "could not be read" in c.summary
    assert 'sent "see comment"' in (c.detail or "")
    flagged = obs("2823-3", None, days=5, flag="L")
    flagged["valueString"] = "see comment"
    graded = card(T, _started(HCTZ, 5), flagged)  # a flag grades it: the abnormality, not the gap
    assert graded is not None and "may explain low potassium" in graded.summary


def test_finished_short_courses_are_not_current() -> None:
    """A 5-day course ordered months ago and still 'active' is not a current diuretic (outside data, clinosim)."""
    acute = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy",
                         "code": "acute"}]}
    supply = {"validityPeriod": {"start": days_ago(120)},
              "expectedSupplyDuration": {"value": 5, "unit": "days", "code": "d"}}
    old = _started(FUROSEMIDE, 120, courseOfTherapyType=acute, dispenseRequest=supply)
    assert indicator(T, old, obs("2823-3", 2.9, "mmol/L")) is None
    recent = _started(FUROSEMIDE, 10, courseOfTherapyType=acute, dispenseRequest={
        **supply, "validityPeriod": {"start": days_ago(10)}})
    assert indicator(T, recent, obs("2823-3", 2.9, "mmol/L")) == "warning"
    no_supply = _started(FUROSEMIDE, 45, courseOfTherapyType=acute)  # an inpatient order left active
    assert indicator(T, no_supply, obs("2823-3", 2.9, "mmol/L")) is None
    continuous = _started(FUROSEMIDE, 400, courseOfTherapyType={"coding": [{"code": "continuous"}]},
                          dispenseRequest=supply)
    assert indicator(T, continuous, obs("2823-3", 2.9, "mmol/L")) == "warning"


@pytest.mark.parametrize(("intent", "current"), [("order", True), ("instance-order", True), ("filler-order", True),
                                                 ("proposal", False), ("option", False)])
def test_request_intents(intent: str, current: bool) -> None:
    found = indicator(T, _started(FUROSEMIDE, 100, intent=intent), obs("2823-3", 2.9, "mmol/L"))
    assert (found == "warning") is current


def test_no_potassium_sparing_advice_when_potassium_is_high() -> None:
    """Outside review (unsafe): HCTZ + lisinopril, K 5.9, Mg 1.3 was told to 'add a potassium-sparing agent'."""
    c = card(T, med(*HCTZ), med("29046", "lisinopril"), obs("2823-3", 5.9, "mmol/L"),
             obs("19123-9", 1.1, "mg/dL"))
    assert c is not None
    text = c.detail or ""
    assert "add a potassium-sparing agent" not in text and "no potassium-sparing agent" in text
    on_spironolactone = card(T, med(*HCTZ), med(None, text="spironolactone 25 mg"), obs("2823-3", 2.9, "mmol/L"))
    assert on_spironolactone is not None and "potassium-sparing" not in (on_spironolactone.detail or "")


def test_severe_values_say_they_are_more_than_a_diuretic_causes() -> None:
    c = card(T, med(*FUROSEMIDE), obs("2823-3", 2.3, "mmol/L"))
    assert c is not None and "more than a diuretic usually causes" in (c.detail or "")


def test_an_abnormal_potassium_never_repeated_is_not_monitoring() -> None:
    """Outside review: HCTZ, K 3.1 ten months ago, never repeated, gave no card."""
    c = card(T, med(*HCTZ), obs("2823-3", 3.1, "mmol/L", days=300))
    assert c is not None and "was low, not repeated" in c.summary
    assert indicator(T, med(*HCTZ), obs("2823-3", 4.1, "mmol/L", days=300)) is None


# ---------------------------------------------------------------------------------------------- card kind
# Actionable (shown on every chart open): an abnormal value the card links to the diuretic. Possible cause (shown only
# with leg-symptom context): a monitoring gap alone.


@pytest.mark.parametrize("potassium", [2.9, 3.3])  # moderate and mild: both abnormal values linked to the drug
def test_an_abnormal_value_the_diuretic_explains_is_actionable(potassium: float) -> None:
    c = card(T, med(*FUROSEMIDE), obs("2823-3", potassium, "mmol/L"))
    assert c is not None and c.kind is CardKind.ACTIONABLE


def test_a_monitoring_gap_alone_is_a_possible_cause() -> None:
    unreadable = obs("2823-3", None, days=10)
    unreadable["valueString"] = "haemolysed"
    gaps = [
        card(T, med(*FUROSEMIDE)),  # no labs at all
        card(T, _started(FUROSEMIDE, 800), obs("2823-3", 4.0, "mmol/L", days=380)),  # none in 12 months
        card(T, _started(HCTZ, 40), obs("2823-3", 4.1, "mmol/L", days=100)),  # none since the start
        card(T, med(*HCTZ), unreadable),  # the newest potassium could not be read
    ]
    for c in gaps:
        assert c is not None and c.kind is CardKind.POSSIBLE_CAUSE, c.summary if c else None


@pytest.mark.parametrize(("potassium", "kind"), [(2.9, CardKind.ACTIONABLE), (3.3, CardKind.POSSIBLE_CAUSE)])
def test_a_low_potassium_never_repeated_is_actionable_when_moderate(potassium: float, kind: CardKind) -> None:
    """Stale but unacted on: a moderate low potassium (the electrolyte card's "not repeated" bar) stays actionable;
    a mild one never repeated is a monitoring gap."""
    c = card(T, med(*FUROSEMIDE), obs("2823-3", potassium, "mmol/L", days=200))
    assert c is not None and "not repeated" in c.summary and c.kind is kind


# ---------------------------------------------------------------------------------------------- review 14, item 11
# One electrolyte-panel suggestion per chart: the electrolyte card carries it when it fires (always shown); a
# monitoring gap alone gets it here, with the same label and codes as every other card that offers it.

def _workup(*resources: dict[str, Any]) -> dict[str, Any]:
    from tests.cards.helpers import cards_for
    return {c.topic: c for c in cards_for(*resources, service="leg-pain-workup")}


def test_an_abnormal_value_leaves_the_panel_suggestion_to_the_electrolyte_card() -> None:
    from cards import card_text
    cards = _workup(med(*FUROSEMIDE), obs("2823-3", 3.1, "mmol/L", days=5))
    assert not cards[T].suggestions and "the order is on the *Electrolyte imbalance* card" in (cards[T].detail or "")
    assert [s.label for s in cards["electrolyte-imbalance"].suggestions] == [card_text.ELECTROLYTE_PANEL]


def test_a_monitoring_gap_carries_the_shared_panel_suggestion() -> None:
    from cards import card_text
    cards = _workup(med(*FUROSEMIDE))
    assert "electrolyte-imbalance" not in cards
    assert [s.label for s in cards[T].suggestions] == [card_text.ELECTROLYTE_PANEL]
    codes = [a.resource["code"]["coding"][0]["code"] for a in cards[T].suggestions[0].actions]
    assert codes == ["51990-0", "19123-9"]
