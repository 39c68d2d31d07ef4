"""Order-time check order-peripheral-artery-disease: a draft cilostazol with heart failure (boxed warning)."""
from __future__ import annotations

from typing import Any

import pytest

from cards import engine, registry
from cards.facts import build_facts
from cards.model import ActionType, Card
from cards.rules import order_peripheral_artery_disease as rule
from tests.fhir_builders import ICD10CM, NOW, PATIENT_ID, SNOMED, cond, draft_order, med, patient
from tests.test_no_outside_references import FORBIDDEN

T = "peripheral-artery-disease"
SERVICES = ("leg-pain-order-select", "leg-pain-order-sign")
CILOSTAZOL = ("21107", "cilostazol")
ATORVASTATIN = ("617312", "atorvastatin 10 MG Oral Tablet")


def _card(*resources: dict[str, Any], drafts: list[Any], service: str = "leg-pain-order-select") -> Card | None:
    facts = build_facts([patient(), *resources], now=NOW, patient_id=PATIENT_ID, draft_orders=drafts)
    return next((c for c in engine.evaluate(registry.service(service), facts) if c.topic == T), None)


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("heart_failure", [cond("I50.22", ICD10CM), cond("I50.9", ICD10CM), cond("I11.0", ICD10CM),
                                           cond("84114007", SNOMED), cond("703272007", SNOMED)])
def test_cilostazol_draft_with_heart_failure_is_flagged(service: str, heart_failure: dict[str, Any]) -> None:
    c = _card(heart_failure, drafts=[draft_order("draft-cilo", CILOSTAZOL)], service=service)
    assert c is not None and c.indicator.value == "warning"
    assert c.summary.startswith("Draft cilostazol is contraindicated with heart failure")
    assert "boxed warning" in c.summary
    assert [s.label for s in c.suggestions] == ["Remove the draft cilostazol order"]
    action = c.suggestions[0].actions[0]
    assert action.type is ActionType.DELETE and action.resource_id == "MedicationRequest/draft-cilo"
    assert "heart failure of any severity" in (c.detail or "") and not FORBIDDEN.search(c.detail or "")
    assert c.rule_ids == (rule.RULE.ref,)


def test_cilostazol_by_name_only() -> None:
    draft = draft_order("draft-cilo", None, medicationCodeableConcept={"text": "Cilostazol 100 mg tablet"})
    c = _card(cond("I50.32", ICD10CM), drafts=[draft])
    assert c is not None and c.indicator.value == "warning"


def test_quiet_without_heart_failure_or_cilostazol() -> None:
    assert _card(cond("I70.213", ICD10CM), drafts=[draft_order("draft-cilo", CILOSTAZOL)]) is None
    assert _card(cond("I50.22", ICD10CM), drafts=[draft_order("draft-statin", ATORVASTATIN)]) is None
    assert _card(cond("I50.22", ICD10CM, clinical="resolved"), drafts=[draft_order("d", CILOSTAZOL)]) is None
    assert _card(cond("I11.9", ICD10CM, display="Hypertensive heart disease without heart failure"),
                 drafts=[draft_order("d", CILOSTAZOL)]) is None


def test_reorder_of_current_cilostazol_is_left_to_the_patient_view_card() -> None:
    assert _card(cond("I50.22", ICD10CM), med(*CILOSTAZOL), drafts=[draft_order("d", CILOSTAZOL)]) is None


def test_rule_is_documented() -> None:
    assert rule.RULE.fires_when and rule.RULE.quiet_when and rule.RULE.advice
    assert "cilostazol-label" in rule.RULE.references
