"""Medication matching: ingredient and product RxNorm codes, ATC, names in text, and no false positives."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from hypothesis import assume, given, strategies as st

from terminology import drugs, systems
from terminology._data import load_json

RX, ATC = systems.RXNORM, systems.ATC


def _one(codings: Iterable[tuple[str | None, str | None, str | None]] = (), texts: Iterable[str] = ()) -> drugs.DrugMatch:
    found = drugs.match(codings, texts)
    assert len(found) == 1, found
    return found[0]


def test_scd_maps_to_ingredient() -> None:
    m = _one([(RX, "313988", "furosemide 40 MG Oral Tablet")])
    assert (m.ingredient, m.rxcui, m.matched_by) == ("furosemide", "4603", "rxnorm-product")
    assert m.classes == {"loop-diuretic"}
    assert "313988" in m.evidence and "furosemide 40 MG Oral Tablet" in m.evidence


def test_product_display_comes_from_the_table_not_the_sender() -> None:
    # Public samples label 310429 "furosemide 40 mg"; the VSAC Diuretics expansion says 20 MG.
    m = _one([(RX, "310429", "Furosemide 40 mg tablet")])
    assert m.ingredient == "furosemide" and "furosemide 20 MG Oral Tablet" in m.evidence


def test_sbd_maps_to_ingredient() -> None:
    m = _one([(RX, "617314", None)])
    assert (m.ingredient, m.matched_by, m.classes) == ("atorvastatin", "rxnorm-product", frozenset({"statin"}))
    assert "SBD" in m.evidence and "[Lipitor]" in m.evidence


def test_combination_product_yields_one_match_per_ingredient() -> None:
    found = {m.ingredient: m for m in drugs.match([(RX, "597980", None)])}
    assert set(found) == {"amlodipine", "atorvastatin"}
    assert found["atorvastatin"].classes == {"statin"} and found["amlodipine"].classes == frozenset()
    both = {m.ingredient: m.classes for m in drugs.match([(RX, "310812", None)])}
    assert both == {"hydrochlorothiazide": {"thiazide-diuretic"}, "triamterene": {"potassium-sparing-diuretic"}}


def test_harvested_products_from_each_value_set() -> None:
    assert _one([(RX, "2589881", None)]).ingredient == "torsemide"          # Diuretics 2024 expansion
    assert {m.ingredient for m in drugs.match([(RX, "1422099", None)])} == {"atorvastatin", "ezetimibe"}
    assert {m.ingredient for m in drugs.match([(RX, "403969", None)])} == {"fluoxetine", "olanzapine"}
    assert _one([(RX, "283406", None)]).classes == {"mirtazapine"}
    assert _one([(RX, "1738495", None)]).ingredient == "paroxetine"          # paroxetine hydrochloride salt


def test_triple_combination_and_provenance_of_harvested_products() -> None:
    found = {m.ingredient: m.classes for m in drugs.match([(RX, "848140", None)])}
    assert found == {"amlodipine": frozenset(), "hydrochlorothiazide": {"thiazide-diuretic"}, "valsartan": {"arb"}}
    product = drugs.product("313988")
    assert product is not None and "diuretics" in product.sources
    sources = load_json("drugs", "products.json")["sources"]
    assert sources["diuretics"]["oid"] == "2.16.840.1.113762.1.4.1248.170"
    assert sources["statin-grouper"]["oid"] == "2.16.840.1.113762.1.4.1110.19"


def test_ingredient_code_wins_and_deduplicates() -> None:
    m = _one([(RX, "313988", None), (RX, "4603", "furosemide")])
    assert m.matched_by == "rxnorm-ingredient" and m.evidence == "RxNorm ingredient 4603 'furosemide'"


def test_rxnorm_by_oid_and_padded_code() -> None:
    assert _one([("urn:oid:2.16.840.1.113883.6.88", " 313988 ", None)]).ingredient == "furosemide"


def test_atc_code_and_atc_class() -> None:
    m = _one([(ATC, "C03CA01", "furosemide")])
    assert (m.ingredient, m.matched_by) == ("furosemide", "atc")
    # C10AA05 is not a verified ingredient code here, but C10AA is the statin class.
    m = _one([(ATC, "c10aa05", "Atorvastatin 20 mg")])
    assert (m.ingredient, m.classes, m.rxcui, m.matched_by) == ("atorvastatin", frozenset({"statin"}), "83367", "atc")
    assert "class by ATC group" in m.evidence
    m = _one([(ATC, "C10AA99", "some new statin")])  # class only: named by its display
    assert (m.ingredient, m.classes, m.rxcui) == ("some new statin", frozenset({"statin"}), None)
    m = _one([(ATC, "C10AA99", "Lasix")])  # a display naming a drug of another class is not trusted
    assert (m.ingredient, m.classes) == ("lasix", frozenset({"statin"}))
    assert _one([(ATC, "N05AH03", None)]).classes == {"antipsychotic"}
    assert drugs.match([(ATC, "A10BB01", "glibenclamide")]) == []  # no class, no known ingredient


@pytest.mark.parametrize(("text", "ingredient", "evidence"), [
    ("Lasix 40 mg", "furosemide", "matched by name 'Lasix'"),
    ("LASIX 40MG TAB", "furosemide", "matched by name 'LASIX'"),
    ("Simvistatin 20mg", "simvastatin", "matched by name 'Simvistatin'"),
    ("HCTZ 25 mg daily", "hydrochlorothiazide", "matched by name 'HCTZ'"),
    ("ethacrynic  acid 25 mg", "ethacrynic acid", "matched by name 'ethacrynic  acid'"),
    ("Chlor-Trimeton allergy", "chlorpheniramine", "matched by name 'Chlor-Trimeton'"),
    ("salbutamol inhaler", "albuterol", "matched by name 'salbutamol'"),
    ("omeprazole 20 mg", "omeprazole", "matched by name 'omeprazole'"),
    ("Ferrous sulfate 325 mg", "ferrous sulfate", "matched by name 'Ferrous sulfate'"),
])
def test_text_only_names(text: str, ingredient: str, evidence: str) -> None:
    m = _one(texts=[text])
    assert (m.ingredient, m.matched_by, m.evidence) == (ingredient, "text", evidence)


def test_text_classes_for_ppi_and_iron() -> None:
    assert _one(texts=["Protonix 40"]).classes == {"ppi"}
    assert _one(texts=["Venofer infusion"]).classes == {"iron-supplement"}


def test_display_of_an_unknown_code_is_searched() -> None:
    m = _one([(RX, "999999999", "simvastatin 40 MG Oral Tablet [Zocor]")])
    assert (m.ingredient, m.matched_by) == ("simvastatin", "text")


def test_combination_brand_name() -> None:
    assert {m.ingredient for m in drugs.match([], ["Dyazide 37.5/25"])} == {"hydrochlorothiazide", "triamterene"}


def test_codes_take_precedence_over_text() -> None:
    m = _one([(RX, "313988", None)], ["Lipitor 10 mg"])
    assert m.ingredient == "furosemide"


@pytest.mark.parametrize("text", [
    "Lasixx", "prosimvastatinol", "Zocorian", "metforminlasix", "superHCTZ", "Crestorx 10", "pre-Lasix2",
    "iron studies", "hct 40%", "", "Benadryll",
])
def test_no_false_positive_for_words_containing_a_drug_name(text: str) -> None:
    assert drugs.match([], [text]) == []


def test_ingredient_lookup() -> None:
    furo = drugs.ingredient("Furosemide")
    assert (furo.rxcui, furo.atc, furo.classes) == ("4603", "C03CA01", frozenset({"loop-diuretic"}))
    assert "Lasix" in furo.brands
    assert drugs.ingredient("bumetanide").rxcui is None  # 1808 not verified in a named source: left out
    with pytest.raises(KeyError):
        drugs.ingredient("unobtainium")


def test_known_codes_and_regex() -> None:
    codes = drugs.known_codes()
    assert {(RX, "313988"), (RX, "4603"), (ATC, "C03CA01")} <= codes
    assert drugs.text_regex().search("on Lasix") and not drugs.text_regex().search("Lasixx")
    assert set(drugs.ingredients_in_class("statin")) >= {"atorvastatin", "simvastatin", "rosuvastatin", "pravastatin"}
    assert set(drugs.classes()) == {
        "loop-diuretic", "thiazide-diuretic", "potassium-sparing-diuretic", "statin", "fibrate", "beta2-agonist",
        "vinca-alkaloid", "antipsychotic", "d2-antagonist-antiemetic", "sedating-antihistamine", "ssri", "snri",
        "mirtazapine", "strong-cyp3a4-inhibitor", "ppi", "iron-supplement",
        "dopamine-agonist", "alpha2delta-ligand",
        "ace-inhibitor", "arb", "arni", "mra", "trimethoprim", "nsaid", "heparin", "calcineurin-inhibitor",
        "potassium-supplement"}


def test_every_product_resolves_to_its_ingredients() -> None:
    for code, _ in filter(lambda c: c[0] == RX, drugs.known_codes()):
        product = drugs.product(code)
        if product is not None:
            assert [m.ingredient for m in drugs.match([(RX, code, None)])] == list(product.ingredients)


NAMES = sorted({n for i in drugs.ingredients() for n in i.text_names})


@given(name=st.sampled_from(NAMES), affix=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=4),
       before=st.booleans())
def test_a_name_glued_to_other_letters_never_matches(name: str, affix: str, before: bool) -> None:
    word = affix + name if before else name + affix
    assume(drugs._text_key(word) not in drugs._index().text_names)
    found = drugs.match([], [f"take {word} daily"])
    if " " in name or "-" in name:  # "diphenhydramine hydrochloridex" still names diphenhydramine, as a whole word
        assert all(m.evidence != f"matched by name '{name}'" for m in found)
    else:
        assert found == []


@given(st.text(max_size=200))
def test_match_never_raises_on_arbitrary_text(text: str) -> None:
    for m in drugs.match([(None, text, text)], [text]):
        assert m.matched_by == "text"


WORDS = st.sampled_from(NAMES + ["daily", "mg", "20", "tab", "x", "acid", "sulfate", "hydrochloride", "Fe", "slow"])
SEPARATORS = st.sampled_from([" ", "  ", "-", ", ", "/", "(", ") ", "\n"])


@given(parts=st.lists(st.tuples(WORDS, SEPARATORS), max_size=8))
def test_word_lookup_agrees_with_the_published_regex(parts: list[tuple[str, str]]) -> None:
    # match() finds names by dict lookups per word; text_regex() is the same rule as one alternation.
    text = "".join(word + sep for word, sep in parts)
    by_regex = [drugs._text_key(m.group(0)) for m in drugs.text_regex().finditer(text)]
    by_words = [key for key, _ in drugs._name_hits(drugs._index(), text)]
    assert by_words == by_regex
