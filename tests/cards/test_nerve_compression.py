"""Nerve compression: each diagnosis by code, dotless ICD, text; inactive ones; stenosis counted elsewhere."""
from __future__ import annotations

import pytest

from cards.model import CardKind
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
    # A bone metastasis (C79.51) with radicular pain is now critical: test_bone_metastasis_with_radicular_pain_...
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


# ---------------------------------------------------------------------------------------------- card kind
# Actionable (shown on every chart open): the cauda equina emergency and red flags on record. Possible cause (shown
# only with leg-symptom context): a nerve diagnosis alone.


@pytest.mark.parametrize("resources", [
    (cond("G83.4", ICD10CM, display="Cauda equina syndrome"),),
    (SCIATICA, CANCER),
    (SCIATICA, cond("M46.46", ICD10CM, display="Discitis, unspecified, lumbar region")),
])
def test_the_emergency_and_red_flags_are_actionable(resources: tuple[dict[str, object], ...]) -> None:
    c = _direct(nerve_compression.RULE, *resources)
    assert c is not None and c.kind is CardKind.ACTIONABLE  # type: ignore[attr-defined]


@pytest.mark.parametrize("resources", [
    (SCIATICA,),
    (cond("M51.26", ICD10CM, display="Other intervertebral disc displacement, lumbar region"),),
    (cond("G57.31", ICD10CM, display="Lesion of lateral popliteal nerve"), CANCER),  # not back pain: no red flag
])
def test_a_nerve_diagnosis_alone_is_a_possible_cause(resources: tuple[dict[str, object], ...]) -> None:
    c = _direct(nerve_compression.RULE, *resources)
    assert c is not None and c.kind is CardKind.POSSIBLE_CAUSE  # type: ignore[attr-defined]


def test_an_actionable_card_names_the_stenosis_without_pointing_to_its_card() -> None:
    both = cond("M48.062", ICD10CM, display="Lumbar stenosis with radiculopathy")
    both["code"]["coding"].append({"system": ICD10CM, "code": "M54.16"})
    quiet = _direct(nerve_compression.RULE, both, SCIATICA)
    assert quiet is not None and "(see the *Lumbar spinal stenosis* card)" in quiet.detail  # type: ignore
    flagged = _direct(nerve_compression.RULE, both, SCIATICA, CANCER)
    assert flagged is not None and flagged.kind is CardKind.ACTIONABLE  # type: ignore[attr-defined]
    assert "Lumbar spinal stenosis is also on the problem list, not counted here." in flagged.detail  # type: ignore
    assert "*Lumbar spinal stenosis* card" not in flagged.detail  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------- issue 15 review, 1-2
# 1. Cauda equina red flags recorded with back or radicular pain are a possible cauda equina syndrome (critical, no
#    physical therapy). Saddle anaesthesia has no code of its own: it matches by text, also on a Condition coded R20.0;
#    R20.0 "anaesthesia of skin" alone does not say where, and R32 alone does not say new: asked about (warning).
# 2. Red flags count with back pain too (M54.5x, M54.6, M54.9), not only radicular pain; a known bone metastasis is
#    the metastatic spinal cord compression pathway (NICE NG234 2023; QS56 statements 2 and 3).

from cards.model import Indicator  # noqa: E402
from tests.fhir_builders import days_ago  # noqa: E402

RADICULOPATHY = cond("M54.16", ICD10CM, display="Radiculopathy, lumbar region")
LBP = cond("M54.50", ICD10CM, display="Low back pain, unspecified")
BONE_METS = cond("C79.51", ICD10CM, display="Secondary malignant neoplasm of bone")
OSTEOMYELITIS = cond("M46.26", ICD10CM, display="Osteomyelitis of vertebra, lumbar region")
SKIN = cond("R20.0", ICD10CM, display="Anesthesia of skin")
INCONTINENCE = cond("R32", ICD10CM, display="Unspecified urinary incontinence")
STENOSIS = cond("M48.062", ICD10CM, display="Spinal stenosis, lumbar region with neurogenic claudication")


def _text_only(text: str) -> dict[str, object]:
    c = cond("x", ICD10CM)
    c["code"] = {"text": text}
    return c


def _dated(resource: dict[str, object], days: float) -> dict[str, object]:
    return {**resource, "recordedDate": days_ago(days)}


def _labels(c: object) -> list[str]:
    return [s.label for s in c.suggestions]  # type: ignore[attr-defined]


def test_q1_saddle_anaesthesia_and_retention_by_text_with_sciatica_is_critical_without_physical_therapy() -> None:
    """Review item 1 (probe q1): INFO "Radicular pain without red flags ... physical therapy" became critical."""
    c = _direct(nerve_compression.RULE, SCIATICA, _text_only("Saddle anaesthesia"), _text_only("New urinary retention"))
    assert c is not None and c.indicator is Indicator.CRITICAL  # type: ignore[attr-defined]
    assert c.summary.startswith("Possible cauda equina syndrome") and len(c.summary) < 140  # type: ignore
    detail = c.detail  # type: ignore[attr-defined]
    assert "emergency MRI within hours" in detail and "Radicular pain without red flags" not in detail
    assert "Refer to physical therapy" not in _labels(c) and c.kind is CardKind.ACTIONABLE  # type: ignore


@pytest.mark.parametrize("sign", [
    _text_only("Saddle anaesthesia"),
    _text_only("saddle numbness"),
    _text_only("Bilateral sciatica"),
    cond("R33.9", ICD10CM, display="Retention of urine, unspecified"),
    cond("R339", ICD10CM),
    cond("R20.0", ICD10CM, display="Anesthesia of skin", text="Saddle anaesthesia"),  # coded R20.0, saddle by text
    cond("R32", ICD10CM, display="Unspecified urinary incontinence", text="New urinary incontinence"),
    _dated(INCONTINENCE, 3),  # incontinence recorded 3 days ago: new
])
@pytest.mark.parametrize("pain", [SCIATICA, RADICULOPATHY, LBP])
def test_each_cauda_equina_red_flag_with_back_or_radicular_pain_is_critical(sign: dict[str, object],
                                                                             pain: dict[str, object]) -> None:
    c = _direct(nerve_compression.RULE, pain, sign)
    assert c is not None and c.indicator is Indicator.CRITICAL, c  # type: ignore[attr-defined]
    assert "Possible cauda equina syndrome" in c.summary and len(c.summary) < 140  # type: ignore[attr-defined]
    assert _labels(c) == []


@pytest.mark.parametrize(("days", "critical"), [(nerve_compression.SIGN_NEW.value - 1, True),
                                                (nerve_compression.SIGN_NEW.value, True),
                                                (nerve_compression.SIGN_NEW.value + 1, False)])
def test_incontinence_counts_as_new_within_the_window(days: float, critical: bool) -> None:
    c = _direct(nerve_compression.RULE, SCIATICA, _dated(INCONTINENCE, days))
    assert c is not None
    assert (c.indicator is Indicator.CRITICAL) is critical  # type: ignore[attr-defined]
    if not critical:
        assert c.indicator is Indicator.WARNING and "ask whether it is new" in c.detail  # type: ignore


def test_p16_anaesthesia_of_skin_and_incontinence_are_asked_about_not_called_an_emergency() -> None:
    """Review item 1 (probe p16): R20.0 does not say where and R32 does not say new - not critical on codes alone,
    but no longer "no red flags": a warning that asks today, with the emergency named, and no physical therapy."""
    c = _direct(nerve_compression.RULE, SKIN, RADICULOPATHY, INCONTINENCE)
    assert c is not None and c.indicator is Indicator.WARNING  # type: ignore[attr-defined]
    detail = c.detail  # type: ignore[attr-defined]
    assert "ask where: numbness of the saddle area" in detail and "ask whether it is new" in detail
    assert "Radicular pain without red flags" not in detail and _labels(c) == []
    assert c.kind is CardKind.ACTIONABLE and len(c.summary) < 140  # type: ignore[attr-defined]


def test_an_old_specific_red_flag_is_asked_about() -> None:
    old = {**cond("R33.9", ICD10CM, display="Retention of urine, unspecified"), "onsetDateTime": days_ago(700)}
    c = _direct(nerve_compression.RULE, SCIATICA, old)
    assert c is not None and c.indicator is Indicator.WARNING  # type: ignore[attr-defined]
    assert "ask whether it is new or worse" in c.detail  # type: ignore[attr-defined]


@pytest.mark.parametrize("resources", [
    (LBP,),  # back pain alone: no card
    (cond("M54.9", ICD10CM, display="Dorsalgia, unspecified"),),
    (LBP, INCONTINENCE), (LBP, SKIN),  # nothing but a finding to ask about
    (_text_only("Saddle anaesthesia"),), (cond("R33.9", ICD10CM),),  # no back or radicular pain
    (BONE_METS,), (CANCER,), (OSTEOMYELITIS,),
    (LBP, cond("C79.51", ICD10CM, verification="refuted")),  # a refuted metastasis is no red flag
])
def test_quiet_without_spinal_pain_or_without_a_red_flag(resources: tuple[dict[str, object], ...]) -> None:
    assert _direct(nerve_compression.RULE, *resources) is None


@pytest.mark.parametrize("pain", [
    LBP, cond("M54.5", ICD10CM, display="Low back pain"), cond("M54.51", ICD10CM), cond("M54.59", ICD10CM),
    cond("M54.6", ICD10CM, display="Pain in thoracic spine"), cond("M54.9", ICD10CM), _text_only("Low back pain"),
])
def test_p6b_bone_metastasis_with_back_pain_is_the_spinal_metastasis_pathway(pain: dict[str, object]) -> None:
    """Review item 2 (probe p6b): M54.50 + C79.51 gave no card."""
    c = _direct(nerve_compression.RULE, pain, BONE_METS)
    assert c is not None and c.indicator is Indicator.WARNING  # type: ignore[attr-defined]
    assert "suspected spinal metastasis" in c.summary and len(c.summary) < 140  # type: ignore[attr-defined]
    detail = c.detail  # type: ignore[attr-defined]
    assert "MRI of the whole spine within 7 days" in detail and "within 24 hours" in detail
    assert "NICE quality standard QS56" in detail and "NICE guideline NG234" in detail
    assert c.kind is CardKind.ACTIONABLE  # type: ignore[attr-defined]


@pytest.mark.parametrize("neuro", [SCIATICA, RADICULOPATHY, _text_only("Saddle anaesthesia")])
@pytest.mark.parametrize("mets", [BONE_METS, cond("C79.52", ICD10CM), _text_only("Spinal metastases")])
def test_bone_metastasis_with_radicular_pain_is_possible_metastatic_cord_compression(
        neuro: dict[str, object], mets: dict[str, object]) -> None:
    """Review item 2 (probe p6c): radiculopathy + C79.51 said "history of cancer ... consider MRI" (warning)."""
    c = _direct(nerve_compression.RULE, LBP, neuro, mets)
    assert c is not None and c.indicator is Indicator.CRITICAL  # type: ignore[attr-defined]
    assert len(c.summary) < 140 and _labels(c) == []  # type: ignore[attr-defined]
    detail = c.detail  # type: ignore[attr-defined]
    assert "possible metastatic spinal cord compression" in detail
    assert "MRI of the whole spine within 24 hours" in detail
    assert "history of cancer" not in detail  # the metastasis is named as a metastasis


def test_q4_spinal_infection_with_back_pain_is_assessed_the_same_day() -> None:
    """Review item 2 (probe q4): M54.50 + M46.26 gave no card."""
    c = _direct(nerve_compression.RULE, LBP, OSTEOMYELITIS)
    assert c is not None and c.indicator is Indicator.WARNING  # type: ignore[attr-defined]
    assert "spinal infection" in c.summary and "assess the same day" in c.detail  # type: ignore[attr-defined]


def test_p6_cancer_history_with_back_pain_is_a_red_flag() -> None:
    c = _direct(nerve_compression.RULE, LBP, CANCER)
    assert c is not None and c.indicator is Indicator.WARNING  # type: ignore[attr-defined]
    assert "cancer history" in c.summary and "MRI of the whole spine within 7 days" in c.detail  # type: ignore


def test_a_stenosis_anchors_a_bone_metastasis_or_cauda_equina_red_flag_on_this_card() -> None:
    from cards.rules import spinal_stenosis

    mets = _direct(nerve_compression.RULE, STENOSIS, BONE_METS)
    assert mets is not None and mets.indicator is Indicator.WARNING  # type: ignore[attr-defined]
    s = _direct(spinal_stenosis.RULE, STENOSIS, BONE_METS)
    assert s is not None and s.indicator is Indicator.INFO and "*Nerve compression* card" in s.detail  # type: ignore
    assert _labels(s) == ["Order resting ankle-brachial index"]  # physical therapy waits for the red flag
    ces = _direct(nerve_compression.RULE, STENOSIS, _text_only("Saddle anaesthesia"))
    assert ces is not None and ces.indicator is Indicator.CRITICAL  # type: ignore[attr-defined]
    s = _direct(spinal_stenosis.RULE, STENOSIS, _text_only("Saddle anaesthesia"))
    assert s is not None and _labels(s) == [] and "routine stenosis work-up" in s.detail  # type: ignore
    # A cancer history with stenosis alone stays on the stenosis card (no nerve card).
    assert _direct(nerve_compression.RULE, STENOSIS, CANCER) is None


def test_mscc_windows_equal_nice_qs56() -> None:
    assert nerve_compression.MRI_NEURO.value == 24 and nerve_compression.MRI_NEURO.unit == "hours"
    assert nerve_compression.MRI_PAIN.value == 7 and nerve_compression.MRI_PAIN.unit == "days"
    assert nerve_compression.MRI_NEURO.source == nerve_compression.MRI_PAIN.source == "nice-qs56-2023"


def test_no_emg_order_on_an_emergency_card() -> None:
    c = _direct(nerve_compression.RULE, cond("G57.31", ICD10CM), LBP, _text_only("Saddle anaesthesia"))
    assert c is not None and c.indicator is Indicator.CRITICAL and _labels(c) == []  # type: ignore[attr-defined]
