"""Medication side effect: each drug class, the drug-lab pairs around their cut-offs, and the cross-references."""
from __future__ import annotations

import pytest

from cards import drug_effects, guidelines
from cards.knowledge import threshold
from cards.model import CardKind
from cards.rules import medication_effect
from tests.cards.helpers import card, indicator
from tests.fhir_builders import cond, med, obs
from tests.test_no_outside_references import FORBIDDEN

T = "medication-effect"
ALBUTEROL = ("745752", "albuterol 0.09 MG/ACTUAT Metered Dose Inhaler [ProAir]")
SERTRALINE = ("312941", "sertraline 50 MG Oral Tablet")
VINCRISTINE = ("1863343", "1 ML vincristine sulfate 1 MG/ML Injection")
DULOXETINE = ("596926", "duloxetine 20 MG Delayed Release Oral Capsule")
FUROSEMIDE = ("313988", "furosemide 40 MG Oral Tablet")


@pytest.mark.parametrize(("drug", "ingredient"), [
    (ALBUTEROL, "albuterol"), (VINCRISTINE, "vincristine"), (("310671", "haloperidol 1 MG Oral Tablet"), "haloperidol"),
    (("312744", "quetiapine 25 MG Oral Tablet"), "quetiapine"),
    (("1049630", "diphenhydramine hydrochloride 25 MG Oral Tablet"), "diphenhydramine"),
    (SERTRALINE, "sertraline"), (DULOXETINE, "duloxetine"), (("311725", "mirtazapine 15 MG Oral Tablet"),
                                                            "mirtazapine"),
])
def test_each_class_alone_is_info_and_named(drug: tuple[str, str], ingredient: str) -> None:
    c = card(T, med(*drug))
    assert c is not None and c.indicator.value == "info"
    assert ingredient in c.summary and len(c.summary) < 140
    assert "Source" in (c.detail or "") and c.override_reasons and c.links and c.suggestions


def test_text_only_metoclopramide_is_matched_by_name() -> None:
    c = card(T, med(text="metoclopramide 10 mg tablet"))
    assert c is not None and "metoclopramide" in c.summary
    assert "matched by name" in (c.detail or "")


def test_quiet_without_these_drugs() -> None:
    assert card(T) is None
    assert card(T, med(*FUROSEMIDE), med("617312", "atorvastatin 10 MG Oral Tablet"), obs("2823-3", 3.0, "mmol/L")) \
        is None


def test_stopped_or_proposed_drug_is_ignored() -> None:
    assert indicator(T, med(*SERTRALINE, status="stopped")) is None
    proposal = med(*SERTRALINE, resource="MedicationRequest")
    proposal["intent"] = "proposal"
    assert indicator(T, proposal) is None
    assert indicator(T, med(*SERTRALINE, resource="MedicationRequest")) == "info"


@pytest.mark.parametrize(("potassium", "expected"), [(2.9, "warning"), (3.4, "info"), (3.5, "info"), (3.6, "info")])
def test_beta2_agonist_with_low_potassium(potassium: float, expected: str) -> None:
    assert indicator(T, med(*ALBUTEROL), obs("2823-3", potassium, "mmol/L")) == expected


def test_beta2_agonist_lab_range_and_stale_potassium() -> None:
    # 3.4 is inside this lab's 3.3-5.1 range; a low potassium 91 days ago is stale.
    assert indicator(T, med(*ALBUTEROL), obs("2823-3", 3.4, "mmol/L", low=3.3, high=5.1)) == "info"
    window = threshold("electrolytes.lookback").value
    assert window == 90 and medication_effect.LOOKBACK.days == window
    for offset, expected in ((-1, "warning"), (0, "warning"), (1, "info")):
        assert indicator(T, med(*ALBUTEROL), obs("2823-3", 2.9, "mmol/L", days=window + offset)) == expected


@pytest.mark.parametrize(("drug", "sodium", "expected"), [
    (SERTRALINE, 129.0, "warning"), (SERTRALINE, 134.0, "info"), (SERTRALINE, 135.0, "info"),
    (SERTRALINE, 136.0, "info"), (VINCRISTINE, 129.0, "warning"), (VINCRISTINE, 135.0, "info"),
    (DULOXETINE, 130.0, "info"),  # the sodium link is for SSRIs and vincristine (drugs causing SIAD, 2014 guideline)
])
def test_sodium_lowering_drugs(drug: tuple[str, str], sodium: float, expected: str) -> None:
    assert indicator(T, med(*drug), obs("2951-2", sodium, "mmol/L")) == expected


@pytest.mark.parametrize(("magnesium", "expected"), [(1.1, "warning"), (1.6, "info"), (1.7, None), (1.8, None)])
def test_ppi_counts_only_with_low_magnesium(magnesium: float, expected: str | None) -> None:
    assert indicator(T, med(text="omeprazole 20 mg capsule"), obs("19123-9", magnesium, "mg/dL")) == expected


def test_ppi_without_magnesium_result_is_quiet() -> None:
    assert indicator(T, med(text="pantoprazole 40 mg")) is None


def test_card_names_drug_value_mechanism_and_relates_to_other_cards() -> None:
    c = card(T, med(*ALBUTEROL), med(*FUROSEMIDE), med(*SERTRALINE), obs("2823-3", 2.9, "mmol/L", days=5),
             cond("32914008", display="Restless legs"))
    assert c is not None and c.indicator.value == "warning"
    assert c.summary.startswith("Albuterol may explain low potassium 2.9 mmol/L (2026-11-20)")
    assert "sertraline" in c.summary
    detail = c.detail or ""
    assert "shifts potassium into cells" in detail and "Albuterol inhalation aerosol label" in detail
    assert not FORBIDDEN.search(detail)
    assert "*Electrolyte imbalance* card" in detail and "typical of furosemide" in detail
    # RLS without iron studies is a possible-cause card, withheld where this actionable card shows: named, not
    # pointed to.
    assert "Restless legs or iron deficiency is on record: sertraline can worsen it." in detail
    assert "*Restless legs syndrome* card" not in detail
    # Review 14, item 11: the electrolyte card (always shown) carries the chart's one panel suggestion.
    assert not c.suggestions


def test_electrolyte_card_points_back_to_the_beta2_agonist() -> None:
    c = card("electrolyte-imbalance", med(*ALBUTEROL), obs("2823-3", 3.1, "mmol/L"))
    assert c is not None and "albuterol (see the *Medication side effect* card)" in (c.detail or "")


def test_each_drug_listed_once() -> None:
    c = card(T, med(*SERTRALINE), med(*SERTRALINE, resource="MedicationRequest"))
    assert c is not None and c.summary.count("sertraline") == 1


# ---------------------------------------------------------------------------------------------- card text hygiene
# Issue 13: an albuterol card said "oncology for vincristine" - text meant for one drug class shown for another.
# Each class's card carries its own step (naming the patient's drug) and no other class's step or source.

ONE_PER_CLASS = {
    "beta2-agonist": (med(*ALBUTEROL), obs("2823-3", 3.2, "mmol/L")),
    "vinca-alkaloid": (med(*VINCRISTINE),),
    "antipsychotic": (med("310671", "haloperidol 1 MG Oral Tablet"),),
    "d2-antagonist-antiemetic": (med(text="metoclopramide 10 mg tablet"),),
    "sedating-antihistamine": (med("1049630", "diphenhydramine hydrochloride 25 MG Oral Tablet"),),
    "ssri": (med(*SERTRALINE),),
    "snri": (med(*DULOXETINE),),
    "mirtazapine": (med("311725", "mirtazapine 15 MG Oral Tablet"),),
    "ppi": (med(text="omeprazole 20 mg capsule"), obs("19123-9", 1.5, "mg/dL")),
}


def test_every_class_is_covered_and_has_its_own_step_and_sources() -> None:
    assert set(ONE_PER_CLASS) == set(drug_effects.BY_CLASS)
    for effect in drug_effects.EFFECTS:
        assert "{drugs}" in effect.review and effect.guideline_keys, effect.drug_class
        assert all(k in guidelines.GUIDELINES for k in effect.guideline_keys)
        assert not FORBIDDEN.search(effect.source)


@pytest.mark.parametrize("drug_class", sorted(ONE_PER_CLASS))
def test_each_class_card_mentions_only_its_own_advice(drug_class: str) -> None:
    c = card(T, *ONE_PER_CLASS[drug_class])
    assert c is not None
    detail = c.detail or ""
    own = drug_effects.BY_CLASS[drug_class]
    assert own.review.split("{drugs}")[1] in detail
    for other in drug_effects.EFFECTS:
        if other.drug_class == drug_class or other.review == own.review:
            continue
        assert other.review.split("{drugs}")[1] not in detail, other.drug_class
        for key in other.guideline_keys:
            if key not in own.guideline_keys and key != "ctcae-v5":
                assert guidelines.get(key).citation not in detail, (other.drug_class, key)
    lowered = detail.lower()
    if drug_class != "vinca-alkaloid":
        assert "oncology" not in lowered and "vincristine" not in lowered
    if not own.worsens_rls:
        assert "restless legs" not in lowered and "dopamine" not in lowered and "serotonergic" not in lowered


def test_the_class_step_names_the_patients_own_drug() -> None:
    """Prochlorperazine is also a D2-antagonist antiemetic: no step may name metoclopramide for it."""
    c = card(T, med(text="prochlorperazine 10 mg tablet"))
    assert c is not None and "metoclopramide" not in (c.detail or "").lower()
    assert "Prochlorperazine: review the indication and dose" in (c.detail or "")


def test_rls_alternative_names_only_the_effects_present() -> None:
    c = card(T, med(*SERTRALINE))
    assert c is not None
    assert "alternative without a serotonergic effect" in (c.detail or "")
    assert "dopamine-blocking" not in (c.detail or "") and "antihistamine" not in (c.detail or "")
    both = card(T, med(*SERTRALINE), med("310671", "haloperidol 1 MG Oral Tablet"))
    assert both is not None and "without a dopamine-blocking or serotonergic effect" in (both.detail or "")


def test_opening_line_names_the_symptoms_present() -> None:
    c = card(T, med(*ALBUTEROL), obs("2823-3", 3.2, "mmol/L"))
    assert c is not None and (c.detail or "").startswith("Albuterol may explain the low potassium below")
    alone = card(T, med(*ALBUTEROL), med(*SERTRALINE))
    assert alone is not None and (alone.detail or "").startswith("These drugs can cause or worsen cramps or restless "
                                                                  "legs, which")
    assert medication_effect.RULE.advice


# ---------------------------------------------------------------------------------------------- issue 14, point 7
# SNRIs lower sodium (SIADH) like SSRIs: their US labels, Warnings and Precautions: Hyponatremia. The card says how
# long the drug has been taken. Rules are evaluated directly so that these tests do not depend on other rules.

VENLAFAXINE = ("39786", "venlafaxine")


def _direct(rule: object, *resources: dict[str, object]) -> object:
    from cards.facts import build_facts
    from tests.fhir_builders import NOW, PATIENT_ID, patient

    facts = build_facts([patient(), *resources], now=NOW, patient_id=PATIENT_ID)
    finding = rule.applies(facts)  # type: ignore[attr-defined]
    return rule.card(finding, facts) if finding is not None else None  # type: ignore[attr-defined]


def _na(value: float) -> dict[str, object]:
    return obs("2951-2", value, "mmol/L", days=3, low=135, high=145)


@pytest.mark.parametrize("drug", [med(*VENLAFAXINE), med(*DULOXETINE),
                                  med(text="desvenlafaxine 50 mg extended-release tablet")])
def test_every_snri_is_named_for_a_low_sodium(drug: dict[str, object]) -> None:
    c = _direct(medication_effect.RULE, drug, _na(127))
    assert c is not None and c.indicator.value == "warning"  # type: ignore[attr-defined]
    assert "may explain low sodium 127 mmol/L" in c.summary  # type: ignore[attr-defined]
    assert "SIADH" in c.detail and "Hyponatremia" in c.detail  # type: ignore[attr-defined]


def test_snri_class_declares_the_sodium_effect_with_the_label_source() -> None:
    snri = drug_effects.BY_CLASS["snri"]
    assert ("sodium", "low") in snri.labs and "snri-labels-hyponatremia" in snri.guideline_keys
    assert "Hyponatremia" in guidelines.get("snri-labels-hyponatremia").citation


def test_venlafaxine_card_says_how_long_it_has_been_taken() -> None:
    recent = _direct(medication_effect.RULE, med(*VENLAFAXINE, effectivePeriod={"start": "2026-10-01"}), _na(127))
    years = _direct(medication_effect.RULE, med(*VENLAFAXINE, effectivePeriod={"start": "2016-10-01"}), _na(127))
    assert recent is not None and years is not None
    assert recent.summary.startswith("Venlafaxine (started 7 weeks ago) may explain low sodium")  # type: ignore
    assert years.summary.startswith("Venlafaxine (taken for 10 years) may explain low sodium")  # type: ignore
    assert "since 2026-10-01 (7 weeks)" in recent.detail  # type: ignore[attr-defined]
    assert "venlafaxine, started 7 weeks ago (see the *Electrolyte imbalance* card)" in recent.detail  # type: ignore
    assert "stopping it if the hyponatraemia is symptomatic" in recent.detail  # type: ignore[attr-defined]


def test_duloxetine_with_normal_sodium_makes_no_sodium_claim() -> None:
    c = _direct(medication_effect.RULE, med(*DULOXETINE, effectivePeriod={"start": "2022-05-01"}), _na(139))
    assert c is not None and c.indicator.value == "info"  # type: ignore[attr-defined]
    assert "may explain" not in c.summary and "low sodium" not in c.detail  # type: ignore[attr-defined]
    assert "taken for 4 years" not in c.summary and "since 2022-05-01 (4 years)" in c.detail  # type: ignore


def test_order_check_covers_an_snri_draft_with_a_low_sodium() -> None:
    from cards.facts import build_facts
    from cards.rules import order_medication_effect
    from tests.cards.order_golden_cases import draft_order
    from tests.fhir_builders import NOW, PATIENT_ID, patient

    def run(sodium: float, *extra: dict[str, object]) -> object:
        facts = build_facts([patient(), _na(sodium), *extra], now=NOW, patient_id=PATIENT_ID,
                            draft_orders=[draft_order("d-1", DULOXETINE)])
        finding = order_medication_effect.RULE.applies(facts)
        return order_medication_effect.RULE.card(finding, facts) if finding else None

    assert "snri" in order_medication_effect.CLASSES
    c = run(127, med("310798", "hydrochlorothiazide 25 MG Oral Tablet", effectivePeriod={"start": "2024-03-01"}))
    assert c is not None and c.summary.startswith("Draft duloxetine would worsen low sodium 127")  # type: ignore
    detail = c.detail  # type: ignore[attr-defined]
    assert "SIADH" in detail and "SNRI with a low sodium" in detail
    assert "since 2024-03-01 (2 years)" in detail and "also lowers sodium" in detail  # how long the other drug
    assert run(139) is None


# ---------------------------------------------------------------------------------------------- card kind
# Actionable (shown on every chart open): a drug the card links to an abnormal value. Possible cause (shown only with
# leg-symptom context): the drug class alone.


@pytest.mark.parametrize("resources", [
    (med(*ALBUTEROL), obs("2823-3", 3.3, "mmol/L")),  # mild low potassium
    (med(*SERTRALINE), obs("2951-2", 128, "mmol/L")),  # low sodium
    (med(text="omeprazole 20 mg capsule"), obs("19123-9", 1.1, "mg/dL")),  # PPI with low magnesium
])
def test_a_drug_linked_to_an_abnormal_value_is_actionable(resources: tuple[dict, ...]) -> None:
    c = card(T, *resources)
    assert c is not None and c.kind is CardKind.ACTIONABLE


@pytest.mark.parametrize("resources", [
    (med(*SERTRALINE),),  # "sertraline can worsen restless legs"
    (med(*ALBUTEROL), obs("2823-3", 4.2, "mmol/L")),  # normal potassium
    (med(*VINCRISTINE),),  # neuropathy: the oncology team's drug
    (med(*SERTRALINE), obs("2951-2", 128, "mmol/L", days=120)),  # low sodium older than the lab window
])
def test_a_drug_class_alone_is_a_possible_cause(resources: tuple[dict, ...]) -> None:
    c = card(T, *resources)
    assert c is not None and c.kind is CardKind.POSSIBLE_CAUSE


def test_the_rls_card_is_pointed_to_where_it_shows_whenever_this_card_does() -> None:
    # Both possible causes (shown together): the pointer stays.
    both = card(T, med(*SERTRALINE), cond("32914008", display="Restless legs"))
    assert both is not None and "(see the *Restless legs syndrome* card)" in (both.detail or "")
    # This card actionable, the RLS card too (ferritin below the AASM threshold): the pointer stays.
    linked = card(T, med(*SERTRALINE), obs("2951-2", 128, "mmol/L"), cond("32914008", display="Restless legs"),
                  obs("2276-4", 40, "ng/mL", days=30))
    assert linked is not None and linked.kind is CardKind.ACTIONABLE
    assert "(see the *Restless legs syndrome* card)" in (linked.detail or "")


# ---------------------------------------------------------------------------------------------- review 14, items 10-11
# "Venlafaxine may explain sodium low 127 mmol/L" read garbled, the hyponatraemia card opened on restless legs, and
# "Check sodium" duplicated the electrolyte card's panel.

def test_a_low_sodium_card_leads_with_the_sodium_and_reads_low_sodium() -> None:
    c = _direct(medication_effect.RULE, med(*VENLAFAXINE, effectivePeriod={"start": "2026-10-01"}), _na(127))
    detail = c.detail  # type: ignore[attr-defined]
    assert "may explain low sodium 127 mmol/L" in c.summary  # type: ignore[attr-defined]
    assert detail.startswith("Venlafaxine may explain the low sodium below")
    assert "These active drugs" not in detail and "Low sodium may be explained by venlafaxine" in detail
    assert not c.suggestions  # type: ignore[attr-defined]  # the electrolyte card carries the panel


def test_a_drug_alone_offers_the_shared_panel_suggestion() -> None:
    from cards import card_text
    c = card(T, med(*ALBUTEROL))
    assert c is not None and [s.label for s in c.suggestions] == [card_text.ELECTROLYTE_PANEL]
