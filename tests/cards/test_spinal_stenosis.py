"""Lumbar spinal stenosis: codes, inactive ones, and the neurogenic vs vascular claudication relation with PAD."""
from __future__ import annotations

import pytest

from tests.cards.helpers import card, indicator
from tests.fhir_builders import ICD10CM, SNOMED, cond, obs

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
