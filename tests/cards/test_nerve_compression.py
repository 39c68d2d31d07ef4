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


# ---------------------------------------------------------------------------------------------- issue 14, point 8
# Emergencies named as emergencies: a coded cauda equina syndrome is critical; a cancer history or a spinal infection
# with radicular pain is a red flag (warning); the spinal-stenosis card refers to this card rather than repeating it.
# Rules are evaluated directly so that these tests do not depend on other rules.

SCIATICA = cond("M54.31", ICD10CM, display="Sciatica, right side")
CANCER = cond("Z85.3", ICD10CM, display="Personal history of malignant neoplasm of breast")


def _direct(rule: object, *resources: dict[str, object]) -> object:
    from cards.facts import build_facts
    from tests.fhir_builders import NOW, PATIENT_ID, patient

    facts = build_facts([patient(), *resources], now=NOW, patient_id=PATIENT_ID)
    finding = rule.applies(facts)  # type: ignore[attr-defined]
    return rule.card(finding, facts) if finding is not None else None  # type: ignore[attr-defined]


@pytest.mark.parametrize(("code", "system"), [("G83.4", ICD10CM), ("G834", ICD10CM), ("192970008", SNOMED)])
def test_coded_cauda_equina_is_a_critical_emergency(code: str, system: str) -> None:
    c = _direct(nerve_compression.RULE, cond(code, system, display="Cauda equina syndrome"))
    assert c is not None and c.indicator.value == "critical"  # type: ignore[attr-defined]
    assert "emergency" in c.summary and len(c.summary) < 140  # type: ignore[attr-defined]
    detail = c.detail  # type: ignore[attr-defined]
    assert "emergency MRI within hours" in detail and "urgent MRI and specialist review" not in detail
    assert "National Suspected Cauda Equina Syndrome" in detail


def test_saddle_anaesthesia_is_named_an_emergency_not_urgent_mri() -> None:
    c = _direct(nerve_compression.RULE, SCIATICA)
    assert c is not None and c.indicator.value == "info"  # type: ignore[attr-defined]
    detail = c.detail  # type: ignore[attr-defined]
    assert "saddle anaesthesia" in detail and "**emergency**" in detail and "within hours" in detail
    assert "non-mechanical night pain" in detail and "intravenous drug use" in detail
    assert "need urgent MRI and specialist review" not in detail


@pytest.mark.parametrize(("other", "words"), [
    (CANCER, "spinal metastasis"),
    (cond("C79.51", ICD10CM, display="Secondary malignant neoplasm of bone"), "spinal metastasis"),
    (cond("M46.26", ICD10CM, display="Osteomyelitis of vertebra, lumbar region"), "spinal infection"),
    (cond("M46.46", ICD10CM, display="Discitis, unspecified, lumbar region"), "spinal infection"),
    (cond("G06.1", ICD10CM, display="Intraspinal abscess and granuloma"), "spinal infection"),
])
def test_cancer_or_infection_with_sciatica_is_a_warning(other: dict[str, object], words: str) -> None:
    c = _direct(nerve_compression.RULE, SCIATICA, other)
    assert c is not None and c.indicator.value == "warning"  # type: ignore[attr-defined]
    assert words in c.summary + c.detail and len(c.summary) < 140  # type: ignore[attr-defined]
    assert "ACR Appropriateness Criteria Low Back Pain" in c.detail  # type: ignore[attr-defined]
    assert "Radicular pain without red flags" not in c.detail  # type: ignore[attr-defined]


def test_red_flags_need_back_or_radicular_pain() -> None:
    assert _direct(nerve_compression.RULE, CANCER) is None
    peroneal = _direct(nerve_compression.RULE, cond("G57.31", ICD10CM, display="Lesion of lateral popliteal nerve"),
                       CANCER)
    assert peroneal is not None and peroneal.indicator.value == "info"  # type: ignore[attr-defined]
    assert "metastasis" not in peroneal.detail and "saddle" not in peroneal.detail  # type: ignore[attr-defined]


def test_one_emergency_card_the_stenosis_card_refers_to_it() -> None:
    from cards.rules import spinal_stenosis

    stenosis = cond("M48.062", ICD10CM, display="Spinal stenosis, lumbar region with neurogenic claudication")
    ces = cond("G83.4", ICD10CM, display="Cauda equina syndrome")
    s = _direct(spinal_stenosis.RULE, stenosis, ces)
    assert s is not None and s.indicator.value == "info"  # type: ignore[attr-defined]
    assert "see the *Nerve compression* card" in s.detail and "within hours" not in s.detail  # type: ignore
    with_sciatica = _direct(spinal_stenosis.RULE, stenosis, SCIATICA, CANCER)
    assert with_sciatica is not None and with_sciatica.indicator.value == "info"  # type: ignore[attr-defined]
    assert "saddle" not in with_sciatica.detail and "*Nerve compression* card" in with_sciatica.detail  # type: ignore
    alone = _direct(spinal_stenosis.RULE, stenosis, CANCER)
    assert alone is not None and alone.indicator.value == "warning"  # type: ignore[attr-defined]
    assert "saddle anaesthesia" in alone.detail and "spinal metastasis" in alone.detail  # type: ignore
