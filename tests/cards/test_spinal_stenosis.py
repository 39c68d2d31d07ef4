"""Lumbar spinal stenosis: codes, inactive ones, and the neurogenic vs vascular claudication relation with PAD."""
from __future__ import annotations

import pytest

from cards.model import CardKind
from cards.rules import peripheral_artery_disease as pad, spinal_stenosis
from tests.cards.helpers import card, indicator
from tests.fhir_builders import ICD10CM, SNOMED, cond, obs
from tests.test_no_outside_references import FORBIDDEN

T = "spinal-stenosis"


@pytest.mark.parametrize(("code", "system"), [("M48.062", ICD10CM), ("M48062", ICD10CM), ("M48.061", ICD10CM),
                                              ("M48.06", ICD10CM), ("18347007", SNOMED)])
def test_codes_fire_info(code: str, system: str) -> None:
    assert indicator(T, cond(code, system)) == "info"


def test_text_only_and_inactive() -> None:
    assert indicator(T, cond("L-1", system="http://hospital.example.org/p", text="Lumbar spinal stenosis")) == "info"
    assert indicator(T, cond("M48.062", ICD10CM, clinical="resolved")) is None
    assert indicator(T, cond("M48.062", ICD10CM, verification="entered-in-error")) is None
    assert indicator(T, cond("M54.16", ICD10CM)) is None


def test_claudication_named_and_abi_suggested_without_abi() -> None:
    c = card(T, cond("M48.062", ICD10CM, display="Spinal stenosis, lumbar, with neurogenic claudication"))
    assert c is not None and "with neurogenic claudication (M48.062)" in c.summary
    labels = [s.label for s in c.suggestions]
    assert labels == ["Refer to physical therapy", "Order resting ankle-brachial index"]
    assert all("coding" not in a.resource["code"] for s in c.suggestions for a in s.actions)


def test_relation_with_pad_on_both_cards() -> None:
    stenosis, abi = cond("M48.062", ICD10CM), obs("77194-9", 0.8, "{ratio}", days=30)
    c = card(T, stenosis, abi)
    assert c is not None and "*Peripheral artery disease* card" in (c.detail or "")
    assert [s.label for s in c.suggestions] == ["Refer to physical therapy"]
    # The PAD card (an abnormal ABI: always shown) names the stenosis without pointing to its possible-cause card.
    p = card("peripheral-artery-disease", stenosis, abi)
    assert p is not None and "lumbar spinal stenosis is also on the problem list." in (p.detail or "")
    assert "*Lumbar spinal stenosis* card" not in (p.detail or "")
    assert "sitting or bending forward" in (p.detail or "")
    # Both possible causes (a PAD code without an ABI): each points to the other.
    coded = cond("399957001", display="Peripheral arterial occlusive disease")
    p = card("peripheral-artery-disease", stenosis, coded)
    assert p is not None and "*Lumbar spinal stenosis* card" in (p.detail or "")
    c = card(T, stenosis, coded)
    assert c is not None and "*Peripheral artery disease* card" in (c.detail or "")


@pytest.mark.parametrize("condition", [
    cond("M48.02", ICD10CM, display="Spinal stenosis, cervical region"),
    cond("M4802", ICD10CM, display="Spinal stenosis, cervical region"),
    cond("M48.04", ICD10CM, display="Spinal stenosis, thoracic region"),
    cond("L-2", system="http://hospital.example.org/p", text="Cervical spinal stenosis"),
    cond("L-3", system="http://hospital.example.org/p", text="Spinal stenosis, cervical region"),
])
def test_cervical_or_thoracic_stenosis_is_not_lumbar(condition: dict) -> None:
    """Issue 13: M48.02 "Spinal stenosis, cervical region" gave the lumbar card (its text matched although a
    non-matching ICD-10-CM code was present). Region words matter in text-only Conditions too."""
    assert card(T, condition) is None
    assert card("nerve-compression", condition) is None


@pytest.mark.parametrize(("offset", "suggested"), [(-1, False), (0, False), (1, True)])
def test_abi_suggested_only_without_an_abi_in_the_pad_window(offset: int, suggested: bool) -> None:
    assert spinal_stenosis.ABI_WINDOW is pad.ABI_WINDOW and pad.ABI_WINDOW.value == 365
    abi = obs("77194-9", 1.1, "{ratio}", days=pad.ABI_WINDOW.value + offset)
    c = card(T, cond("M48.062", ICD10CM), abi)
    assert c is not None
    assert ("Order resting ankle-brachial index" in [s.label for s in c.suggestions]) is suggested
    assert (f"No ABI in {spinal_stenosis.WINDOW_TEXT}" in (c.detail or "")) is suggested
    assert spinal_stenosis.RULE.advice and not FORBIDDEN.search(c.detail or "")


def test_issue14_stenosis_alone_carries_the_red_flags_as_an_emergency() -> None:
    """Issue 14: "urgent MRI and specialist review" for saddle anaesthesia became an emergency (within hours)."""
    from cards.facts import build_facts
    from tests.fhir_builders import NOW, PATIENT_ID, patient

    facts = build_facts([patient(), cond("M48.062", ICD10CM)], now=NOW, patient_id=PATIENT_ID)
    c = spinal_stenosis.RULE.card(spinal_stenosis.RULE.applies(facts), facts)
    detail = c.detail or ""
    assert "**emergency**" in detail and "emergency MRI within hours" in detail
    assert "need urgent MRI and specialist review" not in detail and "non-mechanical night pain" in detail


# ---------------------------------------------------------------------------------------------- card kind
# Actionable (shown on every chart open): a red flag on record that this card carries itself. Possible cause (shown
# only with leg-symptom context): the stenosis diagnosis, also when the nerve-compression card carries the red flags.

STENOSIS = cond("M48.062", ICD10CM, display="Spinal stenosis, lumbar region with neurogenic claudication")
CANCER = cond("Z85.3", ICD10CM, display="Personal history of malignant neoplasm of breast")
SCIATICA = cond("M54.31", ICD10CM, display="Sciatica, right side")
PERONEAL = cond("G57.31", ICD10CM, display="Lesion of lateral popliteal nerve")


def test_stenosis_alone_is_a_possible_cause_and_with_a_red_flag_actionable() -> None:
    alone = card(T, STENOSIS)
    assert alone is not None and alone.kind is CardKind.POSSIBLE_CAUSE
    flagged = card(T, STENOSIS, CANCER)
    assert flagged is not None and flagged.kind is CardKind.ACTIONABLE


def test_red_flags_carried_by_the_nerve_card_leave_this_card_a_possible_cause() -> None:
    c = card(T, STENOSIS, SCIATICA, CANCER)
    assert c is not None and c.kind is CardKind.POSSIBLE_CAUSE and "*Nerve compression* card" in (c.detail or "")
    nerve = card("nerve-compression", STENOSIS, SCIATICA, CANCER)
    assert nerve is not None and nerve.kind is CardKind.ACTIONABLE


def test_a_peroneal_nerve_card_carries_no_red_flags_so_this_card_does() -> None:
    """A peroneal or tarsal tunnel entrapment is not back pain: its card has no red-flag text, so a pointer to it
    would lead nowhere and the cancer history would be lost with both cards withheld."""
    c = card(T, STENOSIS, PERONEAL, CANCER)
    assert c is not None and c.indicator.value == "warning" and c.kind is CardKind.ACTIONABLE
    detail = c.detail or ""
    assert "spinal metastasis" in detail and "saddle anaesthesia" in detail
    assert "*Nerve compression* card" not in detail


def test_an_actionable_card_points_to_the_pad_card_only_when_it_is_always_shown() -> None:
    coded = cond("399957001", display="Peripheral arterial occlusive disease")
    c = card(T, STENOSIS, CANCER, coded)  # PAD code alone: a possible-cause PAD card
    assert c is not None and c.kind is CardKind.ACTIONABLE
    assert "PAD is also on record: both may contribute." in (c.detail or "")
    low_abi = card(T, STENOSIS, CANCER, obs("77194-9", 0.8, "{ratio}", days=30))  # abnormal ABI: always shown
    assert low_abi is not None and "*Peripheral artery disease* card" in (low_abi.detail or "")


# ---------------------------------------------------------------------------------------------- issue 15 review, 3
# Routine suggestions (physical therapy, ABI) beside a critical nerve-compression card contradicted "refer
# immediately"; physical therapy waits for any red flag on record.

CES = cond("G83.4", ICD10CM, display="Cauda equina syndrome")


def _labels(c: object) -> list[str]:
    return [s.label for s in c.suggestions]  # type: ignore[attr-defined]


@pytest.mark.parametrize("emergency", [
    (CES,),
    (SCIATICA, {**cond("x", ICD10CM), "code": {"text": "Saddle anaesthesia"}}),
    (cond("C79.51", ICD10CM, display="Secondary malignant neoplasm of bone"), SCIATICA),
])
def test_no_routine_suggestion_beside_an_emergency_card(emergency: tuple[dict, ...]) -> None:
    """Review item 3 (golden multi-stenosis-and-cauda-equina): "Refer to physical therapy" and "Order resting ABI"
    beside a critical cauda equina card."""
    nerve = card("nerve-compression", STENOSIS, *emergency)
    assert nerve is not None and nerve.indicator.value == "critical"
    c = card(T, STENOSIS, *emergency)
    assert c is not None and c.indicator.value == "info" and _labels(c) == []
    detail = c.detail or ""
    assert "waits until the emergency on the *Nerve compression* card" in detail and "No ABI in" not in detail


def test_physical_therapy_waits_for_a_red_flag_on_record() -> None:
    assert _labels(card(T, STENOSIS)) == ["Refer to physical therapy", "Order resting ankle-brachial index"]
    for resources in ((SCIATICA, CANCER), (CANCER,), (PERONEAL, CANCER)):
        c = card(T, STENOSIS, *resources)
        assert c is not None and _labels(c) == ["Order resting ankle-brachial index"], resources
        assert "once the red flags are assessed" in (c.detail or "")
