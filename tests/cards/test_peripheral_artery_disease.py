from __future__ import annotations

import pytest

from tests.cards.helpers import card, indicator
from tests.fhir_builders import ICD10CM, SNOMED, cond, obs

T = "peripheral-artery-disease"


@pytest.mark.parametrize(("abi", "expected"), [
    (0.39, "critical"), (0.40, "critical"), (0.41, "warning"), (0.90, "warning"), (0.91, "info"), (0.99, "info"),
    (1.00, None), (1.40, None), (1.41, "info"),
])
def test_abi_thresholds(abi: float, expected: str | None) -> None:
    assert indicator(T, obs("77194-9", abi, "{ratio}", days=30)) == expected


def test_abi_without_unit_and_implausible_values() -> None:
    assert indicator(T, obs("77194-9", 0.7, None, days=30)) == "warning"
    assert indicator(T, obs("77194-9", 0.0, "{ratio}", days=30)) is None
    assert indicator(T, obs("77194-9", 3.5, "{ratio}", days=30)) is None


def test_components_use_the_worse_side() -> None:
    o = obs("77194-9", None, days=20)
    o["component"] = [
        {"code": {"text": "Right ABI"}, "valueQuantity": {"value": 1.05, "system": "http://unitsofmeasure.org",
                                                          "code": "{ratio}"}},
        {"code": {"text": "Left ABI"}, "valueQuantity": {"value": 0.62, "system": "http://unitsofmeasure.org",
                                                         "code": "{ratio}"}},
    ]
    c = card(T, o)
    assert c is not None and c.indicator.value == "warning"
    assert "left" in c.summary and "0.62" in c.summary


def test_noncompressible_other_leg_still_reported() -> None:
    left = obs("77194-9", 1.55, "{ratio}", days=10, bodySite={"text": "left lower limb"})
    right = obs("77194-9", 1.10, "{ratio}", days=10, bodySite={"text": "right lower limb"})
    c = card(T, left, right)
    assert c is not None and c.indicator.value == "info" and "toe-brachial" in c.summary.lower()


def test_snomed_coded_abi_and_stale_abi() -> None:
    assert indicator(T, obs("446841001", 0.8, "{ratio}", system=SNOMED, days=30)) == "warning"
    assert indicator(T, obs("77194-9", 0.5, "{ratio}", days=400)) is None


def test_diagnosis_alone() -> None:
    assert indicator(T, cond("399957001")) == "warning"
    assert indicator(T, cond("I70.222", ICD10CM)) == "critical"
    assert indicator(T, cond("I70222", ICD10CM)) == "critical"
    assert indicator(T, cond("399957001", clinical="resolved")) is None
    assert indicator(T, cond("399957001", verification="refuted")) is None


def test_text_only_diagnosis() -> None:
    c = cond("local-123", "urn:local", text="Peripheral arterial disease, both legs")
    assert indicator(T, c) == "warning"


def test_normal_abi_no_card() -> None:
    assert card(T, obs("77194-9", 1.1, "{ratio}", days=30)) is None
