"""Dehydration: BUN/creatinine ratio with sodium or osmolality from one draw; cut-offs, windows, messy data."""
from __future__ import annotations

from typing import Any

import pytest

from cards.model import CardKind
from tests.cards.helpers import card, indicator
from tests.fhir_builders import med, obs

T = "dehydration"


def draw(bun: float = 30.0, creatinine: float = 1.0, sodium: float | None = 150.0, osm: float | None = None,
         days: float = 3, potassium: float | None = None, glucose: float | None = None) -> list[dict[str, Any]]:
    out = [obs("3094-0", bun, "mg/dL", days=days), obs("2160-0", creatinine, "mg/dL", days=days)]
    if sodium is not None:
        out.append(obs("2951-2", sodium, "mmol/L", days=days))
    if osm is not None:
        out.append(obs("2692-2", osm, "mosm/kg", days=days))
    if potassium is not None:
        out.append(obs("2823-3", potassium, "mmol/L", days=days))
    if glucose is not None:
        out.append(obs("2345-7", glucose, "mg/dL", days=days))
    return out


def test_fires_with_high_ratio_and_sodium() -> None:
    c = card(T, *draw())
    assert c is not None and c.indicator.value == "warning"
    assert "BUN/creatinine 30" in c.summary and "sodium 150 mmol/L" in c.summary and "2026-11-22" in c.summary
    assert c.suggestions[0].actions[1].resource["code"]["coding"][0]["code"] == "2692-2"


@pytest.mark.parametrize(("bun", "expected"), [(19.0, None), (20.0, None), (21.0, "warning")])
def test_ratio_cut_off(bun: float, expected: str | None) -> None:
    assert indicator(T, *draw(bun=bun)) == expected


@pytest.mark.parametrize(("sodium", "expected"), [
    (144.0, None), (145.0, None), (146.0, "warning"), (159.0, "warning"), (160.0, "warning"), (161.0, "critical"),
])
def test_sodium_cut_offs(sodium: float, expected: str | None) -> None:
    assert indicator(T, *draw(sodium=sodium)) == expected


def test_thresholds_equal_espen_2019() -> None:
    from cards.knowledge import threshold

    assert threshold("dehydration.measured-osmolality").value == 300
    assert threshold("dehydration.calculated-osmolarity").value == 295
    assert [threshold(f"dehydration.osmolarity-{k}").value for k in ("sodium-potassium", "glucose", "constant")] \
        == [1.86, 1.15, 14]


@pytest.mark.parametrize(("osm", "expected"), [(295.0, None), (297.0, None), (300.0, None), (301.0, "warning")])
def test_measured_osmolality_cut_off(osm: float, expected: str | None) -> None:
    """Measured 297 is not dehydration: 295 is the calculated-osmolarity threshold, measured is > 300 (ESPEN 2019)."""
    assert indicator(T, *draw(sodium=140.0, osm=osm)) == expected


def test_osmolality_without_sodium() -> None:
    c = card(T, *draw(sodium=None, osm=305.0))
    assert c is not None and "osmolality 305 mOsm/kg" in c.summary


@pytest.mark.parametrize(("glucose", "expected"), [(90.0, None), (200.0, "info")])
def test_calculated_osmolarity_only_without_a_measured_value(glucose: float, expected: str | None) -> None:
    # 1.86 x (Na 138 + K 4.0) + urea 10.7 (BUN 30 mg/dL / 2.8) + 14 = 288.8, plus 1.15 x glucose (mmol/L):
    # glucose 90 mg/dL (5.0 mmol/L) -> 294.6 (quiet); 200 mg/dL (11.1 mmol/L) -> 301.6 (fires).
    found = card(T, *draw(sodium=138.0, potassium=4.0, glucose=glucose))
    assert (found.indicator.value if found else None) == expected
    if found is not None:
        assert "calculated osmolarity" in found.summary and "**calculated**" in (found.detail or "")
        assert "measure serum osmolality" in found.summary and "Glucose contributes" in (found.detail or "")
    # Only in the guideline's older persons (patient() is 76): a 61-year-old with the same draw is judged by sodium.
    from cards import engine, registry
    from cards.facts import build_facts
    from tests.fhir_builders import NOW, PATIENT_ID, patient

    younger = build_facts([patient(birth="1965-06-01"), *draw(sodium=138.0, potassium=4.0, glucose=glucose)],
                          now=NOW, patient_id=PATIENT_ID)
    assert not [c for c in engine.evaluate(registry.service("leg-pain-causes"), younger) if c.topic == T]
    # With a measured osmolality on the draw, the calculation is not used.
    assert indicator(T, *draw(sodium=138.0, potassium=4.0, glucose=glucose, osm=290.0)) is None


def test_results_from_different_days_are_not_combined() -> None:
    assert indicator(T, obs("3094-0", 30, "mg/dL", days=3), obs("2160-0", 1.0, "mg/dL", days=3),
                     obs("2951-2", 150, "mmol/L", days=4)) is None


def test_window() -> None:
    assert indicator(T, *draw(days=89)) == "warning"
    assert indicator(T, *draw(days=91)) is None


def test_newest_complete_draw_decides() -> None:
    assert indicator(T, *draw(days=10), *draw(sodium=140.0, days=2)) is None
    assert indicator(T, *draw(sodium=140.0, days=10), *draw(days=2)) == "warning"


def test_creatinine_in_micromoles() -> None:
    # 88.4 umol/L = 1.0 mg/dL (creatinine 113.12 g/mol): ratio 30.
    assert indicator(T, obs("3094-0", 30, "mg/dL"), obs("14682-9", 88.4, "umol/L"), obs("2951-2", 150, "mmol/L")) \
        == "warning"


def test_cancelled_or_non_numeric_results_are_skipped() -> None:
    cancelled = draw()
    cancelled[0]["status"] = "cancelled"
    assert indicator(T, *cancelled) is None
    text_value = draw()
    del text_value[1]["valueQuantity"]
    text_value[1]["valueString"] = "<0.5"
    assert indicator(T, *text_value) is None


def test_diuretic_named_as_contributor_with_cross_reference() -> None:
    c = card(T, *draw(), med("313988", "furosemide 40 MG Oral Tablet"), obs("2823-3", 3.2, "mmol/L", days=3))
    assert c is not None
    assert "Active furosemide may be contributing to volume depletion (see the *Diuretic effect* card)" in \
        (c.detail or "")
    assert "*Electrolyte imbalance* card" in (c.detail or "")


def test_kidney_failure_urea_is_not_dehydration() -> None:
    """Outside review: BUN 95, creatinine 3.6, measured osmolality 318, sodium 138 was 'Dehydration likely' with
    advice to give fluids; urea is an ineffective osmole (eGFR about 13, CKD-EPI 2021)."""
    assert indicator(T, *draw(bun=95.0, creatinine=3.6, sodium=138.0, osm=318.0)) is None
    c = card(T, *draw(bun=95.0, creatinine=3.6, sodium=150.0, osm=318.0))  # a high sodium still counts
    assert c is not None and "kidney team" in (c.detail or "") and "IV fluids" not in (c.detail or "")
    egfr_reported = [*draw(bun=50.0, creatinine=1.2, sodium=140.0, osm=305.0), obs("62238-1", 25, "mL/min/{1.73_m2}", days=3)]
    assert indicator(T, *egfr_reported) is None  # the lab's own eGFR wins


def test_ckd_epi_2021() -> None:
    from cards.rules.dehydration import ckd_epi_2021

    assert round(ckd_epi_2021(1.0, 60, "male") or 0) == 86
    assert ckd_epi_2021(1.0, 60, None) is None


def test_no_diuretic_no_diuretic_advice() -> None:
    c = card(T, *draw())
    assert c is not None and "diuretic" not in (c.detail or "").lower()


# ---------------------------------------------------------------------------------------------- card kind
# Every dehydration card rests on abnormal values of one draw: actionable, shown on every chart open. It points only to
# cards that are shown with it.


@pytest.mark.parametrize("resources", [
    draw(),  # warning: ratio with sodium 150
    draw(sodium=165.0),  # critical
    draw(sodium=138.0, osm=305.0),  # measured osmolality
    draw(sodium=138.0, potassium=4.0, glucose=200.0),  # info: ESPEN calculated osmolarity in an older person
])
def test_every_dehydration_card_is_actionable(resources: list[dict[str, Any]]) -> None:
    c = card(T, *resources)
    assert c is not None and c.kind is CardKind.ACTIONABLE


def test_the_diuretic_card_is_named_only_when_it_is_always_shown() -> None:
    # No potassium in 12 months: the diuretic card is a monitoring gap (a possible cause), withheld without leg
    # symptoms.
    gap = card(T, *draw(), med("313988", "furosemide 40 MG Oral Tablet"))
    assert gap is not None
    assert "Active furosemide may be contributing to volume depletion." in (gap.detail or "")
    assert "*Diuretic effect* card" not in (gap.detail or "")


def test_the_electrolyte_card_is_named_only_when_it_shows_the_high_sodium() -> None:
    # A newer normal sodium: the electrolyte card grades that one and does not fire.
    newer = card(T, *draw(), obs("2951-2", 140.0, "mmol/L", days=1))
    assert newer is not None and "*Electrolyte imbalance* card" not in (newer.detail or "")
    same = card(T, *draw())
    assert same is not None
    assert "The high sodium also appears on the *Electrolyte imbalance* card." in (same.detail or "")
