"""Audit of the terminology data files (``leg-pain-cds terminology check`` and the test suite call this)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from importlib import resources
from typing import Any

from terminology import systems, valuesets
from terminology._data import TerminologyDataError, list_json, load_json
from terminology.units import normalize_unit

# Verification tags: where a code and its display were seen (README.md "Verification tags"). UNVERIFIED codes are left
# out of the data, so that tag is not here.
TAG_SOURCES: dict[str, str] = {
    "VSAC": "VSAC value-set expansion (value set name + OID), as shipped in cqframework/ecqm-content-r4, -qicore-2024, "
            "-qicore-2025 (input/vocabulary/valueset/external/valueset-<OID>.json) or packaged from an eCQM update",
    "NLM": "NLM Lister Hill Center table LHNCBC/flowsheet-lhc src/stores/h17.js (LOINC code + long common name)",
    "MII": "medizininformatik-initiative/loincsnomed-lab-concepts terminology-server output "
           "(LOINC code + long common name)",
    "MIR": "miracum/loinc-conversion data/conversion.tsv (mass/molar LOINC pair + factor)",
    "SYN": "Synthea module synthetichealth/synthea src/main/resources/modules/... (path and commit given)",
    "VA": "VA VistA IB encounter-form data (^UTILITY(U,$J,358.3,...) entries: ICD-10-CM code + description)",
    "CMS": "CMS ACCESS Model FHIR IG value sets (DSACMS/cmmi-access-model, ACCESSMSK / CKM diagnosis value sets)",
    "HL7": "HL7 artifact (FHIR R4 core example, HL7 Terminology, CDS Hooks, an HL7 implementation guide)",
    "RXNAV": "NLM RxNav REST response (RXCUI, name, TTY and resolved ingredient) recorded in a public repository",
    "C": "corroborated only by third-party public code or data: not authoritative",
}
ALLOWED_TAGS = frozenset(TAG_SOURCES)
ATC_PREFIX_TAGS = ALLOWED_TAGS | {"UNVERIFIED"}  # ATC class prefixes are kept with their tag (see ingredients.json)
LAB_PROPERTIES = frozenset({"mass", "molar", "mass-or-molar", "catalytic", "osmolality", "fraction", "arbitrary",
                            "rate", "ratio"})
# The closed class list of docs/architecture.md (terminology.drugs); the last row holds the potassium-raising classes
# (terminology.drugs.POTASSIUM_RAISING_CLASSES, with potassium-sparing-diuretic).
CONTRACT_CLASSES = frozenset({
    "loop-diuretic", "thiazide-diuretic", "potassium-sparing-diuretic", "statin", "fibrate", "beta2-agonist",
    "vinca-alkaloid", "antipsychotic", "d2-antagonist-antiemetic", "sedating-antihistamine", "ssri", "snri",
    "mirtazapine", "strong-cyp3a4-inhibitor", "ppi", "iron-supplement",
    "dopamine-agonist", "alpha2delta-ligand",  # RLS therapy named by the restless-legs card (AASM 2024)
    "ace-inhibitor", "arb", "arni", "mra", "trimethoprim", "nsaid", "heparin", "calcineurin-inhibitor",
    "potassium-supplement"})
# An ingredient + strength without dose form, as RxNorm names an SCDC ("simvastatin 10 MG").
_SCDC_DISPLAY = re.compile(r"[a-z][a-z ,-]*? \d+(?:\.\d+)? (?:MG|MCG|MEQ|UNT|MG/ML|MEQ/ML)", re.IGNORECASE)
# Text no file of the package may contain: the product cites primary sources only (spelled in two parts so that this
# file does not contain it itself).
FORBIDDEN_TEXT = ("clinical" + "-reference", "shared" + "/")


def _value_set_problems(slug: str, resource: dict[str, Any]) -> list[str]:
    where = f"valuesets/{slug}.json"
    problems = [f"{where}: {p}" for p in valuesets.provenance_problems(resource)]
    if resource.get("url") != f"urn:leg-pain-cds:valueset:{slug}":
        problems.append(f"{where}: url does not match the file name")
    keys: Counter[tuple[str | None, str | None]] = Counter()
    for entry in resource.get("expansion", {}).get("contains", []):
        system, code = entry.get("system"), entry.get("code")
        keys[(system, systems.normalize_code(system, code))] += 1
        if system not in systems.KNOWN_SYSTEMS:
            problems.append(f"{where}: unknown system {system!r} for code {code}")
        if not code or not str(code).strip():
            problems.append(f"{where}: entry without code")
        if not entry.get("display"):
            problems.append(f"{where}: code {code} has no display")
        for ext in entry.get("extension", []):
            if ext.get("url") == valuesets.SOURCE_TAG_URL and ext.get("valueString") not in ALLOWED_TAGS:
                problems.append(f"{where}: code {code} has tag {ext.get('valueString')!r} (allowed {sorted(ALLOWED_TAGS)})")
            if ext.get("url") == valuesets.PROPERTY_URL and ext.get("valueCode") not in LAB_PROPERTIES:
                problems.append(f"{where}: code {code} has unknown property {ext.get('valueCode')!r}")
            if ext.get("url") == valuesets.DESCENDANTS_URL and system != systems.ICD10CM:
                problems.append(f"{where}: include-descendants on non-ICD-10-CM code {code}")
        if slug.startswith("lab-") and not any(e.get("url") == valuesets.PROPERTY_URL for e in entry.get("extension", [])):
            problems.append(f"{where}: lab code {code} has no property")
    problems += [f"{where}: code {code} listed {n} times" for (_, code), n in keys.items() if n > 1]
    patterns = [e.get("valueString") for e in resource.get("extension", []) if e.get("url") == valuesets.TEXT_PATTERN_URL]
    for pattern in patterns:
        try:
            re.compile(str(pattern))
        except re.error as err:
            problems.append(f"{where}: text pattern {pattern!r} does not compile: {err}")
    if slug.startswith("cond-") and not patterns:
        problems.append(f"{where}: condition value set without text patterns")
    if not keys:
        problems.append(f"{where}: empty expansion")
    return problems


def _lab_problems(slugs: list[str], unit_spec: dict[str, Any]) -> list[str]:
    owner: dict[tuple[str, str], str] = {}
    problems = []
    labs = [s for s in slugs if s.startswith("lab-")]
    for slug in labs:
        for entry in load_json("valuesets", f"{slug}.json").get("expansion", {}).get("contains", []):
            key = (entry.get("system"), entry.get("code"))
            if key in owner:
                problems.append(f"lab code {key[1]} is in both {owner[key]} and {slug}")
            owner[key] = slug
    analytes = {s[len("lab-"):] for s in labs}
    problems += [f"analyte {a} has no entry in units.json" for a in sorted(analytes - set(unit_spec))]
    problems += [f"units.json analyte {a} has no lab-{a} value set" for a in sorted(set(unit_spec) - analytes)]
    return problems


def _units_problems(data: dict[str, Any]) -> list[str]:
    problems = [] if data.get("provenance", {}).get("source") else ["units.json: missing provenance"]
    for analyte, spec in data.get("analytes", {}).items():
        seen: set[str] = set()
        canonical = normalize_unit(str(spec.get("canonical", "")))
        for conv in spec.get("conversions", []):
            where = f"units.json {analyte}/{conv.get('unit')}"
            key = normalize_unit(str(conv.get("unit", "")))
            if key in seen:
                problems.append(f"{where}: listed twice (after normalisation)")
            seen.add(key)
            if not conv.get("source"):
                problems.append(f"{where}: factor has no source")
            factors = [conv[k] for k in ("multiply", "divide") if k in conv]
            offset = conv.get("offset", 0)
            if len(factors) != 1 or not isinstance(factors[0], (int, float)) or factors[0] <= 0:
                problems.append(f"{where}: need exactly one positive multiply/divide")
            elif key == canonical and (factors[0] != 1 or offset != 0):
                problems.append(f"{where}: canonical unit must have factor 1 and no offset")
            if not isinstance(offset, (int, float)) or isinstance(offset, bool):
                problems.append(f"{where}: offset must be a number")
        if canonical not in seen:
            problems.append(f"units.json {analyte}: canonical unit {spec.get('canonical')!r} not among its conversions")
    return problems


def _mentions(display: str, names: Iterable[str]) -> bool:
    text = display.lower()
    return any(re.search(rf"(?<!\w){re.escape(n.lower())}(?!\w)", text) for n in names)


def _tty_of(display: str) -> str:
    """SBD (brand in brackets), SCDC (ingredient + strength, no dose form) or SCD."""
    if "[" in display:
        return "SBD"
    return "SCDC" if _SCDC_DISPLAY.fullmatch(display.strip()) else "SCD"


def _drug_problems(ing_data: dict[str, Any], prod_data: dict[str, Any]) -> list[str]:
    problems = []
    for name, data in (("ingredients.json", ing_data), ("products.json", prod_data)):
        prov = data.get("provenance", {})
        if not (prov.get("source") and prov.get("harvest_date") and prov.get("harvested_by")):
            problems.append(f"drugs/{name}: provenance needs source, harvest_date and harvested_by")
    classes = set(ing_data.get("classes", {}))
    if classes != CONTRACT_CLASSES:
        problems.append(f"drugs: class list differs from the contract: {sorted(classes ^ CONTRACT_CLASSES)}")
    ingredients = {}
    rxcuis: Counter[str] = Counter()
    for ing in ing_data.get("ingredients", []):
        name = ing.get("name", "")
        where = f"ingredient {name!r}"
        if name in ingredients or name != name.lower() or not name:
            problems.append(f"{where}: names must be unique, non-empty and lower case")
        ingredients[name] = ing
        if not ing.get("display") or not ing.get("source"):
            problems.append(f"{where}: needs display and source")
        problems += [f"{where}: unknown class {c!r}" for c in ing.get("classes", []) if c not in classes]
        for field, tag in (("rxcui", "rxcui_tag"), ("atc", "atc_tag")):
            if ing.get(field) and ing.get(tag) not in ALLOWED_TAGS:
                problems.append(f"{where}: {field} {ing[field]} without an allowed tag ({ing.get(tag)!r})")
        if ing.get("rxcui"):
            rxcuis[ing["rxcui"]] += 1
    for atc in ing_data.get("atc_classes", []):
        if atc.get("class") not in classes or atc.get("tag") not in ATC_PREFIX_TAGS or not atc.get("source"):
            problems.append(f"ATC class prefix {atc.get('prefix')}: needs a known class, a tag and a source")
    for combo in ing_data.get("combination_brands", []):
        problems += [f"combination brand {combo.get('brand')}: unknown ingredient {n!r}"
                     for n in combo.get("ingredients", []) if n not in ingredients]
    sources = prod_data.get("sources", {})
    for key, src in sources.items():
        if not (src.get("name") and (src.get("oid") or src.get("repository") or src.get("artifact"))):
            problems.append(f"products.json source {key}: needs a name and an OID, repository or artifact")
    for prod in prod_data.get("products", []):
        where = f"product {prod.get('rxcui')}"
        rxcuis[prod.get("rxcui", "")] += 1
        if not prod.get("display") or prod.get("tag") not in ALLOWED_TAGS:
            problems.append(f"{where}: needs display and an allowed tag")
        if prod.get("tty") != _tty_of(prod.get("display", "")):
            problems.append(f"{where}: tty {prod.get('tty')!r} does not fit its display")
        problems += [f"{where}: unknown source {s!r}" for s in prod.get("sources", []) if s not in sources]
        if not prod.get("sources"):
            problems.append(f"{where}: no source value set")
        if not prod.get("ingredients"):
            problems.append(f"{where}: no ingredients")
        for name in prod.get("ingredients", []):
            ing = ingredients.get(name)
            if ing is None:
                problems.append(f"{where}: unknown ingredient {name!r}")
            elif not _mentions(prod.get("display", ""), [name, *ing.get("salts", []), *ing.get("synonyms", [])]):
                problems.append(f"{where}: display {prod.get('display')!r} does not name ingredient {name!r}")
    problems += [f"RXCUI {code} is used {n} times" for code, n in rxcuis.items() if n > 1]
    return problems


def check_data(required_valuesets: Iterable[str] = ()) -> list[str]:
    """Problems found in the data files (empty list = fine).

    :param required_valuesets: slugs the caller relies on (e.g. every slug a rule references); each must exist.
    """
    problems: list[str] = []
    slugs = list_json("valuesets")
    problems += [f"required value set {s!r} is missing" for s in required_valuesets if s not in slugs]
    for slug in slugs:
        try:
            problems += _value_set_problems(slug, load_json("valuesets", f"{slug}.json"))
        except TerminologyDataError as err:
            problems.append(str(err))
    try:
        unit_data = load_json("units.json")
        problems += _units_problems(unit_data)
        problems += _lab_problems(slugs, unit_data.get("analytes", {}))
    except TerminologyDataError as err:
        problems.append(str(err))
    try:
        problems += _drug_problems(load_json("drugs", "ingredients.json"), load_json("drugs", "products.json"))
    except TerminologyDataError as err:
        problems.append(str(err))
    extra = sorted(set(list_json()) - {"units"})
    problems += [f"unexpected data file {name}.json" for name in extra]
    problems += forbidden_text_problems()
    return problems


def forbidden_text_problems() -> list[str]:
    """Files of the package (code, data, README) that cite a document outside the project (``FORBIDDEN_TEXT``)."""
    problems = []
    root = resources.files("terminology")
    pending = [root]
    while pending:
        node = pending.pop()
        for child in node.iterdir():
            if child.is_dir():
                if child.name != "__pycache__":
                    pending.append(child)
            elif child.name.endswith((".py", ".json", ".md")):
                text = child.read_text(encoding="utf-8").lower()
                problems += [f"{child.name}: mentions {word!r}" for word in FORBIDDEN_TEXT if word in text]
    return problems
