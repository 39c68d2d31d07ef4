"""Statin muscle symptoms: CK against the lab's upper limit and the knowledge multiples, interactions, card text."""
from __future__ import annotations

import pytest

from cards.knowledge import threshold
from cards.rules import statin_muscle_symptoms as sams
from tests.cards.helpers import card, indicator
from tests.fhir_builders import cond, med, obs
from tests.test_no_outside_references import FORBIDDEN

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


# ---------------------------------------------------------------------------------------------- knowledge cut-offs
# Each number is read from cards/knowledge (so the test follows the data) and asserted once as a literal (so the data
# cannot change silently).

def test_knowledge_values_are_the_sources() -> None:
    assert threshold("statin.ck-lookback").value == 90
    assert threshold("statin.ck-default-uln").value == 170  # NIH Clinical Center upper limit, U/L
    assert threshold("statin.ck-above-uln").value == 1  # EAS 2015 Table 1: CK > ULN
    assert threshold("statin.ck-stop-multiple").value == 4  # EAS 2015 Table 1: CK > 4 x ULN
    assert threshold("statin.ck-critical-multiple").value == 10  # EAS 2015 Table 1: CK > 10 x ULN
    assert sams.LOOKBACK.days == 90 and sams.DEFAULT_CK_ULN == 170


LAB_ULN = 200.0


@pytest.mark.parametrize(("offset", "expected"), [(-1, "info"), (0, "info"), (1, "warning")])
def test_ck_above_the_lab_upper_limit(offset: int, expected: str) -> None:
    ck = LAB_ULN * sams.CK_ABOVE_ULN.value + offset
    assert indicator(T, med(*SIMVA), obs("2157-6", ck, "U/L", low=30, high=LAB_ULN)) == expected


@pytest.mark.parametrize(("offset", "expected"), [(-1, "info"), (0, "info"), (1, "warning")])
def test_ck_default_upper_limit_without_a_lab_range(offset: int, expected: str) -> None:
    assert indicator(T, med(*SIMVA), obs("2157-6", sams.DEFAULT_CK_ULN + offset, "U/L")) == expected


@pytest.mark.parametrize(("offset", "expected"), [(-1, "warning"), (0, "warning"), (1, "critical")])
def test_ck_critical_multiple(offset: int, expected: str) -> None:
    ck = LAB_ULN * sams.CK_CRITICAL.value + offset
    c = card(T, med(*SIMVA), obs("2157-6", ck, "U/L", low=30, high=LAB_ULN))
    assert c is not None and c.indicator.value == expected
    stop = f"CK > {sams.CK_CRITICAL.value:g} x ULN: stop the statin"
    assert (stop in (c.detail or "")) is (expected == "critical")


@pytest.mark.parametrize(("offset", "advised"), [(-1, False), (0, False), (1, True)])
def test_ck_stop_multiple_advises_stopping_and_repeating(offset: int, advised: bool) -> None:
    ck = LAB_ULN * sams.CK_STOP.value + offset
    c = card(T, med(*SIMVA), obs("2157-6", ck, "U/L", low=30, high=LAB_ULN))
    assert c is not None and c.indicator.value == "warning"
    assert (f"CK > {sams.CK_STOP.value:g} x ULN: consider stopping" in (c.detail or "")) is advised


@pytest.mark.parametrize(("offset", "expected"), [(-1, "critical"), (0, "critical"), (1, "info")])
def test_ck_window(offset: int, expected: str) -> None:
    days = sams.CK_WINDOW.value + offset
    assert indicator(T, med(*SIMVA), obs("2157-6", 5000, "U/L", days=days)) == expected


def test_no_recent_ck_names_the_window() -> None:
    c = card(T, med(*SIMVA))
    assert c is not None and f"No CK result in the last {sams.CK_WINDOW.value:g} days." in (c.detail or "")


# ---------------------------------------------------------------------------------------------- card text hygiene


FIBRATE_STEP = "Gemfibrozil with a statin"
CYP3A4_STEP = "Strong CYP3A4 inhibitor with"


@pytest.mark.parametrize(("other", "present", "absent"), [
    (med("4719", "gemfibrozil"), FIBRATE_STEP, CYP3A4_STEP),
    (med("21212", "clarithromycin"), CYP3A4_STEP, FIBRATE_STEP),
])
def test_only_the_interaction_present_gets_its_step(other: dict, present: str, absent: str) -> None:
    c = card(T, med(*SIMVA), other)
    assert c is not None and present in (c.detail or "") and absent not in (c.detail or "")


def test_statin_alone_has_no_interaction_or_pad_text() -> None:
    detail = (card(T, med(*SIMVA)) or pytest.fail("no card")).detail or ""
    for text in (FIBRATE_STEP, CYP3A4_STEP, "PAD", "Peripheral artery disease"):
        assert text not in detail


def test_pad_on_the_problem_list_adds_the_pad_step() -> None:
    c = card(T, med(*SIMVA), cond("399957001", display="Peripheral arterial occlusive disease"))
    assert c is not None and "PAD is on the problem list: weigh the statin's benefit" in (c.detail or "")


def test_card_cites_primary_sources_only() -> None:
    c = card(T, med(*SIMVA), med("4719", "gemfibrozil"), obs("2157-6", 3000, "U/L"))
    assert c is not None
    text = (c.summary + (c.detail or "")).lower()
    assert not FORBIDDEN.search(text) and ".md" not in text
    assert "eur heart j 2015" in text and "fda drug safety communication" in text
    assert sams.RULE.advice and sams.RULE.version == "1.1.0"
