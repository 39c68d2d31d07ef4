"""Lumbar spinal stenosis: codes, inactive ones, and the neurogenic vs vascular claudication relation with PAD."""
from __future__ import annotations

import pytest

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
    p = card("peripheral-artery-disease", stenosis, abi)
    assert p is not None and "*Lumbar spinal stenosis* card" in (p.detail or "")
    assert "sitting or bending forward" in (p.detail or "")


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
