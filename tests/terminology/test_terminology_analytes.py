"""Lab codes resolve to analytes across specimen (serum/plasma, whole blood) and property (mass/molar) variants."""

from __future__ import annotations

import pytest

from terminology import analytes, systems, units

LOINC = systems.LOINC


@pytest.mark.parametrize(("code", "analyte", "prop"), [
    ("2823-3", "potassium", "molar"), ("6298-4", "potassium", "molar"), ("75940-7", "potassium", "mass"),
    ("2951-2", "sodium", "molar"), ("2947-0", "sodium", "molar"),
    ("19123-9", "magnesium", "mass"), ("2601-3", "magnesium", "molar"), ("21377-7", "magnesium", "mass"),
    ("17861-6", "calcium-total", "mass"), ("49765-1", "calcium-total", "mass"), ("2000-8", "calcium-total", "molar"),
    ("29265-6", "calcium-corrected", "molar"), ("1994-3", "calcium-ionized", "molar"), ("17863-2", "calcium-ionized", "mass"),
    ("2160-0", "creatinine", "mass"), ("38483-4", "creatinine", "mass"), ("14682-9", "creatinine", "molar"),
    ("3094-0", "bun", "mass"), ("6299-2", "bun", "mass"), ("2339-0", "glucose", "mass"), ("2345-7", "glucose", "mass"),
    ("2276-4", "ferritin", "mass"), ("2502-3", "tsat", "fraction"), ("2500-7", "tibc", "mass"), ("2498-4", "iron", "mass"),
    ("2692-2", "osmolality", "osmolality"), ("2157-6", "ck", "catalytic"), ("33914-3", "egfr", "rate"),
    ("98979-8", "egfr", "rate"), ("4548-4", "hba1c", "fraction"), ("3016-3", "tsh", "arbitrary"), ("2132-9", "b12", "mass"),
    ("77194-9", "abi", "ratio"), ("1751-7", "albumin", "mass"),
])
def test_serum_and_whole_blood_variants(code: str, analyte: str, prop: str) -> None:
    assert analytes.analyte_for_code(LOINC, code) == analyte
    assert analytes.analyte_for_code(f" {LOINC}/", f" {code} ") == analyte  # sloppy system/code still resolve
    assert analytes.code_property(LOINC, code) == prop


def test_synthea_whole_blood_chemistry_codes_are_covered() -> None:
    # Synthea (lib/records/lookup.rb, BMP) codes outpatient chemistry with the "in Blood" LOINC variants.
    synthea = {"2339-0": "glucose", "6299-2": "bun", "38483-4": "creatinine", "49765-1": "calcium-total",
               "2947-0": "sodium", "6298-4": "potassium"}
    assert {c: analytes.analyte_for_code(LOINC, c) for c in synthea} == synthea


def test_abi_snomed_observable_and_unknown_codes() -> None:
    assert analytes.analyte_for_code(systems.SNOMED, "446841001") == "abi"
    assert analytes.analyte_for_code(LOINC, "2500-6") is None       # the common TIBC typo
    assert analytes.analyte_for_code(systems.SNOMED, "2823-3") is None
    assert analytes.analyte_for_code(None, "2823-3") is None
    assert analytes.analyte_for_codings([("urn:local", "K"), (LOINC, "6298-4")]) == "potassium"


def test_analytes_have_canonical_units() -> None:
    assert analytes.ANALYTES["potassium"] == "mmol/L"
    assert analytes.ANALYTES["magnesium"] == "mg/dL"
    assert analytes.ANALYTES["calcium-corrected"] == "mg/dL"
    assert analytes.ANALYTES["calcium-ionized"] == "mmol/L"
    assert analytes.ANALYTES["abi"] == "{ratio}"
    assert set(analytes.ANALYTES) == set(units.analytes())
    assert "abi" in analytes.ANALYTES and len(analytes.ANALYTES) == 21


def test_all_codes_and_loinc_codes() -> None:
    every = analytes.all_codes()
    assert (LOINC, "2823-3") in every and (systems.SNOMED, "446841001") in every
    assert {"2823-3", "6298-4", "75940-7"} <= set(analytes.loinc_codes("potassium"))
    assert analytes.loinc_codes("abi") == ["77194-9"]
    assert all(analytes.analyte_for_code(s, c) for s, c in every)
    with pytest.raises(KeyError):
        analytes.loinc_codes("unobtainium")
