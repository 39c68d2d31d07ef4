"""Unit conversion: every factor of units.json, spellings seen in real data, refusals, and round-trip properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, strategies as st

from terminology import units
from terminology.units import UnitConversionError


@pytest.mark.parametrize(("analyte", "value", "unit", "expected"), [
    ("potassium", 4.1, "mmol/L", 4.1), ("potassium", 4.1, "mEq/L", 4.1), ("potassium", 10.0, "mg/dL", 2.56),
    ("sodium", 140.0, "meq/l", 140.0),
    ("magnesium", 1.0, "mmol/L", 2.43), ("magnesium", 2.0, "mEq/L", 2.43), ("magnesium", 20.0, "mg/L", 2.0),
    ("calcium-total", 2.5, "mmol/L", 10.02), ("calcium-total", 5.0, "mEq/L", 10.02), ("calcium-total", 95.0, "mg/L", 9.5),
    ("calcium-corrected", 2.0, "mmol/L", 8.016), ("calcium-corrected", 2.0, "mEq/L", 4.008),
    ("calcium-ionized", 4.8, "mg/dL", 1.2), ("calcium-ionized", 2.4, "mEq/L", 1.2),
    ("albumin", 40.0, "g/L", 4.0), ("albumin", 4.0, "g/dL", 4.0), ("albumin", 602.0, "umol/L", 4.0),
    ("albumin", 602.0, "µmol/L", 4.0),
    ("creatinine", 88.4, "umol/L", 1.0), ("creatinine", 176.8, "µmol/L", 2.0), ("creatinine", 10.0, "mg/L", 1.0),
    ("bun", 10.0, "mmol/L", 28.0), ("osmolality", 290.0, "mOsm/kg", 290.0), ("osmolality", 290.0, "mOsm/kg H2O", 290.0),
    ("osmolality", 0.29, "osm/kg", 290.0),
    ("ck", 1.0, "ukat/L", 60.0), ("ck", 150.0, "IU/L", 150.0), ("ck", 150.0, "U/L", 150.0),
    ("ferritin", 100.0, "pmol/L", 44.5), ("ferritin", 50.0, "ug/L", 50.0), ("ferritin", 50.0, "µg/L", 50.0),
    ("iron", 10.0, "umol/L", 55.87), ("iron", 80.0, "mcg/dL", 80.0), ("tibc", 60.0, "μmol/L", 335.22),
    ("tsat", 18.0, "%", 18.0), ("glucose", 5.0, "mmol/L", 90.1), ("hba1c", 7.1, "%", 7.1),
    ("hba1c", 48.0, "mmol/mol", 48.0 / 10.929 + 2.15),
    ("tsh", 2.0, "uIU/mL", 2.0), ("tsh", 2.0, "mIU/L", 2.0), ("tsh", 2.0, "m[IU]/L", 2.0),
    ("b12", 100.0, "pmol/L", 135.5), ("b12", 300.0, "ng/L", 300.0),
    ("egfr", 55.0, "mL/min/{1.73_m2}", 55.0), ("egfr", 55.0, "mL/min/1.73 m2", 55.0), ("egfr", 55.0, "ml/min/1.73m2", 55.0),
    ("abi", 0.85, "{ratio}", 0.85), ("abi", 0.85, "1", 0.85), ("abi", 0.85, "ratio", 0.85),
])
def test_each_factor(analyte: str, value: float, unit: str, expected: float) -> None:
    assert units.to_canonical(value, unit, analyte) == pytest.approx(expected, rel=1e-9)


def test_reference_directions_hold_within_rounding() -> None:
    # The reverse factors of miracum/loinc-conversion and the BUN -> urea rule: Mg mg/dL x 0.411, creatinine umol/L x
    # 0.0113, BUN mg/dL x 0.357 = urea mmol/L.
    assert units.convert(1.0, "mg/dL", "mmol/L", "magnesium") == pytest.approx(0.411, abs=1e-3)
    assert units.convert(1.0, "umol/L", "mg/dL", "creatinine") == pytest.approx(0.0113, abs=5e-5)
    assert units.convert(1.0, "mg/dL", "mmol/L", "bun") == pytest.approx(0.357, abs=5e-4)


@pytest.mark.parametrize("unit", [None, "", "  ", "1", "{ratio}", "ratio"])
def test_missing_or_dimensionless_unit_is_fine_for_abi(unit: str | None) -> None:
    assert units.to_canonical(1.1, unit, "abi") == 1.1


@pytest.mark.parametrize(("analyte", "unit"), [
    ("potassium", None), ("potassium", ""), ("potassium", "mg"), ("potassium", "furlongs"), ("sodium", "mg/dL"),
    ("albumin", "mmol/L"),      # only umol/L is listed: a thousandfold error is never guessed
    ("hba1c", "mmol/L"),        # not an HbA1c unit
    ("osmolality", "mOsm/L"),   # osmolarity is not osmolality
    ("abi", "mm[Hg]"), ("unobtainium", "mmol/L"),
])
def test_unknown_or_missing_unit_raises(analyte: str, unit: str | None) -> None:
    with pytest.raises(UnitConversionError):
        units.to_canonical(1.0, unit, analyte)


def test_canonical_units() -> None:
    assert units.canonical_unit("creatinine") == "mg/dL"
    assert units.canonical_unit("ferritin") == "ng/mL"
    with pytest.raises(UnitConversionError):
        units.canonical_unit("unobtainium")


def test_every_factor_has_a_source() -> None:
    for spec in units.analytes().values():
        assert all(conv.source for conv in spec.conversions.values()), spec.analyte


PAIRS = [(a, c.unit) for a, spec in units.analytes().items() for c in spec.conversions.values()]
VALUES = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False)


@given(pair=st.sampled_from(PAIRS), other=st.integers(min_value=0, max_value=10), value=VALUES)
def test_round_trip_through_any_unit(pair: tuple[str, str], other: int, value: float) -> None:
    analyte, unit = pair
    targets = [c.unit for c in units.analytes()[analyte].conversions.values()]
    target = targets[other % len(targets)]
    back = units.convert(units.convert(value, unit, target, analyte), target, unit, analyte)
    # affine conversions (HbA1c mmol/mol) lose a little absolute precision near zero
    assert math.isclose(back, value, rel_tol=1e-12, abs_tol=1e-9)


@given(pair=st.sampled_from(PAIRS), a=VALUES, b=VALUES)
def test_conversion_preserves_order(pair: tuple[str, str], a: float, b: float) -> None:
    # A higher lab value never becomes a lower one after normalisation (threshold comparisons stay valid).
    analyte, unit = pair
    lo, hi = sorted((a, b))
    assert units.to_canonical(lo, unit, analyte) <= units.to_canonical(hi, unit, analyte)


@given(analyte=st.sampled_from(sorted(units.analytes())), value=VALUES)
def test_canonical_unit_is_identity(analyte: str, value: float) -> None:
    assert units.to_canonical(value, units.canonical_unit(analyte), analyte) == value
