from __future__ import annotations

import pytest

from tests.cards.helpers import card, indicator
from tests.fhir_builders import med, obs

T = "statin-muscle-symptoms"
SIMVA = ("312961", "simvastatin 20 MG Oral Tablet")
ATORVA = ("617312", "atorvastatin 10 MG Oral Tablet")
ROSUVA_TEXT = "rosuvastatin 10 mg"


def test_quiet_without_statin() -> None:
    assert indicator(T, obs("2157-6", 5000, "U/L")) is None


def test_statin_alone_is_info() -> None:
    c = card(T, med(*SIMVA))
    assert c is not None and c.indicator.value == "info" and "simvastatin" in c.summary


@pytest.mark.parametrize(("ck", "high", "expected"), [
    (170, None, "info"), (171, None, "warning"), (1700, None, "warning"), (1701, None, "critical"),
    (250, 300, "info"), (301, 300, "warning"), (3001, 300, "critical"),
])
def test_ck_grading_against_lab_uln(ck: float, high: float | None, expected: str) -> None:
    o = obs("2157-6", ck, "U/L", high=high, low=30 if high else None)
    assert indicator(T, med(*SIMVA), o) == expected


def test_gemfibrozil_with_any_statin_is_warning() -> None:
    assert indicator(T, med(text=ROSUVA_TEXT), med("4719", "gemfibrozil")) == "warning"


def test_cyp3a4_inhibitor_only_matters_for_cyp3a4_statins() -> None:
    assert indicator(T, med(*SIMVA), med("21212", "clarithromycin")) == "warning"
    assert indicator(T, med(*ATORVA), med("21212", "clarithromycin")) == "warning"
    assert indicator(T, med(text=ROSUVA_TEXT), med("21212", "clarithromycin")) == "info"


def test_old_ck_is_ignored() -> None:
    assert indicator(T, med(*SIMVA), obs("2157-6", 2000, "U/L", days=120)) == "info"
