"""Order-time checks (services leg-pain-order-select / leg-pain-order-sign): pairs, quiet cases, Sandbox drafts."""
from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest
from hypothesis import given, settings, strategies as st

from cards import engine, registry
from cards.facts import build_facts
from cards.knowledge import threshold
from cards.rules import order_restless_legs, order_statin_muscle_symptoms, restless_legs, statin_muscle_symptoms
from cards.model import ActionType, Card, SelectionBehavior
from cards.rule import ORDER_SELECT, ORDER_SIGN
from cards.topics import TOPIC_SYSTEM
from tests.cards.order_golden_cases import draft_order
from tests.fhir_builders import ICD10CM, NOW, PATIENT_ID, RXNORM, SNOMED, cond, med, obs, patient
from tests.test_no_outside_references import FORBIDDEN

SERVICES = ("leg-pain-order-select", "leg-pain-order-sign")

# RxNorm codes of the terminology data (terminology/data/drugs: ingredients and clinical drugs, with provenance).
FUROSEMIDE = ("313988", "furosemide 40 MG Oral Tablet")
BUMETANIDE = ("197418", "bumetanide 1 MG Oral Tablet")
HCTZ = ("310798", "hydrochlorothiazide 25 MG Oral Tablet")
CHLORTHALIDONE = ("197499", "chlorthalidone 25 MG Oral Tablet")
SPIRONOLACTONE = ("313096", "spironolactone 25 MG Oral Tablet")
HCTZ_TRIAMTERENE = ("310812", "hydrochlorothiazide 25 MG / triamterene 37.5 MG Oral Tablet")
SIMVA = ("312961", "simvastatin 20 MG Oral Tablet")
ATORVA = ("617312", "atorvastatin 10 MG Oral Tablet")
ROSUVA = ("859747", "rosuvastatin calcium 10 MG Oral Tablet")
PRAVA = ("904475", "pravastatin sodium 40 MG Oral Tablet")
ATORVA40 = ("617311", "atorvastatin 40 MG Oral Tablet")
SIMVA40 = ("198211", "simvastatin 40 MG Oral Tablet")
ERYTHROMYCIN = ("4053", "erythromycin")
CYCLOSPORINE = ("3008", "cyclosporine")
AMLODIPINE = ("17767", "amlodipine")
CLARITHRO = ("197517", "clarithromycin 500 MG Oral Tablet")
ITRACONAZOLE = ("28031", "itraconazole")
GEMFIBROZIL = ("4719", "gemfibrozil")
ALBUTEROL = ("745752", "albuterol 0.09 MG/ACTUAT Metered Dose Inhaler [ProAir]")
SERTRALINE = ("312941", "sertraline 50 MG Oral Tablet")
VENLAFAXINE = ("39786", "venlafaxine")
MIRTAZAPINE = ("311725", "mirtazapine 15 MG Oral Tablet")
HALOPERIDOL = ("5093", "haloperidol")
QUETIAPINE = ("312744", "quetiapine 25 MG Oral Tablet")
METOCLOPRAMIDE = ("6915", "metoclopramide")
DIPHENHYDRAMINE = ("1049630", "diphenhydramine hydrochloride 25 MG Oral Tablet")
LISINOPRIL = ("314076", "lisinopril 10 MG Oral Tablet")

_ids = iter(range(1, 10**6))


def draft(code: tuple[str, str] | None, *, rid: str | None = "auto", **extra: Any) -> dict[str, Any]:
    """A draft order with a fresh id unless one (or None) is given."""
    return draft_order(f"draft-{next(_ids)}" if rid == "auto" else rid, code, **extra)


def order_cards(*resources: dict[str, Any], drafts: list[Any], service: str = "leg-pain-order-select"
                ) -> list[Card]:
    facts = build_facts([patient(), *resources], now=NOW, patient_id=PATIENT_ID, draft_orders=drafts)
    return engine.evaluate(registry.service(service), facts)


def topic_card(topic: str, *resources: dict[str, Any], drafts: list[Any]) -> Card | None:
    return next((c for c in order_cards(*resources, drafts=drafts) if c.topic == topic), None)


def k(value: float, days: float = 5) -> dict[str, Any]:
    return obs("2823-3", value, "mmol/L", days=days)


def na(value: float) -> dict[str, Any]:
    return obs("2951-2", value, "mmol/L")


def mg(value: float) -> dict[str, Any]:
    return obs("19123-9", value, "mg/dL")


def ca(value: float) -> dict[str, Any]:
    return obs("17861-6", value, "mg/dL")


def ferritin(value: float) -> dict[str, Any]:
    return obs("2276-4", value, "ng/mL", days=60)


def tsat(value: float) -> dict[str, Any]:
    return obs("2502-3", value, "%", days=60)


RLS = cond("32914008", SNOMED, display="Restless legs")
RLS_ICD = cond("G25.81", ICD10CM, display="Restless legs syndrome")
RLS_PREGNANCY = cond("1052284009", SNOMED, display="Restless legs syndrome in pregnancy")
NEUROPATHY = cond("E11.42", ICD10CM, display="Type 2 diabetes mellitus with diabetic polyneuropathy")
DULOXETINE = ("596926", "duloxetine 20 MG Delayed Release Oral Capsule")

# (topic, chart resources, drafted drug): every pair the order-time checks cover.
FIRES = {
    "thiazide-low-sodium": ("diuretic-effect", [na(130)], HCTZ),
    "thiazide-high-calcium": ("diuretic-effect", [ca(10.8)], CHLORTHALIDONE),
    "thiazide-low-potassium": ("diuretic-effect", [k(3.2)], HCTZ),
    "loop-low-potassium": ("diuretic-effect", [k(3.2)], FUROSEMIDE),
    "loop-low-magnesium": ("diuretic-effect", [mg(1.5)], BUMETANIDE),
    "potassium-sparing-high-potassium": ("diuretic-effect", [k(5.6)], SPIRONOLACTONE),
    "statin-with-active-clarithromycin": ("statin-muscle-symptoms", [med(*CLARITHRO)], SIMVA),
    "statin-with-active-itraconazole": ("statin-muscle-symptoms", [med(*ITRACONAZOLE)], ATORVA40),
    "simvastatin-with-active-erythromycin": ("statin-muscle-symptoms", [med(*ERYTHROMYCIN)], SIMVA),
    "simvastatin-with-active-cyclosporine": ("statin-muscle-symptoms", [med(*CYCLOSPORINE)], SIMVA),
    "simvastatin-40-with-active-amlodipine": ("statin-muscle-symptoms", [med(*AMLODIPINE)], SIMVA40),
    "erythromycin-with-active-simvastatin": ("statin-muscle-symptoms", [med(*SIMVA)], ERYTHROMYCIN),
    "cyclosporine-with-active-simvastatin": ("statin-muscle-symptoms", [med(*SIMVA)], CYCLOSPORINE),
    "statin-with-active-gemfibrozil": ("statin-muscle-symptoms", [med(*GEMFIBROZIL)], ROSUVA),
    "statin-with-high-ck": ("statin-muscle-symptoms", [obs("2157-6", 900, "U/L")], PRAVA),  # 5.3 x ULN
    "clarithromycin-with-active-simvastatin": ("statin-muscle-symptoms", [med(*SIMVA)], CLARITHRO),
    "gemfibrozil-with-active-rosuvastatin": ("statin-muscle-symptoms", [med(*ROSUVA)], GEMFIBROZIL),
    "haloperidol-rls": ("restless-legs", [RLS], HALOPERIDOL),
    "quetiapine-rls-icd": ("restless-legs", [RLS_ICD], QUETIAPINE),
    "metoclopramide-rls-low-ferritin": ("restless-legs", [RLS, ferritin(60)], METOCLOPRAMIDE),
    "diphenhydramine-rls": ("restless-legs", [RLS], DIPHENHYDRAMINE),
    "sertraline-rls-low-tsat": ("restless-legs", [RLS, tsat(15)], SERTRALINE),
    "venlafaxine-rls-ferritin-at-75": ("restless-legs", [RLS, ferritin(75)], VENLAFAXINE),
    "mirtazapine-rls-pregnancy": ("restless-legs", [RLS_PREGNANCY], MIRTAZAPINE),
    "albuterol-low-potassium": ("medication-effect", [k(3.3)], ALBUTEROL),
    "albuterol-low-magnesium": ("medication-effect", [mg(1.5)], ALBUTEROL),
    "sertraline-low-sodium": ("medication-effect", [na(131)], SERTRALINE),
    "lisinopril-high-potassium": ("electrolyte-imbalance", [k(5.8)], LISINOPRIL),
}


@pytest.mark.parametrize("case", sorted(FIRES))
@pytest.mark.parametrize("service", SERVICES)
def test_pair_fires_with_delete_of_the_draft(case: str, service: str) -> None:
    topic, chart, drug = FIRES[case]
    d = draft(drug, rid=f"draft-{case}")
    cards = order_cards(*chart, drafts=[d], service=service)
    c = next((c for c in cards if c.topic == topic), None)
    assert c is not None, [x.topic for x in cards]
    assert c.indicator.value == "warning"
    assert c.source.topic is not None and c.source.topic.system == TOPIC_SYSTEM
    assert len(c.summary) < 140 and c.detail and c.override_reasons and c.links
    assert c.selection_behavior is SelectionBehavior.AT_MOST_ONE
    deletes = [a for s in c.suggestions for a in s.actions if a.type is ActionType.DELETE]
    assert deletes and {a.resource_id for a in deletes} == {f"MedicationRequest/draft-{case}"}
    assert drug[1] in c.detail  # the drafted drug is named
    assert c.rule_ids == (next(r.ref for r in registry.all_rules() if r.id == f"order-{topic}"),)


@pytest.mark.parametrize("case", sorted(FIRES))
def test_pair_is_quiet_when_the_drug_is_already_current(case: str) -> None:
    """A re-order of a drug the patient already takes is not a start (cards.order_checks docstring)."""
    topic, chart, drug = FIRES[case]
    assert topic_card(topic, *chart, med(*drug), drafts=[draft(drug)]) is None


@pytest.mark.parametrize("case", sorted(FIRES))
def test_pair_is_quiet_without_the_finding(case: str) -> None:
    topic, chart, drug = FIRES[case]
    assert topic_card(topic, drafts=[draft(drug)]) is None


@pytest.mark.parametrize(("chart", "drug"), [
    ([na(136), ca(10.2), k(3.5), mg(1.7)], HCTZ),          # all at the edge of the default range
    ([na(130)], FUROSEMIDE),                                # low sodium is not a loop-typical effect here
    ([k(3.1)], SPIRONOLACTONE),                             # a K-sparing diuretic helps a low potassium
    ([k(5.0)], SPIRONOLACTONE),                             # upper edge of the default range
    ([ca(10.8)], FUROSEMIDE),                               # loops lower, not raise, calcium
    ([k(3.1, days=91)], FUROSEMIDE),                        # stale potassium (90-day window)
    ([obs("2157-6", 170, "U/L")], SIMVA),                   # CK at the default upper limit
    ([obs("2157-6", 250, "U/L", low=30, high=300)], SIMVA),  # CK within the lab's own range
    ([med(*CLARITHRO)], ROSUVA),                            # rosuvastatin is not CYP3A4-dependent
    ([ferritin(76), tsat(20)], HALOPERIDOL),                # iron above the AASM 2024 thresholds
    ([ferritin(40), tsat(12)], SERTRALINE),                 # low iron without RLS: no RLS warning (issue 14)
    ([ferritin(60), NEUROPATHY], DULOXETINE),               # SNRI first-line for painful diabetic neuropathy
    ([RLS], FUROSEMIDE),                                    # unrelated draft for an RLS patient
    ([k(3.6), mg(1.8)], ALBUTEROL),
    ([na(135)], SERTRALINE),
    ([k(3.0)], SIMVA),                                      # unrelated draft for a low potassium
    ([na(125)], MIRTAZAPINE),                               # mirtazapine: not in the sodium pairs
])
def test_quiet(chart: list[dict[str, Any]], drug: tuple[str, str]) -> None:
    assert order_cards(*chart, drafts=[draft(drug)]) == []


def test_unrelated_and_uncoded_drafts_are_quiet() -> None:
    drafts = [draft(None, medicationCodeableConcept={"text": "amoxicillin 500 mg capsule"}),
              draft(("21107", "cilostazol"))]
    assert order_cards(k(2.9), na(128), RLS, med(*SIMVA), drafts=drafts) == []


def test_the_draft_itself_in_prefetch_does_not_make_it_current() -> None:
    """Some EHRs also return the draft from a MedicationRequest search: same id, so it is still a start."""
    d = draft(FUROSEMIDE, rid="dup-1")
    as_active = {**d, "status": "active", "intent": "order"}
    c = topic_card("diuretic-effect", k(3.1), as_active, drafts=[d])
    assert c is not None


def test_a_switch_within_the_class_is_a_start() -> None:
    """Another ingredient of the same class is a new drug (bumetanide for furosemide, same potassium effect)."""
    assert topic_card("diuretic-effect", k(3.1), med(*FUROSEMIDE), drafts=[draft(BUMETANIDE)]) is not None


def test_both_hooks_give_the_same_cards() -> None:
    chart = [k(3.0), na(129), RLS, med(*SIMVA)]
    drafts = [draft(FUROSEMIDE, rid="a"), draft(HCTZ, rid="b"), draft(CLARITHRO, rid="c"), draft(SERTRALINE, rid="d")]
    select = order_cards(*chart, drafts=drafts, service="leg-pain-order-select")
    sign = order_cards(*chart, drafts=drafts, service="leg-pain-order-sign")
    assert select == sign
    assert sorted(c.topic or "" for c in select) == ["diuretic-effect", "medication-effect", "restless-legs",
                                                     "statin-muscle-symptoms"]


def test_one_card_per_topic_lists_every_draft_and_offers_remove_all() -> None:
    c = topic_card("diuretic-effect", k(3.0), na(129), drafts=[draft(FUROSEMIDE, rid="a"), draft(HCTZ, rid="b")])
    assert c is not None and "(+1 more draft)" in c.summary
    assert "furosemide 40 MG" in c.detail and "hydrochlorothiazide 25 MG" in c.detail
    first = c.suggestions[0]
    assert first.label == "Remove all 2 flagged draft orders"
    assert [a.resource_id for a in first.actions] == ["MedicationRequest/a", "MedicationRequest/b"]
    assert [s.label for s in c.suggestions[1:]] == ["Remove the draft furosemide order",
                                                     "Remove the draft hydrochlorothiazide order"]


def test_combination_product_counts_each_ingredient() -> None:
    """HCTZ/triamterene: the thiazide part worsens a low sodium, the K-sparing part a high potassium."""
    c = topic_card("diuretic-effect", na(130), k(5.6), drafts=[draft(HCTZ_TRIAMTERENE, rid="combo")])
    assert c is not None and c.detail is not None
    assert "Sodium **130 mmol/L**" in c.detail and "Potassium **5.6 mmol/L**" in c.detail
    deletes = [a.resource_id for s in c.suggestions for a in s.actions if a.type is ActionType.DELETE]
    assert deletes == ["MedicationRequest/combo"]  # one draft, one removal, even with two ingredients
    assert [s.label for s in c.suggestions] == ["Remove the draft hydrochlorothiazide/triamterene order"]


def test_finding_value_and_date_are_on_the_card() -> None:
    c = topic_card("diuretic-effect", k(3.1, days=3), drafts=[draft(FUROSEMIDE)])
    assert c is not None
    assert "3.1 mmol/L" in c.summary and "2026-11-22" in c.summary
    assert "2026-11-22 (3 days ago)" in c.detail


def test_statin_with_cyp3a4_inhibitor_offers_non_cyp3a4_replacements() -> None:
    c = topic_card("statin-muscle-symptoms", med(*CLARITHRO), drafts=[draft(SIMVA, rid="simva-1")])
    assert c is not None
    replacements = [s for s in c.suggestions if s.label.startswith("Replace")]
    assert [s.label for s in replacements] == ["Replace simvastatin by pravastatin sodium 40 MG Oral Tablet",
                                               "Replace simvastatin by rosuvastatin calcium 10 MG Oral Tablet"]
    for s in replacements:
        delete, create = s.actions
        assert delete.type is ActionType.DELETE and delete.resource_id == "MedicationRequest/simva-1"
        assert create.type is ActionType.CREATE and create.resource is not None
        resource = MedicationRequest.model_validate(create.resource)  # a valid R4 resource
        assert resource.status == "draft" and resource.intent == "proposal"
        coding = create.resource["medicationCodeableConcept"]["coding"][0]
        assert coding["system"] == RXNORM and coding["code"] in {PRAVA[0], ROSUVA[0]}
        assert create.resource["subject"] == {"reference": f"Patient/{PATIENT_ID}"}
    assert c.selection_behavior is SelectionBehavior.AT_MOST_ONE


@pytest.mark.parametrize(("chart", "drug"), [
    ([med(*GEMFIBROZIL)], SIMVA),              # no statin is safe with gemfibrozil: remove only
    ([obs("2157-6", 900, "U/L")], SIMVA),     # high CK: another statin is no answer
    ([med(*SIMVA)], CLARITHRO),               # the draft is the inhibitor: the reference names no substitute
])
def test_no_replacement_where_none_is_safer(chart: list[dict[str, Any]], drug: tuple[str, str]) -> None:
    c = topic_card("statin-muscle-symptoms", *chart, drafts=[draft(drug)])
    assert c is not None
    assert [s.label for s in c.suggestions if s.label.startswith("Replace")] == []


def test_statin_and_inhibitor_drafted_together_fire_once() -> None:
    c = topic_card("statin-muscle-symptoms", drafts=[draft(SIMVA, rid="s"), draft(CLARITHRO, rid="c")])
    assert c is not None
    assert "also drafted" in c.detail
    deletes = {a.resource_id for s in c.suggestions for a in s.actions if a.type is ActionType.DELETE}
    assert deletes == {"MedicationRequest/s"}


def test_rls_tsat_calculated_from_iron_and_tibc_of_the_same_day() -> None:
    """TSAT = iron / TIBC x 100 (50 / 400 = 12.5 %), only from one draw (the patient-view rule's helper)."""
    iron = obs("2498-4", 50, "ug/dL", days=30)
    tibc = obs("2500-7", 400, "ug/dL", days=30)
    facts = build_facts([patient(), iron, tibc], now=NOW, patient_id=PATIENT_ID)
    tsat, calculated = restless_legs.transferrin_saturation(facts)
    assert calculated and tsat is not None and tsat.value == 12.5
    c = topic_card("restless-legs", RLS, iron, tibc, drafts=[draft(HALOPERIDOL)])
    assert c is not None and c.detail is not None
    assert "Transferrin saturation **" in c.detail and "calculated from iron/TIBC of the same day" in c.detail
    other_day = topic_card("restless-legs", RLS, iron, obs("2500-7", 400, "ug/dL", days=31),
                           drafts=[draft(HALOPERIDOL)])
    assert other_day is not None and "Transferrin saturation" not in (other_day.detail or "")


def test_rls_card_lists_every_finding() -> None:
    c = topic_card("restless-legs", RLS, ferritin(40), tsat(12), drafts=[draft(QUETIAPINE)])
    assert c is not None
    assert "Restless legs (code 32914008" in c.detail
    assert "40 ng/mL" in c.detail and "12%" in c.detail


def test_rls_order_check_needs_rls_on_record() -> None:
    """Low iron is a cause of RLS symptoms, not RLS: without an RLS diagnosis no drafted drug gets an RLS card."""
    chart = [ferritin(12), tsat(5), cond("D50.9", ICD10CM, display="Iron deficiency anemia, unspecified")]
    for drug in (HALOPERIDOL, QUETIAPINE, METOCLOPRAMIDE, DIPHENHYDRAMINE, SERTRALINE, VENLAFAXINE, MIRTAZAPINE,
                 DULOXETINE):
        assert topic_card("restless-legs", *chart, drafts=[draft(drug)]) is None, drug
    assert topic_card("restless-legs", RLS, *chart, drafts=[draft(DULOXETINE)]) is not None


def test_rls_iron_evidence_cut_offs_and_window() -> None:
    """With RLS on record, low iron is listed by the AASM 2024 thresholds (-1 / 0 / +1) and within the iron window."""
    window = threshold("rls.iron-lookback").value
    cases = [(lambda o: ferritin(FERRITIN_RLS + o), (True, True, False)),
             (lambda o: tsat(TSAT_RLS + o), (True, False, False)),
             (lambda o: obs("2276-4", 50, "ng/mL", days=window + o), (True, True, False))]
    for lab, expected in cases:
        for offset, shown in zip((-1, 0, 1), expected):
            c = topic_card("restless-legs", RLS, lab(offset), drafts=[draft(HALOPERIDOL)])
            assert c is not None and ("iron deficiency for RLS" in (c.detail or "")) is shown, offset


def test_rls_in_pregnancy_code_is_one_finding() -> None:
    """SNOMED 1052284009 is in both RLS value sets: one evidence line, not two."""
    c = topic_card("restless-legs", RLS_PREGNANCY, drafts=[draft(MIRTAZAPINE)])
    assert c is not None and (c.detail or "").count("1052284009") == 1


def test_snri_with_diabetic_neuropathy_and_rls_names_a_drug_for_both() -> None:
    c = topic_card("restless-legs", RLS, NEUROPATHY, drafts=[draft(DULOXETINE)])
    assert c is not None and "gabapentin or pregabalin is first-line both" in (c.detail or "")
    assert "doi.org/10.1212/WNL.0000000000013038" in " ".join(link.url for link in c.links)
    plain = topic_card("restless-legs", RLS, drafts=[draft(DULOXETINE)])
    assert plain is not None and "gabapentin" not in (plain.detail or "")


# ---------------------------------------------------------------------------------------------- Sandbox-shaped drafts

SANDBOX_DRAFTS: dict[str, Any] = {
    "category-object": draft(FUROSEMIDE, category={"coding": [{"code": "outpatient"}]}),
    "no-medication": draft(None),
    "no-id": draft(FUROSEMIDE, rid=None),
    "empty-concept": draft(None, medicationCodeableConcept={}),
    "concept-is-a-string": draft(None, medicationCodeableConcept="furosemide"),
    "coding-is-an-object": draft(None, medicationCodeableConcept={"coding": {"system": RXNORM, "code": "313988"}}),
    "numeric-code": draft(None, medicationCodeableConcept={"coding": [{"system": RXNORM, "code": 313988}]}),
    "dangling-reference": draft(None, medicationReference={"reference": "Medication/nowhere"}),
    "id-is-a-number": draft(FUROSEMIDE, rid=None, id=42),
    "bad-dates": draft(FUROSEMIDE, authoredOn="2026-13-45"),
    "not-a-medication-request": {"resourceType": "ServiceRequest", "id": "sr-1", "status": "draft"},
    "not-a-dict": "MedicationRequest/x",
    "null": None,
}


@pytest.mark.parametrize("case", sorted(SANDBOX_DRAFTS))
@pytest.mark.parametrize("service", SERVICES)
def test_sandbox_shaped_drafts_never_crash(case: str, service: str) -> None:
    cards = order_cards(k(3.0), drafts=[SANDBOX_DRAFTS[case]], service=service)
    for c in cards:
        for s in c.suggestions:
            for a in s.actions:
                assert a.type is not ActionType.DELETE or (a.resource_id or "").startswith("MedicationRequest/")


def test_empty_draft_orders_give_no_cards() -> None:
    assert order_cards(k(2.4), na(118), RLS, med(*SIMVA), drafts=[]) == []


def test_category_object_still_fires() -> None:
    c = topic_card("diuretic-effect", k(3.0), drafts=[SANDBOX_DRAFTS["category-object"]])
    assert c is not None


def test_draft_without_id_fires_without_a_delete_action_and_says_so() -> None:
    c = topic_card("diuretic-effect", k(3.0), drafts=[draft(FUROSEMIDE, rid=None)])
    assert c is not None
    assert not [a for s in c.suggestions for a in s.actions if a.type is ActionType.DELETE]
    assert c.suggestions == () and c.selection_behavior is None
    assert "has no id" in c.detail


def test_draft_without_id_keeps_the_replacement_without_a_delete() -> None:
    c = topic_card("statin-muscle-symptoms", med(*CLARITHRO), drafts=[draft(SIMVA, rid=None)])
    assert c is not None and "has no id" in c.detail
    assert [a.type for s in c.suggestions for a in s.actions] == [ActionType.CREATE, ActionType.CREATE]


def test_numeric_code_is_not_matched() -> None:
    """A code must be a string (FHIR code); a number is not guessed into one."""
    assert order_cards(k(3.0), drafts=[SANDBOX_DRAFTS["numeric-code"]]) == []


def test_draft_with_contained_medication_fires() -> None:
    d = draft(None, rid="with-contained", medicationReference={"reference": "#m1"},
              contained=[{"resourceType": "Medication", "id": "m1",
                          "code": {"coding": [{"system": RXNORM, "code": FUROSEMIDE[0]}]}}])
    c = topic_card("diuretic-effect", k(3.0), drafts=[d])
    assert c is not None
    assert c.suggestions[0].actions[0].resource_id == "MedicationRequest/with-contained"


# ---------------------------------------------------------------------------------------------- registry


@pytest.mark.parametrize(("service_id", "hook"), [("leg-pain-order-select", ORDER_SELECT),
                                                  ("leg-pain-order-sign", ORDER_SIGN)])
def test_order_services_are_registered(service_id: str, hook: str) -> None:
    service = registry.service(service_id)
    assert service.hook == hook
    assert {r.topic.value for r in service.rules} == {"diuretic-effect", "statin-muscle-symptoms", "restless-legs",
                                                      "medication-effect", "electrolyte-imbalance",
                                                      "peripheral-artery-disease"}
    assert set(service.prefetch) == {"patient", "observations", "medications", "medicationRequests", "conditions"}
    for code in ("2276-4", "2502-3", "2157-6", "2823-3"):  # ferritin, TSAT, CK, potassium reach the prefetch
        assert code in service.prefetch["observations"]


# ---------------------------------------------------------------------------------------------- cut-offs (-1 / 0 / +1)

@pytest.mark.parametrize(("topic", "lab", "drug", "fires"), [
    # default ranges (NIH Clinical Center, cards/knowledge): K 3.5-5.0, Na 135-145, Mg 1.7-2.2, Ca 8.6-10.2
    ("diuretic-effect", k(3.4), FUROSEMIDE, True), ("diuretic-effect", k(3.5), FUROSEMIDE, False),
    ("diuretic-effect", na(134), HCTZ, True), ("diuretic-effect", na(135), HCTZ, False),
    ("diuretic-effect", mg(1.6), BUMETANIDE, True), ("diuretic-effect", mg(1.7), BUMETANIDE, False),
    ("diuretic-effect", ca(10.3), CHLORTHALIDONE, True), ("diuretic-effect", ca(10.2), CHLORTHALIDONE, False),
    ("medication-effect", k(3.4), ALBUTEROL, True), ("medication-effect", k(3.5), ALBUTEROL, False),
    ("medication-effect", na(134), SERTRALINE, True), ("medication-effect", na(135), SERTRALINE, False),
    # the lab's own range wins over the default
    ("diuretic-effect", obs("2823-3", 3.6, "mmol/L", low=3.7, high=5.2), FUROSEMIDE, True),
    ("diuretic-effect", obs("2823-3", 3.4, "mmol/L", low=3.3, high=5.2), FUROSEMIDE, False),
    # the lab's CK upper limit wins over the default (cut-offs from the knowledge: test_knowledge_cut_offs): a drafted
    # statin is flagged above 4 x ULN only (review 14, item 8)
    ("statin-muscle-symptoms", obs("2157-6", 801, "U/L", low=30, high=200), SIMVA, True),
    ("statin-muscle-symptoms", obs("2157-6", 800, "U/L", low=30, high=200), SIMVA, False),
    # Low iron alone (no RLS on record) never fires the RLS order check (issue 14, point 6)
    ("restless-legs", obs("2276-4", 60, "ng/mL", low=15, high=150, days=60), HALOPERIDOL, False),
])
def test_cut_offs(topic: str, lab: dict[str, Any], drug: tuple[str, str], fires: bool) -> None:
    assert (topic_card(topic, lab, drafts=[draft(drug)]) is not None) is fires


def test_knowledge_values_are_the_sources() -> None:
    assert threshold("statin.ck-default-uln").value == 170 and threshold("statin.ck-above-uln").value == 1
    assert threshold("statin.ck-lookback").value == 90 and threshold("rls.iron-lookback").value == 365
    assert threshold("rls.ferritin-iron-therapy").value == 75 and threshold("rls.tsat-iron-therapy").value == 20
    assert threshold("electrolytes.lookback").value == 90
    assert order_statin_muscle_symptoms.CK_WINDOW is statin_muscle_symptoms.CK_WINDOW
    assert order_restless_legs.FERRITIN_RLS is restless_legs.FERRITIN_RLS


CK_ULN = threshold("statin.ck-default-uln").value
CK_STOP = threshold("statin.ck-stop-multiple").value
FERRITIN_RLS = threshold("rls.ferritin-iron-therapy").value
TSAT_RLS = threshold("rls.tsat-iron-therapy").value


@pytest.mark.parametrize(("topic", "lab", "drug", "expected"), [
    # CK above 4 x the upper limit (default when the lab sends none): -1 / 0 / +1
    ("statin-muscle-symptoms", lambda o: obs("2157-6", CK_STOP * CK_ULN + o, "U/L"), SIMVA, (False, False, True)),
], ids=["ck-uln"])
def test_knowledge_cut_offs(topic: str, lab: Any, drug: tuple[str, str], expected: tuple[bool, ...]) -> None:
    for offset, fires in zip((-1, 0, 1), expected):
        assert (topic_card(topic, lab(offset), drafts=[draft(drug)]) is not None) is fires, offset


@pytest.mark.parametrize(("window", "analyte_lab", "drug"), [
    ("electrolytes.lookback", lambda d: obs("2823-3", 3.0, "mmol/L", days=d), FUROSEMIDE),
    ("statin.ck-lookback", lambda d: obs("2157-6", 900, "U/L", days=d), SIMVA),
])
def test_lookback_windows(window: str, analyte_lab: Any, drug: tuple[str, str]) -> None:
    """Each window from cards/knowledge: a result on its last day counts, one a day older does not."""
    days = threshold(window).value
    for offset, fires in ((-1, True), (0, True), (1, False)):
        assert bool(order_cards(analyte_lab(days + offset), drafts=[draft(drug)])) is fires, offset


def test_summary_stays_short_and_keeps_the_draft_count() -> None:
    chart = [na(129), k(3.1), mg(1.4), ca(10.9)]
    drafts = [draft(("197770", "hydrochlorothiazide 50 MG Oral Tablet"), rid="a"), draft(CHLORTHALIDONE, rid="b"),
              draft(FUROSEMIDE, rid="c")]
    c = topic_card("diuretic-effect", *chart, drafts=drafts)
    assert c is not None
    assert len(c.summary) < 140 and c.summary.endswith("(+2 more drafts)"), c.summary
    assert c.summary == ("Draft hydrochlorothiazide would worsen low potassium 3.1 mmol/L (2026-11-20) and 3 other "
                         "findings (+2 more drafts)")
    for shown in ("Potassium **3.1 mmol/L**", "Magnesium **1.4 mg/dL**", "Sodium **129 mmol/L**",
                  "Calcium **10.9 mg/dL**"):
        assert shown in c.detail


@pytest.mark.parametrize(("chart", "expected", "absent"), [
    ([RLS], "check ferritin and transferrin saturation", "oral or IV iron"),
    ([RLS, ferritin(150), tsat(30)], "Consider whether the drafted drug", "check ferritin"),
    ([RLS, ferritin(40)], "oral or IV iron", "check ferritin"),
])
def test_rls_next_steps_follow_the_findings(chart: list[dict[str, Any]], expected: str, absent: str) -> None:
    c = topic_card("restless-legs", *chart, drafts=[draft(HALOPERIDOL)])
    assert c is not None and c.detail is not None
    assert expected in c.detail and absent not in c.detail


@pytest.mark.parametrize(("chart", "drug", "expected", "absent"), [
    ([med(*GEMFIBROZIL)], SIMVA, "Simvastatin with gemfibrozil: contraindicated - Zocor", "clarithromycin"),
    ([med(*CLARITHRO)], ATORVA40, "Atorvastatin 40 mg with clarithromycin: exceeds the labelled maximum of 20 mg",
     "gemfibrozil"),
    ([obs("2157-6", 900, "U/L")], ROSUVA, "CK is already above 4 x", "interacting drug"),
])
def test_statin_card_explains_its_own_mechanism(chart: list[dict[str, Any]], drug: tuple[str, str], expected: str,
                                                absent: str) -> None:
    c = topic_card("statin-muscle-symptoms", *chart, drafts=[draft(drug)])
    assert c is not None and c.detail is not None
    assert expected in c.detail and absent not in c.detail


def test_replacement_codes_are_known_non_cyp3a4_statins() -> None:
    """The alternatives' RxNorm codes map, in the terminology data, to the statin they name - and not to one the
    CYP3A4 interaction concerns (else the replacement would trigger the same card)."""
    from cards.rules import order_statin_muscle_symptoms as rule, statin_muscle_symptoms as sams
    from terminology import drugs

    for strength, alt in rule.NON_CYP3A4_ALTERNATIVES:
        [matched] = drugs.match([(RXNORM, alt.rxcui, alt.display)], [])
        assert matched.ingredient == alt.ingredient and "statin" in matched.classes
        assert matched.matched_by == "rxnorm-product"
        assert alt.ingredient in sams.NON_CYP3A4_STATINS and f" {strength:g} MG " in alt.display


def test_replacement_order_is_quiet_when_drafted() -> None:
    """Accepting the suggestion must not raise the same warning again: the created order is itself checked."""
    c = topic_card("statin-muscle-symptoms", med(*CLARITHRO), drafts=[draft(SIMVA, rid="simva-1")])
    assert c is not None
    created = [a.resource for s in c.suggestions for a in s.actions if a.resource is not None]
    for resource in created:
        assert topic_card("statin-muscle-symptoms", med(*CLARITHRO), drafts=[{**resource, "id": "new"}]) is None


# ---------------------------------------------------------------------------------------------- properties

DRUGS = [FUROSEMIDE, HCTZ, SPIRONOLACTONE, SIMVA, ROSUVA, CLARITHRO, GEMFIBROZIL, ALBUTEROL, SERTRALINE, QUETIAPINE,
         METOCLOPRAMIDE, ("21107", "cilostazol")]
CHART = [k(3.1), na(130), mg(1.5), ca(10.8), obs("2157-6", 900, "U/L"), RLS, med(*CLARITHRO)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(range(len(DRUGS))), max_size=6), st.sampled_from(range(len(DRUGS))))
def test_another_draft_never_silences_a_card(chosen: list[int], extra: int) -> None:
    """Adding a draft to the order session can add findings, never remove a topic."""
    drafts = [draft(DRUGS[i], rid=f"d{n}") for n, i in enumerate(chosen)]
    before = {c.topic for c in order_cards(*CHART, drafts=drafts)}
    after = {c.topic for c in order_cards(*CHART, drafts=drafts + [draft(DRUGS[extra], rid="extra")])}
    assert before <= after


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(range(len(DRUGS))), min_size=1, max_size=6))
def test_every_delete_names_a_flagged_draft(chosen: list[int]) -> None:
    drafts = [draft(DRUGS[i], rid=f"d{n}") for n, i in enumerate(chosen)]
    ids = {f"MedicationRequest/d{n}" for n in range(len(chosen))}
    for c in order_cards(*CHART, drafts=drafts):
        assert c.indicator.value == "warning" and len(c.summary) < 140
        deletes = {a.resource_id for s in c.suggestions for a in s.actions if a.type is ActionType.DELETE}
        assert deletes and deletes <= ids


@settings(max_examples=40, deadline=None)
@given(st.floats(min_value=1.5, max_value=6.0, allow_nan=False), st.floats(min_value=0.0, max_value=1.0))
def test_a_lower_potassium_never_silences_the_loop_warning(value: float, drop: float) -> None:
    fires = topic_card("diuretic-effect", k(value), drafts=[draft(FUROSEMIDE)]) is not None
    lower = topic_card("diuretic-effect", k(value - drop), drafts=[draft(FUROSEMIDE)]) is not None
    assert lower >= fires



# ---------------------------------------------------------------------------------------------- card text hygiene
# No text meant for another drug, finding or topic: each order card explains and advises only what it found.


@pytest.mark.parametrize(("chart", "drug", "present", "absent"), [
    ([obs("2157-6", 900, "U/L")], ROSUVA, "has to be explained before a statin starts", "interacting drug"),
    ([med(*GEMFIBROZIL)], SIMVA, "review the need for gemfibrozil", "clarithromycin"),
    ([med(*CLARITHRO)], SIMVA, "suspend simvastatin for the clarithromycin course", "emfibrozil"),
])
def test_statin_card_explains_and_advises_only_its_findings(chart: list[dict[str, Any]], drug: tuple[str, str],
                                                            present: str, absent: str) -> None:
    c = topic_card("statin-muscle-symptoms", *chart, drafts=[draft(drug)])
    assert c is not None and c.detail is not None
    assert present in c.detail and absent not in c.detail


def test_rls_card_names_only_the_drafted_class_and_iron_only_when_low() -> None:
    c = topic_card("restless-legs", RLS, drafts=[draft(SERTRALINE)])
    assert c is not None and c.detail is not None
    assert "The drafted SSRI aggravates it." in c.detail
    for other in ("antipsychotic", "antihistamine", "mirtazapine", "metoclopramide", "iron deficiency makes it"):
        assert other not in c.detail
    assert "an SSRI worsens restless legs" in c.detail


def test_medication_effect_card_names_only_the_low_result_and_the_drafted_class() -> None:
    c = topic_card("medication-effect", k(3.2), drafts=[draft(ALBUTEROL)])
    assert c is not None and c.detail is not None
    assert c.detail.startswith("A low potassium can cause muscle cramps")
    assert "Beta-2 agonist with a low potassium:" in c.detail
    steps = c.detail.split("**Next steps:**")[1].split("**Sources:**")[0]
    for other in ("sodium", "magnesium", "SSRI", "restless", "AASM"):
        assert other not in c.detail.split("\n")[0] and other not in steps, other
    assert "restless" not in c.detail.lower() and "sodium" not in c.detail.lower()
    ssri = topic_card("medication-effect", na(131), drafts=[draft(SERTRALINE)])
    assert ssri is not None and ssri.detail is not None
    assert "restless" not in ssri.detail.lower() and "AASM" not in ssri.detail
    assert "an SSRI can cause SIAD" in ssri.detail


@pytest.mark.parametrize("topic", ["statin-muscle-symptoms", "restless-legs", "medication-effect"])
def test_order_rules_have_advice_and_cite_no_file(topic: str) -> None:
    rule = next(r for r in registry.all_rules() if r.id == f"order-{topic}")
    assert rule.advice
    chart, drug = {"statin-muscle-symptoms": ([med(*CLARITHRO)], SIMVA), "restless-legs": ([RLS], QUETIAPINE),
                   "medication-effect": ([k(3.1)], ALBUTEROL)}[topic]
    c = topic_card(topic, *chart, drafts=[draft(drug)])
    assert c is not None and not FORBIDDEN.search(c.detail or "") and ".md" not in (c.detail or "")


def test_potassium_raising_drafts_with_high_potassium() -> None:
    """Outside review (unsafe): drafting potassium chloride, lisinopril or trimethoprim with K 5.8 gave no card;
    eplerenone with K 6.6 gave only a warning."""
    for drug in (LISINOPRIL, (None, "potassium chloride 20 mEq extended-release tablet"),
                 (None, "trimethoprim 100 mg tablet")):
        rxcui, text = drug
        d = draft((rxcui, text) if rxcui else (None, text), rid="draft-k")
        c = topic_card("electrolyte-imbalance", k(5.8), drafts=[d])
        assert c is not None and c.indicator.value == "warning", text
        assert "Do not start" in (c.detail or "") and "not cramps" in (c.detail or "")
    critical = topic_card("electrolyte-imbalance", k(6.6), drafts=[draft(LISINOPRIL, rid="draft-k")])
    assert critical is not None and critical.indicator.value == "critical" and "ECG now" in (critical.detail or "")
    eplerenone = topic_card("diuretic-effect", k(6.6), drafts=[draft((None, "eplerenone 25 mg tablet"),
                                                                     rid="draft-e")])
    assert eplerenone is not None and eplerenone.indicator.value == "critical"
    assert topic_card("electrolyte-imbalance", k(6.6), drafts=[draft((None, "eplerenone 25 mg tablet"),
                                                                      rid="draft-e")]) is None  # one card per draft
    assert topic_card("electrolyte-imbalance", k(4.5), drafts=[draft(LISINOPRIL, rid="draft-k")]) is None


# ---------------------------------------------------------------------------------------------- statins by the labels
# Issue 14, points 1 and 4: both directions, dose caps against the strength, CK below 4 x ULN never removes a statin.


@pytest.mark.parametrize(("chart", "drug", "words"), [
    ([med(*ERYTHROMYCIN)], SIMVA, ("simvastatin", "erythromycin", "contraindicated")),
    ([med(*SIMVA)], ERYTHROMYCIN, ("erythromycin", "simvastatin", "contraindicated")),
    ([med(*SIMVA)], CYCLOSPORINE, ("cyclosporine", "simvastatin", "contraindicated")),
    ([med(*AMLODIPINE)], SIMVA40, ("simvastatin", "amlodipine", "exceeds the labelled maximum of 20 mg")),
])
def test_label_pairs_fire_in_both_directions_naming_both_drugs(chart: list[dict[str, Any]], drug: tuple[str, str],
                                                              words: tuple[str, ...]) -> None:
    c = topic_card("statin-muscle-symptoms", *chart, drafts=[draft(drug, rid="d")])
    assert c is not None and c.indicator.value == "warning" and len(c.summary) < 140
    assert all(w in c.summary for w in words), c.summary
    deletes = {a.resource_id for s in c.suggestions for a in s.actions if a.type is ActionType.DELETE}
    assert deletes == {"MedicationRequest/d"}


def test_a_dose_within_the_cap_is_quiet() -> None:
    assert topic_card("statin-muscle-symptoms", med(*AMLODIPINE), drafts=[draft(SIMVA)]) is None  # 20 mg <= 20


def test_replacements_respect_their_own_label_caps() -> None:
    c = topic_card("statin-muscle-symptoms", med(*CYCLOSPORINE), drafts=[draft(SIMVA40, rid="s")])
    assert c is not None
    assert [s.label for s in c.suggestions if s.label.startswith("Replace")] == [
        "Replace simvastatin by pravastatin sodium 10 MG Oral Tablet",
        "Replace simvastatin by rosuvastatin calcium 5 MG Oral Tablet"]


def test_a_drafted_macrolide_names_another_antibiotic() -> None:
    c = topic_card("statin-muscle-symptoms", med(*SIMVA), drafts=[draft(ERYTHROMYCIN)])
    assert c is not None and "azithromycin" in (c.detail or "")


@pytest.mark.parametrize("ck", [171, 187, 680])  # up to 4 x the default ULN of 170
def test_a_ck_up_to_4_x_uln_alone_gives_no_order_card(ck: float) -> None:
    """Review 14, item 8: a CK of at most 4 x ULN is no reason to withhold a statin (NLA 2014), so a drafted statin
    with nothing else is quiet - no card that flags the draft and then says to keep it."""
    pad = cond("I73.9", ICD10CM, display="Peripheral vascular disease, unspecified")
    assert topic_card("statin-muscle-symptoms", obs("2157-6", ck, "U/L"), pad, drafts=[draft(ATORVA, rid="a")]) is None


def test_a_ck_above_4_x_uln_offers_removal() -> None:
    c = topic_card("statin-muscle-symptoms", obs("2157-6", 681, "U/L"), drafts=[draft(ATORVA, rid="a")])
    assert c is not None and c.indicator.value == "warning"
    assert [a for s in c.suggestions for a in s.actions if a.type is ActionType.DELETE]


def test_a_mild_ck_does_not_remove_a_statin_but_its_interaction_does() -> None:
    c = topic_card("statin-muscle-symptoms", obs("2157-6", 187, "U/L"), med(*CLARITHRO),
                   drafts=[draft(SIMVA, rid="s")])
    assert c is not None and c.indicator.value == "warning"
    deletes = {a.resource_id for s in c.suggestions for a in s.actions if a.type is ActionType.DELETE}
    assert deletes == {"MedicationRequest/s"}


def test_rhabdomyolysis_on_record_flags_a_drafted_statin_without_replacement() -> None:
    c = topic_card("statin-muscle-symptoms", cond("M62.82", ICD10CM, display="Rhabdomyolysis"),
                   drafts=[draft(PRAVA, rid="p")])
    assert c is not None and c.indicator.value == "warning" and "rhabdomyolysis" in c.summary
    assert [s.label for s in c.suggestions] == ["Remove the draft pravastatin order"]


# Review 14, item 6: simvastatin 80 mg is not to be started, nor reached by raising a lower dose (FDA Drug Safety
# Communication 2011-06-08); a renewal while it is already current is left to the patient-view card.
SIMVA80 = ("200345", "simvastatin 80 MG Oral Tablet")


@pytest.mark.parametrize(("chart", "fires"), [
    ([], True),                         # a new patient
    ([med(*SIMVA)], True),              # simvastatin 20 mg raised to 80 mg
    ([med(*SIMVA80)], False),           # a renewal of a current 80 mg
])
def test_drafted_simvastatin_80_mg(chart: list[dict[str, Any]], fires: bool) -> None:
    c = topic_card("statin-muscle-symptoms", *chart, drafts=[draft(SIMVA80, rid="s80")])
    assert (c is not None) is fires
    if c is not None:
        assert c.indicator.value == "warning" and c.summary.startswith("Draft simvastatin 80 mg: not to be started")
        assert "Flagged draft orders" in (c.detail or "") and "worsen this patient's findings" not in (c.detail or "")
        assert [s.label for s in c.suggestions] == ["Remove the draft simvastatin order"]
        assert any("fda.gov" in (link.url or "") for link in c.links)


def test_drafted_simvastatin_40_mg_alone_is_quiet() -> None:
    assert topic_card("statin-muscle-symptoms", drafts=[draft(SIMVA40)]) is None


def test_order_card_steps_do_not_repeat_the_summary_nor_nest_brackets() -> None:
    c = topic_card("statin-muscle-symptoms", med(*ATORVA40), drafts=[draft(("21212", "clarithromycin"))])
    assert c is not None and c.detail is not None
    steps = c.detail.split("**Next steps:**\n")[1].split("\n\n")[0]
    assert "exceeds the labelled maximum" not in steps and "keep atorvastatin at 20 mg a day or less" in steps
    assert "(Lipitor (atorvastatin) US label 2022)" not in c.detail
