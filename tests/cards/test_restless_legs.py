"""Restless legs: diagnosis, AASM 2024 iron thresholds around each cut-off, secondary RLS, messy conditions."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cards.knowledge import threshold
from cards.rules import restless_legs as rules
from tests.cards.helpers import card, indicator
from tests.fhir_builders import ICD10CM, cond, med, obs
from tests.test_no_outside_references import FORBIDDEN

T = "restless-legs"


def rls() -> dict:
    return cond("32914008", display="Restless legs")


def local(text: str) -> dict:
    """A Condition with only a local code and text (text matching is the last resort)."""
    return cond("L-123", system="http://hospital.example.org/problems", text=text)


def test_quiet_without_diagnosis_or_iron_deficiency() -> None:
    assert card(T) is None
    assert card(T, obs("2276-4", 120, "ng/mL", days=30), obs("2502-3", 30, "%", days=30)) is None


@pytest.mark.parametrize("condition", [
    cond("32914008"), cond("G25.81", ICD10CM), cond("G2581", ICD10CM), local("Restless legs syndrome"),
    cond("1052284009", display="Restless legs syndrome in pregnancy"),
])
def test_diagnosis_alone_is_info_and_asks_for_iron_studies(condition: dict) -> None:
    c = card(T, condition)
    assert c is not None and c.indicator.value == "info"
    assert f"no iron studies in {rules.WINDOW_TEXT}" in c.summary and rules.WINDOW_TEXT == "12 months"
    suggestion = c.suggestions[0]
    assert suggestion.is_recommended
    codes = [a.resource["code"]["coding"][0]["code"] for a in suggestion.actions]
    assert codes == ["2276-4", "2498-4", "2500-7", "2502-3"]


@pytest.mark.parametrize(("clinical", "verification"), [("resolved", None), ("inactive", None),
                                                        ("active", "refuted"), ("active", "entered-in-error")])
def test_resolved_or_refuted_diagnosis_is_ignored(clinical: str, verification: str | None) -> None:
    assert card(T, cond("32914008", clinical=clinical, verification=verification)) is None


def test_knowledge_values_are_the_sources() -> None:
    assert threshold("rls.ferritin-iron-therapy").value == 75  # AASM 2024 good practice statement 1
    assert threshold("rls.tsat-iron-therapy").value == 20  # AASM 2024: TSAT < 20 %
    assert threshold("rls.ferritin-iv-iron-only").value == 100  # AASM 2024: 75-100 ng/mL IV iron only
    assert threshold("rls.ferritin-iron-deficiency").value == 30  # product decision
    assert threshold("rls.egfr-kidney-failure").value == 15  # KDIGO 2024: G5 < 15
    assert threshold("rls.iron-lookback").value == 365
    assert threshold("rls.tsat-from-iron-tibc").value == 100  # percent


FERRITIN_RLS = rules.FERRITIN_RLS.value
TSAT_RLS = rules.TSAT_RLS.value
FERRITIN_DEFICIENT = rules.FERRITIN_DEFICIENT.value


@pytest.mark.parametrize(("offset", "expected"), [(-1, "warning"), (0, "warning"), (1, "info")])
def test_ferritin_cut_off_with_rls(offset: int, expected: str) -> None:
    assert indicator(T, rls(), obs("2276-4", FERRITIN_RLS + offset, "ng/mL", days=30)) == expected


@pytest.mark.parametrize(("offset", "expected"), [(-1, "warning"), (0, "info"), (1, "info")])
def test_tsat_cut_off_with_rls(offset: int, expected: str) -> None:
    assert indicator(T, rls(), obs("2276-4", 150, "ng/mL", days=30),
                     obs("2502-3", TSAT_RLS + offset, "%", days=30)) == expected


@pytest.mark.parametrize(("ferritin", "expected"), [
    (FERRITIN_DEFICIENT - 1, "warning"), (FERRITIN_DEFICIENT, "info"), (FERRITIN_DEFICIENT + 1, "info"),
    (FERRITIN_RLS - 1, "info"), (FERRITIN_RLS, "info"), (FERRITIN_RLS + 1, None),
])
def test_iron_deficiency_without_rls_diagnosis(ferritin: float, expected: str | None) -> None:
    assert indicator(T, obs("2276-4", ferritin, "ng/mL", days=30)) == expected


@pytest.mark.parametrize(("offset", "expected"), [(-1, "warning"), (0, None), (1, None)])
def test_tsat_without_rls_diagnosis(offset: int, expected: str | None) -> None:
    assert indicator(T, obs("2502-3", TSAT_RLS + offset, "%", days=30)) == expected


@pytest.mark.parametrize(("offset", "secondary"), [(-1, True), (0, False), (1, False)])
def test_egfr_kidney_failure_cut_off(offset: int, secondary: bool) -> None:
    egfr = obs("33914-3", rules.EGFR_KIDNEY_FAILURE.value + offset, "mL/min/{1.73_m2}", days=60)
    c = card(T, rls(), egfr)
    assert c is not None and c.summary.startswith("Secondary restless legs (CKD G5") is secondary


@pytest.mark.parametrize(("offset", "expected"), [(-1, "warning"), (0, "warning"), (1, None)])
def test_iron_window(offset: int, expected: str | None) -> None:
    assert indicator(T, obs("2276-4", 20, "ng/mL", days=rules.IRON_WINDOW.value + offset)) == expected


def test_iv_only_range_is_named_from_the_knowledge() -> None:
    c = card(T, rls(), obs("2276-4", 50, "ng/mL", days=30))
    assert c is not None
    assert (f"ferritin {FERRITIN_RLS:g}-{rules.FERRITIN_IV_ONLY.value:g} ng/mL: IV iron only"
            in (c.detail or ""))


def test_only_the_aggravating_drugs_taken_are_named() -> None:
    c = card(T, rls(), med("312941", "sertraline 50 MG Oral Tablet"))
    assert c is not None
    detail = c.detail or ""
    assert "Review the drugs that can worsen RLS (AASM 2024): sertraline (SSRI)." in detail
    for other in ("dopamine antagonist", "dopamine-blocking", "antihistamine", "metoclopramide", "mirtazapine"):
        assert other not in detail.lower()
    assert rules.RULE.advice and not FORBIDDEN.search(detail)


def test_without_diagnosis_the_card_never_calls_it_rls() -> None:
    c = card(T, obs("2276-4", 50, "ng/mL", days=30))
    assert c is not None
    assert c.summary.startswith("Ferritin 50 ng/mL (2026-10-26)")
    assert "a treatable cause of restless legs; ask about symptoms" in c.summary
    assert "Ask about restless legs symptoms" in (c.detail or "")


def test_aasm_thresholds_apply_inside_the_lab_normal_range() -> None:
    assert indicator(T, rls(), obs("2276-4", 50, "ng/mL", days=30, low=10, high=400)) == "warning"


def test_ferritin_molar_unit_is_converted() -> None:
    # 100 pmol/L x 0.445 = 44.5 ng/mL (factor in terminology/data/units.json) -> below 75 with RLS.
    assert indicator(T, rls(), obs("2276-4", 100, "pmol/L", days=30)) == "warning"


def test_tsat_calculated_from_iron_and_tibc_of_the_same_day_only() -> None:
    same_day = card(T, rls(), obs("2276-4", 150, "ng/mL", days=10), obs("2498-4", 40, "ug/dL", days=10),
                    obs("2500-7", 400, "ug/dL", days=10))
    assert same_day is not None and same_day.indicator.value == "warning"
    assert "TSAT 10%" in same_day.summary and "calculated" in (same_day.detail or "")
    other_day = card(T, rls(), obs("2276-4", 150, "ng/mL", days=10), obs("2498-4", 40, "ug/dL", days=10),
                     obs("2500-7", 400, "ug/dL", days=11))
    assert other_day is not None and other_day.indicator.value == "info"


@pytest.mark.parametrize(("context", "secondary"), [
    (cond("77386006", display="Pregnancy"), "pregnancy"),
    (cond("N18.6", ICD10CM, display="End stage renal disease"), "CKD G5 / dialysis"),
    (obs("33914-3", 14, "mL/min/{1.73_m2}", days=60), "CKD G5 / dialysis"),
])
def test_secondary_rls_is_named(context: dict, secondary: str) -> None:
    c = card(T, rls(), context)
    assert c is not None and c.summary.startswith(f"Secondary restless legs ({secondary})")


def test_earlier_ckd_stage_is_mentioned_not_labelled_secondary() -> None:
    c = card(T, rls(), cond("N18.32", ICD10CM, display="CKD stage 3b"), obs("33914-3", 15, "mL/min/{1.73_m2}"))
    assert c is not None and not c.summary.startswith("Secondary")
    assert "CKD on the problem list (CKD stage 3b)" in (c.detail or "")


def test_aggravating_drugs_and_iron_supplement_are_named() -> None:
    c = card(T, rls(), obs("2276-4", 150, "ng/mL", days=30), obs("2502-3", 30, "%", days=30),
             med("312941", "sertraline 50 MG Oral Tablet"), med(text="ferrous sulfate 325 mg"))
    assert c is not None and c.indicator.value == "info"
    assert "sertraline can worsen RLS" in c.summary
    detail = c.detail or ""
    assert "*Medication side effect* card" in detail and "ferrous sulfate" in detail


def test_card_quality() -> None:
    c = card(T, rls(), obs("2276-4", 40, "ng/mL", days=30))
    assert c is not None and len(c.summary) < 140
    assert "ferritin 40 ng/mL (2026-10-26)" in c.summary
    assert "2026-10-26" in (c.detail or "") and "doi.org/10.5664/jcsm.11390" in (c.source.url or "")
    assert c.override_reasons and c.links and c.suggestions


RANK = {None: -1, "info": 0, "warning": 1, "critical": 2}


@settings(max_examples=40, deadline=None)
@given(low=st.floats(min_value=1, max_value=300), step=st.floats(min_value=0.1, max_value=200))
def test_a_lower_ferritin_never_gives_a_milder_card(low: float, step: float) -> None:
    for with_rls in ((), (rls(),)):
        worse = indicator(T, *with_rls, obs("2276-4", round(low, 1), "ng/mL", days=30))
        better = indicator(T, *with_rls, obs("2276-4", round(low + step, 1), "ng/mL", days=30))
        assert RANK[worse] >= RANK[better]
