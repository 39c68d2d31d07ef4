"""A patient with every cause at once: exactly one card per cause, correctly graded, critical first."""
from __future__ import annotations

from typing import Any

from cards.model import Card
from cards.topics import Topic

from tests.cards.helpers import cards_for
from tests.fhir_builders import ICD10CM, cond, med, obs


def everything() -> list[dict[str, Any]]:
    return [
        obs("2823-3", 2.4, "mmol/L", days=3),                              # critical potassium
        obs("3094-0", 36, "mg/dL", days=3), obs("2160-0", 1.2, "mg/dL", days=3),
        obs("2951-2", 151, "mmol/L", days=3),                              # dehydration (warning)
        med("313988", "furosemide 40 MG Oral Tablet"),                     # diuretic effect (warning, low K)
        med("745752", "albuterol [ProAir]"),                               # medication effect (warning, low K)
        med("617312", "atorvastatin 10 MG Oral Tablet"),                   # statin (info)
        obs("77194-9", 0.35, "{ratio}", days=40),                          # PAD (critical)
        cond("G25.81", ICD10CM, display="Restless legs syndrome"),
        obs("2276-4", 40, "ng/mL", days=60),                               # RLS + ferritin <= 75 (warning)
        cond("M54.16", ICD10CM, display="Lumbar radiculopathy"),          # nerve compression (info)
        cond("M48.062", ICD10CM, display="Lumbar stenosis with neurogenic claudication"),  # stenosis (info)
        cond("I87.2", ICD10CM, display="Chronic venous insufficiency"),   # poor circulation (info)
    ]


EXPECTED = [
    ("electrolyte-imbalance", "critical"), ("peripheral-artery-disease", "critical"),
    ("dehydration", "warning"), ("diuretic-effect", "warning"), ("medication-effect", "warning"),
    ("restless-legs", "warning"),
    ("nerve-compression", "info"), ("poor-circulation", "info"), ("spinal-stenosis", "info"),
    ("statin-muscle-symptoms", "info"),
]


def test_one_card_per_cause_in_order() -> None:
    cards = cards_for(*everything())
    assert [(c.topic, c.indicator.value) for c in cards] == EXPECTED
    assert {c.topic for c in cards} == {t.value for t in Topic}


def _check_quality(c: Card) -> None:
    assert 0 < len(c.summary) < 140, c.summary
    vague = ("possible issue", "issue detected", "abnormal finding", "see details")
    assert not any(v in c.summary.lower() for v in vague), c.summary
    assert c.source.url and c.source.url.startswith("https://") and c.source.topic is not None
    assert c.links and all(link.url.startswith("https://") for link in c.links)
    assert c.override_reasons and all(r.display for r in c.override_reasons)
    assert c.detail and "Decision support, not a diagnosis" in c.detail and c.rule_ids
    for suggestion in c.suggestions:
        assert suggestion.actions
        for action in suggestion.actions:
            resource = action.resource or {}
            assert resource["resourceType"] == "ServiceRequest" and resource["status"] == "draft"
            assert resource["code"].get("text")


def test_every_card_meets_the_quality_bar() -> None:
    cards = cards_for(*everything())
    for c in cards:
        _check_quality(c)
    # Cards resting on dated data show the date.
    for c in cards:
        if c.topic in {"electrolyte-imbalance", "dehydration", "diuretic-effect", "medication-effect",
                       "restless-legs", "peripheral-artery-disease"}:
            assert "2026-" in (c.detail or ""), c.topic
    # New cards all offer a next step as a suggestion.
    # The medication card linked to a low potassium leaves the panel to the electrolyte card (review 14, item 11:
    # one lab suggestion per chart for the same analytes).
    new = {"dehydration", "restless-legs", "nerve-compression", "spinal-stenosis", "poor-circulation"}
    assert all(c.suggestions for c in cards if c.topic in new)
    panel = [s for c in cards for s in c.suggestions if s.label == "Order basic metabolic panel and magnesium"]
    assert len(panel) <= 1


def test_cross_card_relations() -> None:
    by_topic = {c.topic: c.detail or "" for c in cards_for(*everything())}
    assert "furosemide (see the *Diuretic effect* card)" in by_topic["electrolyte-imbalance"]
    assert "albuterol (see the *Medication side effect* card)" in by_topic["electrolyte-imbalance"]
    assert "may be explained by albuterol" in by_topic["medication-effect"]
    assert "*Diuretic effect* card" in by_topic["dehydration"]
    # The PAD card here is actionable (always shown) and the stenosis card a possible cause (withheld without leg-
    # symptom context): the PAD card names the stenosis without pointing to a card that may not be there.
    assert "lumbar spinal stenosis is also on the problem list." in by_topic["peripheral-artery-disease"]
    assert "*Lumbar spinal stenosis* card" not in by_topic["peripheral-artery-disease"]
    assert "*Peripheral artery disease* card" in by_topic["spinal-stenosis"]
    assert "*Peripheral artery disease* card" in by_topic["poor-circulation"]


def test_healthy_patient_gets_no_cards() -> None:
    assert cards_for(obs("2823-3", 4.2, "mmol/L"), obs("2951-2", 140, "mmol/L"), obs("3094-0", 14, "mg/dL"),
                     obs("2160-0", 1.0, "mg/dL"), obs("2276-4", 120, "ng/mL", days=30),
                     obs("77194-9", 1.1, "{ratio}", days=30)) == []
