"""Restless legs: diagnosis, AASM 2024 iron thresholds around each cut-off, secondary RLS, messy conditions."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cards.knowledge import threshold
from cards.rules import restless_legs as rules
from cards import engine, registry
from cards.facts import build_facts
from cards.model import Card, CardKind
from tests.cards.helpers import card, indicator
from tests.fhir_builders import ICD10CM, NOW, PATIENT_ID, cond, days_ago, med, obs, patient
from tests.test_no_outside_references import FORBIDDEN

T = "restless-legs"


def rls() -> dict:
    return cond("32914008", display="Restless legs")


def dated(condition: dict, days: float) -> dict:
    """The Condition with an onset `days` before the golden clock."""
    return {**condition, "onsetDateTime": days_ago(days)}


def card_for(person: dict, *resources: dict) -> Card | None:
    """The restless-legs card for a given Patient (sex and age matter for iron deficiency)."""
    facts = build_facts([person, *resources], now=NOW, patient_id=PATIENT_ID)
    return next((c for c in engine.evaluate(registry.service("leg-pain-causes"), facts) if c.topic == T), None)


MAN_60 = patient(birth="1966-05-01", gender="male")


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
    c = card(T, rls(), obs("2276-4", 85, "ng/mL", days=30), obs("2502-3", 15, "%", days=30))
    assert c is not None
    assert (f"with ferritin {FERRITIN_RLS:g}-{rules.FERRITIN_IV_ONLY.value:g} ng/mL, IV iron only"
            in (c.detail or ""))
    # Review 14, item 12: a ferritin below the oral-iron cut-off does not print the 75-100 line.
    low = card(T, rls(), obs("2276-4", 50, "ng/mL", days=30))
    assert low is not None and "IV iron only" not in (low.detail or "")


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
    (dated(cond("77386006", display="Pregnancy"), 120), "pregnancy"),
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


# ---------------------------------------------------------------------------------------------- issue 14, point 5
PREGNANCY_DAYS = 300  # rls.pregnancy-current (checked below; literal so that the tables build on older code too)
MENOPAUSE_AGE = 50  # rls.postmenopausal-age

def test_new_knowledge_values() -> None:
    assert threshold("rls.postmenopausal-age").value == MENOPAUSE_AGE  # product decision (median menopause ~51)
    assert threshold("rls.pregnancy-current").value == PREGNANCY_DAYS  # a pregnancy lasts at most ~42 weeks
    assert threshold("rls.ferritin-iv-iron-only").source == "aasm-rls-2024"


@pytest.mark.parametrize(("ferritin", "iv_range"), [(FERRITIN_RLS + 1, True), (85, True),
                                                    (rules.FERRITIN_IV_ONLY.value, True),
                                                    (rules.FERRITIN_IV_ONLY.value + 1, False)])
def test_ferritin_75_to_100_with_rls_reads_iv_iron_may_help(ferritin: float, iv_range: bool) -> None:
    """AASM 2024 good practice statement 1: ferritin 75-100 ng/mL -> IV iron only; not 'above the thresholds'."""
    c = card(T, rls(), obs("2276-4", ferritin, "ng/mL", days=30), obs("2502-3", 25, "%", days=30))
    assert c is not None and c.indicator.value == "info"
    assert ("IV iron may help (AASM 2024)" in c.summary) is iv_range
    assert ("above the AASM 2024 iron-therapy thresholds" in c.summary) is not iv_range
    assert ("AASM 2024 suggests IV iron only" in (c.detail or "")) is iv_range


def test_ferritin_85_without_rls_stays_quiet() -> None:
    assert card(T, obs("2276-4", 85, "ng/mL", days=30), obs("2502-3", 25, "%", days=30)) is None


def test_first_line_treatment_is_named_with_rls() -> None:
    c = card(T, rls(), obs("2276-4", 150, "ng/mL", days=30), obs("2502-3", 30, "%", days=30))
    assert c is not None
    assert "alpha-2-delta ligand - gabapentin enacarbil, gabapentin or pregabalin - is first-line" in (c.detail or "")
    assert "strong recommendation" in (c.detail or "")
    on_gabapentin = card(T, rls(), med("25480", "gabapentin"))
    assert on_gabapentin is not None and "an alpha-2-delta ligand, the first-line class" in (on_gabapentin.detail or "")
    assert "If symptoms need daily drug treatment" not in (on_gabapentin.detail or "")


@pytest.mark.parametrize("agonist", [med("746741", "pramipexole"), med("72302", "ropinirole"),
                                     med(text="Neupro 2 mg/24 hr transdermal patch")])
def test_an_active_dopamine_agonist_is_flagged_for_augmentation(agonist: dict) -> None:
    c = card(T, rls(), agonist, obs("2276-4", 150, "ng/mL", days=30), obs("2502-3", 30, "%", days=30))
    assert c is not None and "(dopamine agonist): review for augmentation (AASM 2024)" in c.summary
    assert "suggests against standard use of dopamine agonists" in (c.detail or "")
    assert "do not stop abruptly" in (c.detail or "")
    assert card(T, agonist, obs("2276-4", 150, "ng/mL", days=30)) is None  # no RLS, iron replete: quiet


def test_dopamine_agonist_is_named_beside_iron_deficiency() -> None:
    c = card(T, rls(), med("746741", "pramipexole"), obs("2276-4", 40, "ng/mL", days=30))
    assert c is not None and c.indicator.value == "warning"
    assert "iron therapy (AASM 2024); pramipexole: review for augmentation" in c.summary and len(c.summary) < 140


@pytest.mark.parametrize(("days", "secondary"), [(120, True), (PREGNANCY_DAYS - 1, True),
                                                 (PREGNANCY_DAYS + 1, False), (5 * 365, False)])
def test_only_a_current_pregnancy_makes_rls_secondary(days: float, secondary: bool) -> None:
    c = card(T, rls(), dated(cond("77386006", display="Pregnancy"), days))
    assert c is not None and c.summary.startswith("Secondary restless legs (pregnancy)") is secondary
    assert ("not a current pregnancy" in (c.detail or "")) is not secondary


def test_an_undated_pregnancy_is_mentioned_not_labelled_and_no_drug_is_pushed() -> None:
    c = card(T, rls(), cond("77386006", display="Pregnancy"))
    assert c is not None and not c.summary.startswith("Secondary")
    detail = c.detail or ""
    assert "if she is pregnant now, the RLS is secondary" in detail
    assert "do not address pregnancy" in detail and "gabapentin" not in detail


def test_rls_in_pregnancy_code_is_listed_once() -> None:
    c = card(T, dated(cond("1052284009", display="Restless legs syndrome in pregnancy"), 60))
    assert c is not None and (c.detail or "").count("Restless legs syndrome in pregnancy** (code") == 1
    assert c.summary.startswith("Secondary restless legs (pregnancy)")


def test_iron_studies_are_repeated_only_to_follow_iron_therapy() -> None:
    chart = (rls(), obs("2276-4", 40, "ng/mL", days=30), obs("2502-3", 22, "%", days=30))
    c = card(T, *chart)
    assert c is not None and c.indicator.value == "warning"
    assert not any("Repeat iron studies" in (s.label or "") for s in c.suggestions)
    treated = card(T, *chart, med(text="ferrous sulfate 325 mg tablet"))
    assert treated is not None and any("Repeat iron studies to follow iron therapy" in (s.label or "")
                                       for s in treated.suggestions)
    assert "On oral iron (start date not recorded)" in (treated.detail or "")
    assert "oral iron" not in (c.detail or "")


def test_iron_deficiency_in_a_man_is_framed_by_its_cause() -> None:
    c = card_for(MAN_60, obs("2276-4", 12, "ng/mL", days=30))
    assert c is not None and c.indicator.value == "warning"
    assert c.summary == ("Ferritin 12 ng/mL (2026-10-26): iron deficiency in a man of 60 - find the cause "
                         "(haemoglobin, GI evaluation; AGA 2020)")
    detail = c.detail or ""
    assert "check haemoglobin" in detail and "bidirectional endoscopy" in detail and "strong recommendation" in detail
    assert "Gastroenterology 2020;159:1085-1094" in detail
    assert any(s.label == "Order haemoglobin (complete blood count)" for s in c.suggestions)


@pytest.mark.parametrize(("age", "expected"), [(MENOPAUSE_AGE - 1, "conditional"),
                                               (MENOPAUSE_AGE, "strong recommendation")])
def test_menopausal_status_by_age(age: float, expected: str) -> None:
    woman = patient(birth=f"{2026 - int(age) - 1}-12-01", gender="female")
    c = card_for(woman, obs("2276-4", 12, "ng/mL", days=30))
    assert c is not None and expected in (c.detail or "")


@pytest.mark.parametrize(("ferritin", "find_cause"), [(FERRITIN_DEFICIENT - 1, True), (FERRITIN_DEFICIENT, False)])
def test_find_the_cause_below_the_general_cut_off_only(ferritin: float, find_cause: bool) -> None:
    c = card_for(MAN_60, obs("2276-4", ferritin, "ng/mL", days=30))
    assert c is not None and ("find the cause" in c.summary) is find_cause
    assert ("a treatable cause of restless legs" in c.summary) is not find_cause


def test_with_rls_iron_deficiency_still_needs_its_cause() -> None:
    c = card_for(MAN_60, rls(), obs("2276-4", 12, "ng/mL", days=30))
    assert c is not None and "find the cause of the iron deficiency" in c.summary
    assert "bidirectional endoscopy" in (c.detail or "")


# ---------------------------------------------------------------------------------------------- card kind
# Actionable (shown on every chart open): an iron value the card acts on. Possible cause (shown only with leg-symptom
# context): RLS on the problem list with adequate or missing iron studies, a dopamine agonist to review, ferritin low
# only by the RLS threshold.

ACTIONABLE, POSSIBLE = CardKind.ACTIONABLE, CardKind.POSSIBLE_CAUSE


@pytest.mark.parametrize(("ferritin", "kind"), [
    (FERRITIN_RLS - 1, ACTIONABLE), (FERRITIN_RLS, ACTIONABLE), (FERRITIN_RLS + 1, POSSIBLE),  # IV-iron range
])
def test_rls_with_ferritin_at_the_iron_threshold_is_actionable(ferritin: float, kind: CardKind) -> None:
    c = card(T, rls(), obs("2276-4", ferritin, "ng/mL", days=30))
    assert c is not None and c.kind is kind


@pytest.mark.parametrize(("ferritin", "kind"), [
    (FERRITIN_DEFICIENT - 1, ACTIONABLE),  # iron deficiency: find the cause
    (FERRITIN_DEFICIENT, POSSIBLE), (FERRITIN_RLS, POSSIBLE),  # low only by the RLS threshold: ask about symptoms
])
def test_without_rls_only_general_iron_deficiency_is_actionable(ferritin: float, kind: CardKind) -> None:
    c = card(T, obs("2276-4", ferritin, "ng/mL", days=30))
    assert c is not None and c.kind is kind


@pytest.mark.parametrize("diagnosis", [[], [rls()]])
def test_a_low_transferrin_saturation_is_actionable(diagnosis: list[dict]) -> None:
    c = card(T, *diagnosis, obs("2276-4", 150, "ng/mL", days=30), obs("2502-3", TSAT_RLS - 1, "%", days=30))
    assert c is not None and c.kind is ACTIONABLE


@pytest.mark.parametrize("extra", [
    [],  # no iron studies: iron studies suggested
    [obs("2276-4", 150, "ng/mL", days=30), obs("2502-3", 30, "%", days=30), med("746741", "pramipexole")],
    [obs("2276-4", 150, "ng/mL", days=30), obs("2502-3", 30, "%", days=30),
     med("312941", "sertraline 50 MG Oral Tablet")],
])
def test_rls_without_low_iron_is_a_possible_cause(extra: list[dict]) -> None:
    """A dopamine agonist's augmentation is judged from the symptom history: reviewed where the chart records leg
    symptoms (the RLS code itself is such context when recent), not on every chart open."""
    c = card(T, rls(), *extra)
    assert c is not None and c.kind is POSSIBLE


def test_the_medication_card_is_pointed_to_only_from_a_possible_cause_card() -> None:
    sertraline = med("312941", "sertraline 50 MG Oral Tablet")
    shown_together = card(T, rls(), sertraline)
    assert shown_together is not None and "(see the *Medication side effect* card)" in (shown_together.detail or "")
    # Actionable (low ferritin) while sertraline alone is a possible-cause card: named without a pointer.
    always = card(T, rls(), sertraline, obs("2276-4", 40, "ng/mL", days=30))
    assert always is not None and always.kind is ACTIONABLE
    assert "(sertraline) can worsen RLS." in (always.detail or "")
    assert "*Medication side effect* card" not in (always.detail or "")


# ---------------------------------------------------------------------------------------------- review 14, item 12
# RLS with a low ferritin on oral iron: not "iron therapy" again. Iron studies drawn on oral iron that are still low
# point to IV iron (AASM 2024: oral iron failed or not tolerated); iron studies that predate the iron are repeated.

def _on_iron(start_days: float) -> dict:
    return med(text="ferrous sulfate 325 mg tablet", effectivePeriod={"start": days_ago(start_days)})


def test_low_ferritin_drawn_on_oral_iron_points_to_iv_iron() -> None:
    c = card(T, rls(), obs("2276-4", 40, "ng/mL", days=30), obs("2502-3", 22, "%", days=30), _on_iron(200))
    assert c is not None and c.indicator.value == "warning"
    assert "despite oral iron: consider IV iron" in c.summary and "iron therapy" not in c.summary
    detail = c.detail or ""
    assert "if oral iron has failed or is not tolerated, consider IV iron" in detail
    assert "recheck before adding more iron" not in detail and "drawn on it" in detail
    assert not any("Repeat iron studies" in (s.label or "") for s in c.suggestions)


def test_low_ferritin_before_oral_iron_is_repeated_then_iv_iron_if_still_low() -> None:
    c = card(T, rls(), obs("2276-4", 40, "ng/mL", days=60), obs("2502-3", 22, "%", days=60), _on_iron(20))
    assert c is not None and "now on oral iron: repeat iron studies" in c.summary
    detail = c.detail or ""
    assert "after these iron studies: repeat iron studies" in detail and "consider IV iron" in detail
    assert [s.label for s in c.suggestions] == ["Repeat iron studies to follow iron therapy"]


def test_pregnancy_is_named_once_as_the_secondary_cause() -> None:
    c = card(T, rls(), dated(cond("77386006", display="Pregnancy"), 120))
    assert c is not None and "pregnancy (Pregnancy)" not in (c.detail or "")
    assert "Secondary RLS: current pregnancy (recorded " in (c.detail or "")
