"""Every terminology data file passes the audit; the audit and the loaders catch what they claim to catch."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from terminology import check, valuesets
from terminology._data import TerminologyDataError, load_json

REQUIRED = [f"lab-{a}" for a in (
    "potassium", "magnesium", "calcium-total", "calcium-ionized", "calcium-corrected", "albumin", "sodium", "creatinine",
    "bun", "osmolality", "ck", "ferritin", "iron", "tsat", "tibc", "egfr", "glucose", "hba1c", "tsh", "b12", "abi")] + [
    f"cond-{c}" for c in (
    "pad", "clti-rest-pain", "diabetic-angiopathy", "rls", "rls-pregnancy", "ckd", "ckd-g5-dialysis", "pregnancy",
    "sciatica-radiculopathy", "disc-herniation", "peroneal-neuropathy", "tarsal-tunnel", "lumbar-stenosis",
    "lumbar-stenosis-claudication", "venous-insufficiency", "varicose-veins", "diabetic-neuropathy", "leg-cramps",
    "hypothyroidism", "statin-myopathy", "iron-deficiency-anemia")]


def test_every_data_file_passes_check() -> None:
    assert check.check_data(REQUIRED) == []


def test_check_reports_a_missing_required_value_set() -> None:
    assert check.check_data(["cond-does-not-exist"]) == ["required value set 'cond-does-not-exist' is missing"]


@pytest.mark.parametrize("slug", valuesets.slugs())
def test_every_value_set_loads_with_codes(slug: str) -> None:
    vs = valuesets.load(slug)
    assert vs.slug == slug and vs.codes and vs.version


def _resource(slug: str = "cond-rls") -> dict[str, Any]:
    return copy.deepcopy(load_json("valuesets", f"{slug}.json"))


def test_value_set_without_provenance_is_refused() -> None:
    res = _resource()
    del res["publisher"]
    res["extension"] = [e for e in res["extension"] if e["url"] != valuesets.HARVEST_DATE_URL]
    with pytest.raises(TerminologyDataError, match="publisher.*harvest-date"):
        valuesets.build("cond-rls", res)


def test_check_flags_duplicate_codes_unknown_system_missing_display_and_bad_tag() -> None:
    res = _resource()
    contains = res["expansion"]["contains"]
    dup = copy.deepcopy(contains[-1])  # G25.81
    dup["code"] = "g2581"             # same ICD-10-CM code once normalised
    bad = copy.deepcopy(contains[0])
    bad.update(system="http://example.org/local", display="")
    bad["extension"] = [{"url": valuesets.SOURCE_TAG_URL, "valueString": "UNVERIFIED"}]
    contains += [dup, bad]
    problems = check._value_set_problems("cond-rls", res)
    assert any("G2581 listed 2 times" in p for p in problems)
    assert any("unknown system 'http://example.org/local'" in p for p in problems)
    assert any("has no display" in p for p in problems)
    assert any("tag 'UNVERIFIED'" in p for p in problems)


def test_check_flags_descendants_outside_icd10cm() -> None:
    res = _resource()
    res["expansion"]["contains"][0]["extension"].append({"url": valuesets.DESCENDANTS_URL, "valueBoolean": True})
    assert any("include-descendants on non-ICD-10-CM" in p for p in check._value_set_problems("cond-rls", res))
    with pytest.raises(TerminologyDataError, match="descendants only allowed for ICD-10-CM"):
        valuesets.build("cond-rls", res)


def test_check_flags_a_unit_factor_without_source() -> None:
    data = copy.deepcopy(load_json("units.json"))
    del data["analytes"]["potassium"]["conversions"][2]["source"]
    assert check._units_problems(data) == ["units.json potassium/mg/dL: factor has no source"]


def test_check_flags_products_with_unknown_or_unnamed_ingredients() -> None:
    ing = load_json("drugs", "ingredients.json")
    prod = copy.deepcopy(load_json("drugs", "products.json"))
    first = prod["products"][0]
    first["ingredients"] = ["furosemide", "no-such-drug"]
    problems = check._drug_problems(ing, prod)
    assert f"product {first['rxcui']}: unknown ingredient 'no-such-drug'" in problems
    assert any(f"product {first['rxcui']}: display" in p and "'furosemide'" in p for p in problems)


def test_check_flags_a_class_outside_the_contract() -> None:
    ing = copy.deepcopy(load_json("drugs", "ingredients.json"))
    ing["ingredients"][0]["classes"].append("laxative")
    assert "ingredient 'furosemide': unknown class 'laxative'" in check._drug_problems(ing, load_json("drugs", "products.json"))


def test_data_is_read_from_the_package_not_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_json.__wrapped__("valuesets", "lab-potassium.json")["url"] == "urn:leg-pain-cds:valueset:lab-potassium"


def test_unknown_value_set_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        valuesets.load("cond-nonexistent")


def test_every_data_file_is_declared_as_package_data() -> None:
    # A plain `pip install .` must ship every file the loaders read (pyproject [tool.setuptools.package-data]).
    import tomllib

    root = Path(__file__).parents[2]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["terminology"]
    package = root / "terminology"
    shipped = {p for pattern in globs for p in package.glob(pattern)}
    data = {p for p in (package / "data").rglob("*") if p.is_file()}
    assert data and data <= shipped
