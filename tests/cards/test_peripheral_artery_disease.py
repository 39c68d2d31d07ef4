"""Peripheral artery disease: ABI cut-offs read from cards/knowledge (-1/0/+1 around each), legs, diagnoses, text."""
from __future__ import annotations

import pytest

from cards.knowledge import Threshold, threshold
from cards.rules import peripheral_artery_disease as pad
from tests.cards.helpers import card, indicator
from tests.fhir_builders import ICD10CM, SNOMED, cond, obs
from tests.test_no_outside_references import FORBIDDEN

T = "peripheral-artery-disease"


def test_knowledge_values_are_the_sources() -> None:
    assert threshold("pad.abi-severe").value == 0.40  # WIfI ischaemia grade 3: ABI < 0.40 (GVG 2019)
    assert threshold("pad.abi-abnormal").value == 0.90  # 2016 AHA/ACC 3.1: abnormal <= 0.90
    assert threshold("pad.abi-normal-low").value == 1.00  # borderline 0.91-0.99, normal 1.00-1.40
    assert threshold("pad.abi-noncompressible").value == 1.40  # noncompressible > 1.40
    assert threshold("pad.tbi-abnormal").value == 0.70  # 2016 AHA/ACC 3.2: TBI <= 0.70 abnormal
    assert threshold("pad.abi-lookback").value == 365


def _around(value: float) -> list[float]:
    return [round(value - 0.01, 2), round(value, 2), round(value + 0.01, 2)]


@pytest.mark.parametrize(("cut", "expected"), [
    (pad.SEVERE, ("critical", "warning", "warning")),
    (pad.ABNORMAL, ("warning", "warning", "info")),
    (pad.BELOW_NORMAL, ("info", None, None)),
    (pad.NONCOMPRESSIBLE, (None, None, "info")),
], ids=lambda x: x.id if isinstance(x, Threshold) else "")
def test_abi_cut_offs(cut: Threshold, expected: tuple[str | None, ...]) -> None:
    for abi, grade in zip(_around(cut.value), expected):
        assert indicator(T, obs("77194-9", abi, "{ratio}", days=30)) == grade, abi


@pytest.mark.parametrize(("offset", "expected"), [(-1, "warning"), (0, "warning"), (1, None)])
def test_abi_window(offset: int, expected: str | None) -> None:
    assert indicator(T, obs("77194-9", 0.7, "{ratio}", days=pad.ABI_WINDOW.value + offset)) == expected


def test_abi_is_printed_with_two_decimals() -> None:
    c = card(T, obs("77194-9", 0.9, "{ratio}", days=30))
    assert c is not None and "ABI 0.90 (" in c.summary
    assert "abnormal (<= 0.90): PAD" in (c.detail or "") and "1.00-1.40 (2016 AHA/ACC)" in (c.detail or "")
    nc = card(T, obs("77194-9", 1.5, "{ratio}", days=30))
    assert nc is not None and nc.summary.startswith("ABI 1.50 (")
    assert "TBI <= 0.70 is abnormal" in (nc.detail or "") and "ABI > 1.40 cannot exclude PAD" in (nc.detail or "")


def test_only_the_steps_of_the_finding() -> None:
    borderline = card(T, obs("77194-9", 0.95, "{ratio}", days=30))
    assert borderline is not None
    detail = borderline.detail or ""
    assert "exercise treadmill ABI" in detail
    for other in ("toe-brachial", "Urgent vascular", "Guideline-directed therapy"):
        assert other not in detail
    severe = card(T, obs("77194-9", 0.3, "{ratio}", days=30))
    assert severe is not None and "Urgent vascular specialist referral" in (severe.detail or "")
    assert "exercise treadmill" not in (severe.detail or "") and "toe-brachial" not in (severe.detail or "")
    assert pad.RULE.advice and not FORBIDDEN.search(severe.detail or "")


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
