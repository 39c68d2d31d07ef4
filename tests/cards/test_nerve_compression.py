"""Nerve compression: each diagnosis by code, dotless ICD, text; inactive ones; stenosis counted elsewhere."""
from __future__ import annotations

import pytest

from cards.rules import nerve_compression
from tests.cards.helpers import card, cards_for, indicator
from tests.fhir_builders import ICD10CM, SNOMED, cond
from tests.test_no_outside_references import FORBIDDEN

T = "nerve-compression"


@pytest.mark.parametrize(("code", "system"), [
    ("M54.16", ICD10CM), ("M5416", ICD10CM), ("m54.31", ICD10CM), ("23056005", SNOMED), ("M51.26", ICD10CM),
    ("M51.17", ICD10CM), ("G57.31", ICD10CM), ("G57.52", ICD10CM),
])
def test_each_diagnosis_fires_info(code: str, system: str) -> None:
    assert indicator(T, cond(code, system, display="a leg nerve diagnosis")) == "info"


def test_text_only_condition() -> None:
    c = card(T, cond("L-9", system="http://hospital.example.org/problems", text="Sciatica, right"))
    assert c is not None and "matched by text" in (c.detail or "")


@pytest.mark.parametrize(("clinical", "verification"), [("resolved", None), ("remission", None),
                                                        ("active", "refuted")])
def test_inactive_or_refuted_is_quiet(clinical: str, verification: str | None) -> None:
    assert indicator(T, cond("M54.16", ICD10CM, clinical=clinical, verification=verification)) is None


def test_unrelated_condition_is_quiet() -> None:
    assert indicator(T, cond("I87.2", ICD10CM)) is None


def test_stenosis_condition_counts_only_on_the_stenosis_card() -> None:
    both = cond("M48.062", ICD10CM, display="Lumbar stenosis with neurogenic claudication and radiculopathy")
    both["code"]["coding"].append({"system": ICD10CM, "code": "M54.16"})
    topics = [c.topic for c in cards_for(both)]
    assert topics == ["spinal-stenosis"]


def test_separate_sciatica_and_stenosis_give_both_cards() -> None:
    c = card(T, cond("M48.062", ICD10CM), cond("M54.16", ICD10CM, display="Lumbar radiculopathy"))
    assert c is not None and "*Lumbar spinal stenosis* card" not in (c.detail or "")
    assert {x.topic for x in cards_for(cond("M48.062", ICD10CM), cond("M54.16", ICD10CM))} == \
        {"spinal-stenosis", "nerve-compression"}


def test_card_names_diagnosis_red_flags_and_suggestions() -> None:
    c = card(T, cond("M54.16", ICD10CM, display="Lumbar radiculopathy"),
             cond("G57.31", ICD10CM, display="Lesion of lateral popliteal nerve, right"))
    assert c is not None
    assert c.summary.startswith("Nerve compression: Lumbar radiculopathy (M54.16) and 1 more") and len(c.summary) < 140
    detail = c.detail or ""
    assert "saddle anaesthesia" in detail and "foot drop" in detail
    labels = [s.label for s in c.suggestions]
    assert labels == ["Refer to physical therapy", "Order EMG and nerve conduction study"]
    # No verified code exists for these orders: text-only ServiceRequests.
    assert all("coding" not in a.resource["code"] for s in c.suggestions for a in s.actions)
    assert c.override_reasons and c.links


@pytest.mark.parametrize("code", ["M54.17", "M5417"])
def test_lumbosacral_radiculopathy_fires(code: str) -> None:
    """Issue 13: M54.17 "Radiculopathy, lumbosacral region" gave no card."""
    c = card(T, cond(code, ICD10CM, display="Radiculopathy, lumbosacral region"))
    assert c is not None and c.indicator.value == "info" and "M54.17" in c.summary.replace("M5417", "M54.17")


def test_a_coded_condition_outside_the_value_sets_is_not_matched_by_its_text() -> None:
    """M54.12 "Radiculopathy, cervical region" is ICD-10-CM outside the sets: no text fallback, no card."""
    assert card(T, cond("M54.12", ICD10CM, display="Radiculopathy, cervical region",
                        text="Cervical radiculopathy with sciatica-like pain")) is None


def test_advice_and_primary_sources() -> None:
    c = card(T, cond("M54.16", ICD10CM, display="Lumbar radiculopathy"))
    assert c is not None and nerve_compression.RULE.advice
    assert not FORBIDDEN.search(c.detail or "") and "Ann Intern Med 2017" in (c.detail or "")
