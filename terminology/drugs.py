"""Medication matching: RxNorm ingredient > RxNorm product (SCD/SBD/SCDC -> ingredients) > ATC > name in text.

Data: ``data/drugs/ingredients.json`` (ingredients, classes, ATC class prefixes, brand and misspelled names) and
``data/drugs/products.json`` (product RXCUI -> ingredients, harvested from VSAC expansions and Synthea modules; see its
``sources``). Products include ingredient + strength codes (RxNorm TTY SCDC, e.g. 316672 "simvastatin 10 MG"), which
Synthea data of the SMART sandbox use: they match as ``rxnorm-product`` like a clinical drug.
Text is the last resort: it is searched only when no coding matched, for whole-word, case-insensitive occurrences
of every ingredient, salt, synonym, brand and known misspelling (dict lookups per word; ``text_regex()`` is the
equivalent precompiled alternation for callers that pre-filter).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from terminology import systems
from terminology._data import TerminologyDataError, load_json

# Classes of drugs that raise serum potassium (ACE inhibitors, ARBs, ARNI, MRAs and other potassium-sparing diuretics,
# trimethoprim, NSAIDs, heparins, calcineurin inhibitors, potassium supplements): a high potassium names them.
POTASSIUM_RAISING_CLASSES: tuple[str, ...] = (
    "ace-inhibitor", "arb", "arni", "mra", "potassium-sparing-diuretic", "trimethoprim", "nsaid", "heparin",
    "calcineurin-inhibitor", "potassium-supplement")

RXNORM_INGREDIENT = "rxnorm-ingredient"
RXNORM_PRODUCT = "rxnorm-product"
ATC_MATCH = "atc"
TEXT_MATCH = "text"
_RANK = {RXNORM_INGREDIENT: 0, RXNORM_PRODUCT: 1, ATC_MATCH: 2, TEXT_MATCH: 3}


@dataclass(frozen=True)
class Ingredient:
    """One active ingredient and what we know about it."""

    name: str
    display: str
    rxcui: str | None
    atc: str | None
    classes: frozenset[str]
    brands: tuple[str, ...]
    text_names: tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class DrugMatch:
    """An ingredient found in a medication, and how it was found (``evidence`` is card-ready text)."""

    ingredient: str
    rxcui: str | None
    classes: frozenset[str]
    matched_by: str
    evidence: str


@dataclass(frozen=True)
class Product:
    """A clinical or branded drug (SCD/SBD) or an ingredient + strength (SCDC) and its ingredients."""

    rxcui: str
    display: str
    tty: str
    ingredients: tuple[str, ...]
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Index:
    ingredients: dict[str, Ingredient]
    by_rxcui: dict[str, str]
    by_atc: dict[str, str]
    products: dict[str, Product]
    atc_prefixes: tuple[tuple[str, str], ...]
    classes: dict[str, str]
    text_names: dict[str, tuple[str, ...]]
    phrases: dict[str, tuple[tuple[str, ...], ...]]
    regex: re.Pattern[str]


def _text_key(text: str) -> str:
    """Lookup key of a name hit: lower case, hyphens and runs of whitespace as one space."""
    return " ".join(text.lower().replace("-", " ").split())


def _name_pattern(name: str) -> str:
    return r"[\s-]+".join(re.escape(part) for part in _text_key(name).split(" "))


def _ingredient(raw: dict[str, Any], classes: dict[str, str]) -> Ingredient:
    unknown = set(raw["classes"]) - set(classes)
    if unknown:
        raise TerminologyDataError(f"ingredient {raw['name']}: unknown classes {sorted(unknown)}")
    brands = tuple(raw.get("brands", [])) + tuple(raw.get("brands_extra", []))
    names = (raw["name"], *raw.get("salts", []), *raw.get("synonyms", []), *brands, *raw.get("misspellings", []))
    return Ingredient(name=raw["name"], display=raw["display"], rxcui=raw.get("rxcui"), atc=raw.get("atc"),
                      classes=frozenset(raw["classes"]), brands=brands, text_names=tuple(names),
                      source=raw.get("source", ""))


@functools.cache
def _index() -> _Index:
    ing_data = load_json("drugs", "ingredients.json")
    prod_data = load_json("drugs", "products.json")
    for name, data in (("ingredients.json", ing_data), ("products.json", prod_data)):
        if not data.get("provenance", {}).get("source"):
            raise TerminologyDataError(f"drugs/{name}: missing provenance")
    classes = dict(ing_data["classes"])
    ingredients = {raw["name"]: _ingredient(raw, classes) for raw in ing_data["ingredients"]}
    by_rxcui = {i.rxcui: i.name for i in ingredients.values() if i.rxcui}
    by_atc = {i.atc: i.name for i in ingredients.values() if i.atc}
    products = {}
    for raw in prod_data["products"]:
        missing = [name for name in raw["ingredients"] if name not in ingredients]
        if missing:
            raise TerminologyDataError(f"product {raw['rxcui']}: unknown ingredients {missing}")
        products[raw["rxcui"]] = Product(raw["rxcui"], raw["display"], raw["tty"], tuple(raw["ingredients"]),
                                         tuple(raw.get("sources", ())))
    prefixes = tuple(sorted(((a["prefix"], a["class"]) for a in ing_data["atc_classes"]), key=lambda p: -len(p[0])))
    text_names: dict[str, list[str]] = {}
    for ing in ingredients.values():
        for name in ing.text_names:
            text_names.setdefault(_text_key(name), []).append(ing.name)
    for combo in ing_data.get("combination_brands", []):
        text_names.setdefault(_text_key(combo["brand"]), []).extend(combo["ingredients"])
    ordered = sorted(text_names, key=len, reverse=True)  # longest first: "ethacrynic acid" before a shorter name
    regex = re.compile(r"(?<!\w)(?:" + "|".join(_name_pattern(n) for n in ordered) + r")(?!\w)", re.IGNORECASE)
    phrases: dict[str, list[tuple[str, ...]]] = {}
    for key in ordered:
        words = tuple(key.split(" "))
        phrases.setdefault(words[0], []).append(words)
    return _Index(ingredients=ingredients, by_rxcui=by_rxcui, by_atc=by_atc, products=products, atc_prefixes=prefixes,
                  classes=classes, text_names={k: tuple(dict.fromkeys(v)) for k, v in text_names.items()},
                  phrases={k: tuple(v) for k, v in phrases.items()}, regex=regex)


_WORD = re.compile(r"\w+")
_JOINER = re.compile(r"[\s-]+")


def _name_hits(index: _Index, text: str) -> Iterator[tuple[str, str]]:
    """``(name key, original text)`` for every whole-word name in ``text``, longest name first at each word.

    Same result as ``index.regex`` but by dict lookups on the words of the text: a word starts a candidate only when
    it is the first word of a known name, so free text without drug names costs one probe per word.
    """
    words = [(m.group(0).lower(), m.start(), m.end()) for m in _WORD.finditer(text)]
    i = 0
    while i < len(words):
        for phrase in index.phrases.get(words[i][0], ()):
            end = i + len(phrase)
            if end <= len(words) and all(
                words[j][0] == phrase[j - i] and (j == i or _JOINER.fullmatch(text, words[j - 1][2], words[j][1]))
                for j in range(i, end)
            ):
                yield " ".join(phrase), text[words[i][1]:words[end - 1][2]]
                i = end - 1
                break
        i += 1


class _Collector:
    """Keeps the best-ranked match per ingredient, in first-seen order."""

    def __init__(self, index: _Index) -> None:
        self.index = index
        self.found: dict[str, DrugMatch] = {}

    def add(self, name: str, matched_by: str, evidence: str, classes: frozenset[str] | None = None) -> None:
        ing = self.index.ingredients.get(name)
        match = DrugMatch(ingredient=name, rxcui=ing.rxcui if ing else None,
                          classes=classes if classes is not None else (ing.classes if ing else frozenset()),
                          matched_by=matched_by, evidence=evidence)
        current = self.found.get(name)
        if current is None or _RANK[matched_by] < _RANK[current.matched_by]:
            self.found[name] = match


def _match_coding(out: _Collector, system: str | None, code: str, display: str | None) -> None:
    index = out.index
    label = f" '{display.strip()}'" if display and display.strip() else ""
    if system == systems.RXNORM:
        if code in index.by_rxcui:
            out.add(index.by_rxcui[code], RXNORM_INGREDIENT, f"RxNorm ingredient {code}{label}")
        elif code in index.products:
            product = index.products[code]
            for name in product.ingredients:
                out.add(name, RXNORM_PRODUCT, f"RxNorm {product.tty} {code} '{product.display}' -> {name}")
    elif system == systems.ATC:
        atc = code.upper()
        if atc in index.by_atc:
            out.add(index.by_atc[atc], ATC_MATCH, f"ATC {atc}{label}")
            return
        classes = frozenset(cls for prefix, cls in index.atc_prefixes if atc.startswith(prefix))
        if not classes:
            return
        # Class known from the ATC group, ingredient code not verified: take the ingredient from the coding's
        # display when it names one of that class, else name the match by the display itself.
        named = [name for name in _names_in(index, display or "") if index.ingredients[name].classes & classes]
        if named:
            for name in named:
                out.add(name, ATC_MATCH, f"ATC {atc}{label} (class by ATC group)", index.ingredients[name].classes | classes)
        else:
            name = display.strip().lower() if display and display.strip() else f"ATC {atc}"
            out.add(name, ATC_MATCH, f"ATC {atc}{label} (class by ATC group)", classes)


def _names_in(index: _Index, text: str) -> list[str]:
    """Ingredient names found in ``text`` (whole words), in order of appearance."""
    found: list[str] = []
    for key, _ in _name_hits(index, text):
        found.extend(n for n in index.text_names[key] if n not in found)
    return found


def match(codings: Iterable[tuple[str | None, str | None, str | None]], texts: Iterable[str | None] = ()) -> list[DrugMatch]:
    """Ingredients of one medication from its codings ``(system, code, display)`` and free texts.

    Codes are tried first (ingredient RXCUI, product RXCUI -> every ingredient, ATC code or class); only when no
    coding matched are the coding displays and ``texts`` searched for names. One match per ingredient.
    """
    index = _index()
    out = _Collector(index)
    codings = list(codings)
    for system, code, display in codings:
        if code and code.strip():
            _match_coding(out, systems.canonical_system(system), code.strip(), display)
    if out.found:
        return list(out.found.values())
    for text in [display for _, _, display in codings] + list(texts):
        if not text:
            continue
        for key, original in _name_hits(index, text):
            for name in index.text_names[key]:
                out.add(name, TEXT_MATCH, f"matched by name '{original}'")
    return list(out.found.values())


def ingredient(name: str) -> Ingredient:
    """The ingredient called ``name`` (case-insensitive); raises KeyError when unknown."""
    found = _index().ingredients.get(name.strip().lower())
    if found is None:
        raise KeyError(f"unknown ingredient {name!r}")
    return found


def ingredients() -> list[Ingredient]:
    """Every known ingredient, in data-file order."""
    return list(_index().ingredients.values())


def product(rxcui: str) -> Product | None:
    """The SCD/SBD/SCDC with this RXCUI, if it is in the product table."""
    return _index().products.get(rxcui.strip())


def classes() -> dict[str, str]:
    """Drug class id -> description (the closed list of the architecture contract)."""
    return dict(_index().classes)


def raises_potassium(match: DrugMatch) -> bool:
    """True when the matched ingredient belongs to a potassium-raising class (``POTASSIUM_RAISING_CLASSES``)."""
    return any(cls in match.classes for cls in POTASSIUM_RAISING_CLASSES)


def ingredients_in_class(drug_class: str) -> list[str]:
    """Names of the ingredients in ``drug_class``."""
    return [i.name for i in _index().ingredients.values() if drug_class in i.classes]


def known_codes() -> frozenset[tuple[str, str]]:
    """Every (system, code) that ``match`` resolves without text: ingredient and product RXCUIs, ingredient ATC codes."""
    index = _index()
    codes = {(systems.RXNORM, c) for c in index.by_rxcui} | {(systems.RXNORM, c) for c in index.products}
    return frozenset(codes | {(systems.ATC, c) for c in index.by_atc})


def text_regex() -> re.Pattern[str]:
    """The compiled name alternation, for a cheap pre-filter on free text."""
    return _index().regex
