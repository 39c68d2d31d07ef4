"""Issue 13 terminology: primary-source provenance, confirmed codes, region-aware text, code-first condition matching,
ingredient + strength (SCDC) RxNorm codes, potassium-raising drug classes, HbA1c IFCC units and osmolarity inputs."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from terminology import analytes, check, drugs, systems, units, valuesets
from terminology._data import load_json

ICD, SCT, LOINC, RX, ATC = systems.ICD10CM, systems.SNOMED, systems.LOINC, systems.RXNORM, systems.ATC
PACKAGE = Path(__file__).parents[2] / "terminology"
FORBIDDEN = ("clinical" + "-reference", "shared" + "/")


# ------------------------------------------------------------------ provenance without the outside document

def test_no_file_of_the_package_cites_the_outside_document() -> None:
    offenders = [str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*")
                 if path.is_file() and "__pycache__" not in path.parts
                 and any(word in path.read_text(encoding="utf-8", errors="replace").lower() for word in FORBIDDEN)]
    assert offenders == []
    assert check.forbidden_text_problems() == []


def test_no_data_file_points_to_sections_of_a_document() -> None:
    # "§3.2"-style pointers were pointers into the outside document: every source now names the artifact itself.
    for path in (PACKAGE / "data").rglob("*.json"):
        assert "§" not in path.read_text(encoding="utf-8"), path.name


@pytest.mark.parametrize("slug", valuesets.slugs())
def test_every_value_set_names_a_primary_source_for_each_tag_it_uses(slug: str) -> None:
    resource = load_json("valuesets", f"{slug}.json")
    source = next(e["valueString"] for e in resource["extension"] if e["url"] == valuesets.PROVENANCE_SOURCE_URL)
    tags = {e["valueString"] for c in resource["expansion"]["contains"] for e in c["extension"]
            if e["url"] == valuesets.SOURCE_TAG_URL}
    expected = {"VSAC": "VSAC", "NLM": "flowsheet-lhc", "MII": "loincsnomed-lab-concepts", "VA": "VistA",
                "CMS": "cmmi-access-model", "HL7": "HL7", "C": "third-party", "SYN": "Synthea"}
    for tag in tags:
        assert expected[tag] in source, (slug, tag)


def test_the_tag_legend_covers_every_tag_in_the_data() -> None:
    assert set(check.TAG_SOURCES) == check.ALLOWED_TAGS and all(check.TAG_SOURCES.values())
    products = load_json("drugs", "products.json")
    assert {p["tag"] for p in products["products"]} <= check.ALLOWED_TAGS
    for key, src in products["sources"].items():
        assert src["name"] and (src.get("oid") or src.get("repository") or src.get("artifact")), key


def test_units_and_drug_files_name_their_sources() -> None:
    data = load_json("units.json")
    for analyte, spec in data["analytes"].items():
        for conv in spec["conversions"]:
            assert conv["source"] and "reference" not in conv["source"].lower(), (analyte, conv["unit"])
    for ing in load_json("drugs", "ingredients.json")["ingredients"]:
        assert ing["source"], ing["name"]
        if ing.get("rxcui"):
            assert ing["rxcui"] in ing["source"], ing["name"]  # the source says where this RXCUI was seen


# ------------------------------------------------------------------ confirmed codes

@pytest.mark.parametrize(("slug", "code", "tag"), [
    ("cond-sciatica-radiculopathy", "M54.17", "VA"),
    ("cond-varicose-veins", "I83.90", "VA"), ("cond-varicose-veins", "I83.91", "VA"),
    ("cond-varicose-veins", "I83.811", "VA"), ("cond-varicose-veins", "I83.812", "C"),
    ("cond-varicose-veins", "I83.813", "C"), ("cond-varicose-veins", "I83.819", "C"),
    ("cond-ckd", "N18.3", "VA"), ("cond-ckd", "N18.30", "VSAC"), ("cond-ckd", "N18.31", "VSAC"),
    ("cond-ckd", "N18.32", "VSAC"),
])
def test_confirmed_codes_are_members_with_their_tag(slug: str, code: str, tag: str) -> None:
    vs = valuesets.load(slug)
    assert vs.contains(ICD, code) and vs.contains(ICD, code.replace(".", ""))
    assert vs.source_tag(ICD, code) == tag


def test_painful_varicose_veins_header_covers_its_descendants_only() -> None:
    vs = valuesets.load("cond-varicose-veins")
    assert vs.contains(ICD, "I83.818")                 # any I83.81x through the I83.81 header
    assert not vs.contains(ICD, "I83.891") and not vs.contains(ICD, "I83.8")


@pytest.mark.parametrize("slug", ["cond-sciatica-radiculopathy", "cond-varicose-veins", "cond-ckd", "lab-hba1c",
                                  "cond-lumbar-stenosis", "cond-lumbar-stenosis-claudication", "cond-disc-herniation"])
def test_changed_value_sets_are_versioned(slug: str) -> None:
    assert valuesets.load(slug).version >= "2026.12.03"


def test_hba1c_ifcc_code_is_an_hba1c_analyte() -> None:
    assert analytes.analyte_for_code(LOINC, "59261-8") == "hba1c"
    assert analytes.code_property(LOINC, "59261-8") == "fraction"
    assert "59261-8" in analytes.loinc_codes("hba1c")


# ------------------------------------------------------------------ region words

@pytest.mark.parametrize(("slug", "text", "expected"), [
    ("cond-lumbar-stenosis", "Spinal stenosis, cervical region", False),
    ("cond-lumbar-stenosis", "thoracic spinal stenosis", False),
    ("cond-lumbar-stenosis", "Cervical spinal canal stenosis", False),
    ("cond-lumbar-stenosis", "thoracolumbar spinal stenosis", False),
    ("cond-lumbar-stenosis", "spinal stenosis", False),                  # site unspecified, like M48.00: not lumbar
    ("cond-lumbar-stenosis", "Spinal stenosis, lumbar region", True),
    ("cond-lumbar-stenosis", "Spinal stenosis of lumbar region", True),
    ("cond-lumbar-stenosis", "lumbar spinal stenosis", True),
    ("cond-lumbar-stenosis", "Lumbosacral foraminal stenosis", True),
    ("cond-lumbar-stenosis", "L4-L5 canal stenosis", True),
    ("cond-lumbar-stenosis", "cervical and lumbar spinal stenosis", True),
    ("cond-lumbar-stenosis", "Neurogenic claudication", True),
    ("cond-lumbar-stenosis-claudication", "Spinal stenosis, lumbar region without neurogenic claudication", False),
    ("cond-lumbar-stenosis-claudication", "cervical spinal stenosis with claudication", False),
    ("cond-lumbar-stenosis-claudication", "Spinal stenosis, lumbar region with neurogenic claudication", True),
    ("cond-lumbar-stenosis-claudication", "lumbar stenosis with claudication", True),
    ("cond-disc-herniation", "Cervical disc herniation", False),
    ("cond-disc-herniation", "Other cervical disc displacement", False),
    ("cond-disc-herniation", "Intervertebral disc displacement, cervical region", False),
    ("cond-disc-herniation", "Thoracic disc prolapse", False),
    ("cond-disc-herniation", "Other intervertebral disc displacement, lumbar region", True),
    ("cond-disc-herniation", "Intervertebral disc disorders with radiculopathy, lumbosacral region", True),
    ("cond-disc-herniation", "herniated lumbar disc", True),
    ("cond-disc-herniation", "L5-S1 disc herniation", True),
    ("cond-sciatica-radiculopathy", "cervical radiculopathy", False),
    ("cond-sciatica-radiculopathy", "Radiculopathy, cervical region", False),
    ("cond-sciatica-radiculopathy", "Radiculopathy, thoracolumbar region", False),
    ("cond-sciatica-radiculopathy", "Radiculopathy, lumbosacral region", True),
    ("cond-sciatica-radiculopathy", "Lumbago with sciatica, right side", True),
    ("cond-varicose-veins", "Esophageal varices", False),
    ("cond-varicose-veins", "scrotal varicose veins", False),
    ("cond-varicose-veins", "varicose veins of the esophagus", False),
    ("cond-varicose-veins", "Varicose veins of bilateral lower extremities with pain", True),
    ("cond-venous-insufficiency", "Chronic cerebrospinal venous insufficiency", False),
    ("cond-venous-insufficiency", "Venous insufficiency (chronic) (peripheral)", True),
    ("cond-clti-rest-pain", "Dry gangrene of finger", False),
    ("cond-clti-rest-pain", "Gangrene of toe", True),
    ("cond-clti-rest-pain", "Ischemic rest pain, left foot", True),
])
def test_text_patterns_respect_region_words(slug: str, text: str, expected: bool) -> None:
    assert valuesets.load(slug).matches_text(text) is expected


@pytest.mark.parametrize("slug", [s for s in valuesets.slugs() if s.startswith("cond-")])
def test_no_condition_set_matches_a_display_of_another_region_or_organ(slug: str) -> None:
    # Displays of codes that are NOT leg-pain causes but share words with them.
    others = ["Spinal stenosis, cervical region", "Spinal stenosis, thoracic region", "Radiculopathy, cervical region",
              "Other cervical disc displacement, unspecified cervical region", "Esophageal varices without bleeding",
              "Scrotal varices", "Carpal tunnel syndrome, right upper limb", "Dry gangrene of finger"]
    assert [t for t in others if valuesets.load(slug).matches_text(t)] == []


# ------------------------------------------------------------------ code first, text only as a fallback

def test_known_condition_systems_with_aliases() -> None:
    for system in (ICD, SCT, systems.ICD10, "urn:oid:2.16.840.1.113883.6.90", "urn:oid:2.16.840.1.113883.6.96",
                   "urn:oid:2.16.840.1.113883.6.3", "https://snomed.info/sct/", " http://hl7.org/fhir/sid/icd-10-cm "):
        assert systems.is_known_condition_system(system) and valuesets.known_condition_system(system), system
    for system in (None, "", LOINC, RX, "http://example.org/local-problems", "http://hl7.org/fhir/sid/icd-9-cm"):
        assert not valuesets.known_condition_system(system), system


def test_a_condition_coded_outside_the_set_is_not_matched_by_its_text() -> None:
    vs = valuesets.load("cond-lumbar-stenosis")
    cervical = [(ICD, "M48.02")]
    assert not vs.matches(cervical, ["Spinal stenosis, cervical region"])
    assert not vs.matches(cervical, ["lumbar spinal stenosis"])          # the code decides, not a contradicting text
    assert not vs.matches([(SCT, "12345678")], ["lumbar spinal stenosis"])  # the set lists SNOMED CT codes
    assert vs.matches([("http://example.org/local", "LSS")], ["lumbar spinal stenosis"])
    assert vs.matches([], ["Lumbar spinal stenosis"])
    assert vs.matches([(ICD, "M48.062"), (ICD, "M48.02")], [])           # any coding in the set matches
    assert vs.matches([(systems.ICD10, "M48.0")], ["lumbar spinal stenosis"])  # no WHO ICD-10 codes in the set


def test_judges_only_systems_the_set_lists_codes_in() -> None:
    varicose = valuesets.load("cond-varicose-veins")  # ICD-10-CM only
    assert varicose.judges(ICD) and varicose.judges("urn:oid:2.16.840.1.113883.6.90")
    assert not varicose.judges(SCT) and not varicose.judges(LOINC) and not varicose.judges(None)
    assert varicose.matches([(SCT, "72866009")], ["Varicose veins of lower limb"])  # SNOMED-coded: text still read
    assert not varicose.matches([(ICD, "I86.1")], ["Scrotal varicose veins"])
    assert varicose.text_allowed([SCT, "http://example.org/x", None])
    assert not varicose.text_allowed([SCT, ICD])
    lab = valuesets.load("lab-potassium")
    assert not lab.judges(LOINC)  # LOINC is not a condition system


def test_blank_codes_do_not_close_the_text_fallback() -> None:
    vs = valuesets.load("cond-rls")
    assert vs.matches([(ICD, "  "), (SCT, None)], ["Restless legs syndrome"])


@given(code=st.from_regex(r"[A-Z][0-9]{2}\.?[0-9A-Z]{0,4}", fullmatch=True), text=st.text(max_size=60))
def test_text_never_overrules_a_non_member_icd10cm_code(code: str, text: str) -> None:
    for slug in ("cond-lumbar-stenosis", "cond-sciatica-radiculopathy", "cond-varicose-veins"):
        vs = valuesets.load(slug)
        if not vs.contains(ICD, code):
            assert not vs.matches([(ICD, code)], [text, "lumbar spinal stenosis", "sciatica", "varicose veins"])


# ------------------------------------------------------------------ RxNorm ingredient + strength (SCDC)

@pytest.mark.parametrize(("code", "ingredient", "cls"), [
    ("316049", "hydrochlorothiazide", "thiazide-diuretic"),
    ("316672", "simvastatin", "statin"),
])
def test_scdc_codes_map_to_their_ingredient(code: str, ingredient: str, cls: str) -> None:
    found = drugs.match([(RX, code, "whatever the sender says")])
    assert len(found) == 1
    m = found[0]
    assert (m.ingredient, m.matched_by) == (ingredient, drugs.RXNORM_PRODUCT) and cls in m.classes
    assert f"RxNorm SCDC {code}" in m.evidence
    product = drugs.product(code)
    assert product is not None and product.tty == "SCDC" and product.ingredients == (ingredient,)
    assert (RX, code) in drugs.known_codes()


def test_scdc_display_shape_is_checked() -> None:
    assert check._tty_of("simvastatin 10 MG") == "SCDC"
    assert check._tty_of("hydrochlorothiazide 25 MG") == "SCDC"
    assert check._tty_of("simvastatin 10 MG Oral Tablet") == "SCD"
    assert check._tty_of("atorvastatin 10 MG Oral Tablet [Lipitor]") == "SBD"
    prod = copy.deepcopy(load_json("drugs", "products.json"))
    scdc = next(p for p in prod["products"] if p["rxcui"] == "316672")
    scdc["tty"] = "SCD"
    problems = check._drug_problems(load_json("drugs", "ingredients.json"), prod)
    assert "product 316672: tty 'SCD' does not fit its display" in problems


def test_a_product_source_needs_a_locatable_artifact() -> None:
    prod = copy.deepcopy(load_json("drugs", "products.json"))
    prod["sources"]["rxnav-316672"] = {"name": "somewhere"}
    problems = check._drug_problems(load_json("drugs", "ingredients.json"), prod)
    assert any("source rxnav-316672" in p for p in problems)


def test_synthea_products_carry_module_provenance() -> None:
    sources = load_json("drugs", "products.json")["sources"]
    for key in ("synthea-statin", "synthea-emergency-inhaler", "synthea-otc-antihistamine"):
        assert sources[key]["repository"] == "synthetichealth/synthea" and sources[key]["commit"]
    vytorin = drugs.product("1245441")
    assert vytorin is not None and "synthea-statin" in vytorin.sources
    assert vytorin.display == "ezetimibe 10 MG / simvastatin 40 MG Oral Tablet [Vytorin]"


# ------------------------------------------------------------------ potassium-raising classes

def test_potassium_raising_classes_exist_and_are_described() -> None:
    classes = drugs.classes()
    for cls in drugs.POTASSIUM_RAISING_CLASSES:
        assert classes[cls], cls
        assert drugs.ingredients_in_class(cls), cls
    assert set(drugs.POTASSIUM_RAISING_CLASSES) <= check.CONTRACT_CLASSES


@pytest.mark.parametrize(("codings", "texts", "ingredient", "cls", "matched_by"), [
    ([(RX, "29046", "lisinopril")], [], "lisinopril", "ace-inhibitor", "rxnorm-ingredient"),
    ([(RX, "314076", None)], [], "lisinopril", "ace-inhibitor", "rxnorm-product"),     # Synthea's lisinopril 10 MG
    ([(RX, "3827", None)], [], "enalapril", "ace-inhibitor", "rxnorm-ingredient"),
    ([(RX, "979492", None)], [], "losartan", "arb", "rxnorm-product"),
    ([(RX, "214354", None)], [], "candesartan", "arb", "rxnorm-ingredient"),
    ([(RX, "9997", None)], [], "spironolactone", "mra", "rxnorm-ingredient"),
    ([(RX, "198335", None)], [], "trimethoprim", "trimethoprim", "rxnorm-product"),
    ([(ATC, "C09AA03", "lisinopril")], [], "lisinopril", "ace-inhibitor", "atc"),
    ([], ["Kerendia 10 mg"], "finerenone", "mra", "text"),
    ([], ["eplerenone 25 mg"], "eplerenone", "mra", "text"),
    ([], ["Amiloride 5 mg"], "amiloride", "potassium-sparing-diuretic", "text"),
    ([], ["Ibuprofen 400 mg PRN"], "ibuprofen", "nsaid", "text"),
    ([], ["Aleve"], "naproxen", "nsaid", "text"),
    ([], ["Lovenox 40 mg SC"], "enoxaparin", "heparin", "text"),
    ([], ["heparin sodium 5000 units"], "heparin", "heparin", "text"),
    ([], ["Fragmin"], "dalteparin", "heparin", "text"),
    ([], ["tacrolimus 1 mg"], "tacrolimus", "calcineurin-inhibitor", "text"),
    ([(RX, "3008", "cyclosporine")], [], "cyclosporine", "calcineurin-inhibitor", "rxnorm-ingredient"),
    ([], ["Klor-Con 20 mEq"], "potassium chloride", "potassium-supplement", "text"),
    ([], ["potassium citrate ER"], "potassium citrate", "potassium-supplement", "text"),
])
def test_potassium_raising_drugs_are_recognised(codings: list[tuple[str, str, str | None]], texts: list[str],
                                                ingredient: str, cls: str, matched_by: str) -> None:
    found = {m.ingredient: m for m in drugs.match(codings, texts)}
    assert ingredient in found, found
    m = found[ingredient]
    assert cls in m.classes and m.matched_by == matched_by
    assert drugs.raises_potassium(m)


def test_sacubitril_valsartan_is_arni_and_arb() -> None:
    found = {m.ingredient: m.classes for m in drugs.match([(RX, "1656349", None)])}
    assert found == {"sacubitril": {"arni"}, "valsartan": {"arb"}}
    assert {m.ingredient for m in drugs.match([], ["Entresto 49/51 mg"])} == {"sacubitril", "valsartan"}
    arni = drugs.match([(ATC, "C09DX04", None)])
    assert len(arni) == 1 and {"arni", "arb"} <= arni[0].classes


def test_spironolactone_keeps_its_old_class_and_gains_mra() -> None:
    assert {"potassium-sparing-diuretic", "mra"} <= drugs.ingredient("spironolactone").classes
    assert {"potassium-sparing-diuretic", "mra"} <= drugs.ingredient("eplerenone").classes
    assert "mra" not in drugs.ingredient("amiloride").classes
    assert drugs.ingredient("finerenone").rxcui is None  # no verified RXCUI: matched by name


def test_cotrimoxazole_names_both_ingredients() -> None:
    for text in ("Bactrim DS bid", "co-trimoxazole 960 mg", "Septra"):
        assert {m.ingredient for m in drugs.match([], [text])} == {"sulfamethoxazole", "trimethoprim"}, text


@pytest.mark.parametrize("text", ["furosemide 40 mg", "Lipitor", "losartan potassium", "penicillin V potassium",
                                  "potassium 3.2 mmol/L", "sodium chloride 0.9%"])
def test_drugs_that_do_not_raise_potassium(text: str) -> None:
    assert not any(drugs.raises_potassium(m) and m.ingredient.startswith("potassium") for m in drugs.match([], [text]))
    assert not any(m.ingredient == "potassium chloride" for m in drugs.match([], [text]))


def test_every_ace_arb_product_of_the_vsac_set_resolves() -> None:
    prod = load_json("drugs", "products.json")
    ace = [p for p in prod["products"] if "ace-arb-arni" in p["sources"]]
    assert len(ace) == 151
    for p in ace:
        classes = set().union(*(m.classes for m in drugs.match([(RX, p["rxcui"], None)])))
        assert classes & {"ace-inhibitor", "arb", "arni"}, p["display"]


# ------------------------------------------------------------------ units: HbA1c IFCC, albumin, osmolarity inputs

@pytest.mark.parametrize(("mmol_mol", "percent"), [(20, 4.0), (31, 5.0), (42, 6.0), (48, 6.5), (53, 7.0), (64, 8.0),
                                                    (75, 9.0), (86, 10.0)])
def test_hba1c_ifcc_to_ngsp_matches_the_published_table(mmol_mol: float, percent: float) -> None:
    # NGSP/IFCC conversion table (whole mmol/mol rounded): within 0.1 percentage point.
    assert units.to_canonical(mmol_mol, "mmol/mol", "hba1c") == pytest.approx(percent, abs=0.1)
    assert units.from_canonical(percent, "mmol/mol", "hba1c") == pytest.approx(mmol_mol, abs=1.0)


def test_hba1c_conversion_is_affine_not_a_factor() -> None:
    conv = units.factor("mmol/mol", "hba1c")
    assert conv.offset == pytest.approx(2.15) and conv.factor == pytest.approx(1 / 10.929)
    assert units.to_canonical(0.0, "mmol/mol", "hba1c") == pytest.approx(2.15)
    assert units.to_canonical(48.0, "mmol/mol", "hba1c") != pytest.approx(48.0 / 10.929)
    assert all(c.offset == 0.0 for a, spec in units.analytes().items() for c in spec.conversions.values()
               if (a, c.unit) != ("hba1c", "mmol/mol"))


@given(value=st.floats(min_value=3.0, max_value=20.0, allow_nan=False))
def test_hba1c_round_trip(value: float) -> None:
    there = units.convert(value, "%", "mmol/mol", "hba1c")
    assert math.isclose(units.convert(there, "mmol/mol", "%", "hba1c"), value, rel_tol=1e-12)
    assert math.isclose(units.to_canonical(units.from_canonical(value, "mmol/mol", "hba1c"), "mmol/mol", "hba1c"),
                        value, rel_tol=1e-12)


def test_albumin_units() -> None:
    assert units.canonical_unit("albumin") == "g/dL"
    assert units.to_canonical(35.0, "g/L", "albumin") == pytest.approx(3.5)
    assert units.to_canonical(602.0, "umol/L", "albumin") == pytest.approx(4.0)
    assert units.convert(1.0, "g/dL", "µmol/L", "albumin") == pytest.approx(150.5)


def test_osmolarity_inputs_in_mmol_per_litre() -> None:
    # ESPEN 2019: calculated osmolarity = 1.86 x (Na + K) + 1.15 x glucose + urea + 14, all mmol/L.
    glucose = units.from_canonical(90.1, "mmol/L", "glucose")   # canonical mg/dL -> mmol/L
    urea = units.from_canonical(14.0, "mmol/L", "bun")          # BUN mg/dL -> urea mmol/L
    assert glucose == pytest.approx(5.0) and urea == pytest.approx(5.0)
    assert units.convert(14.0, "mg/dL", "mmol/L", "bun") == pytest.approx(14.0 * 0.357, rel=1e-3)
    osmolarity = 1.86 * (140 + 4) + 1.15 * glucose + urea + 14
    assert osmolarity == pytest.approx(292.59, abs=0.01)


def test_check_flags_an_offset_on_the_canonical_unit() -> None:
    data = copy.deepcopy(load_json("units.json"))
    data["analytes"]["hba1c"]["conversions"][0]["offset"] = 1
    assert "units.json hba1c/%: canonical unit must have factor 1 and no offset" in check._units_problems(data)


def test_units_file_round_trips_as_written() -> None:
    raw = (PACKAGE / "data" / "units.json").read_text(encoding="utf-8")
    assert json.dumps(json.loads(raw), indent=1, ensure_ascii=False) + "\n" == raw
