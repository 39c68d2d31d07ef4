"""What the rules reference in the terminology: value sets, analytes, drug classes and ingredients.

Collected from the Rule declarations and, so that nothing slips through, from the rule code itself (string
literals naming a value set, and the first argument of facts.latest/results/medications/... calls).
Used by `leg-pain-cds terminology check`.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from terminology import analytes as lab_analytes
from terminology import drugs, valuesets

from cards import registry

_SLUG = re.compile(r"cond-[a-z0-9]+(?:-[a-z0-9]+)*")
_ANALYTE_CALLS = {"latest", "results", "older_than"}
_CLASS_CALLS = {"medications"}


@dataclass
class References:
    valuesets: set[str] = field(default_factory=set)
    analytes: set[str] = field(default_factory=set)
    drug_classes: set[str] = field(default_factory=set)
    ingredients: set[str] = field(default_factory=set)


def collect() -> References:
    refs = References()
    for rule in registry.all_rules():
        refs.valuesets.update(rule.valuesets)
        refs.analytes.update(rule.analytes)
        refs.drug_classes.update(rule.drug_classes)
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        _scan(ast.parse(path.read_text(encoding="utf-8")), refs)
    return refs


def _scan(tree: ast.AST, refs: References) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _SLUG.fullmatch(node.value):
            refs.valuesets.add(node.value)
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args):
            continue
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        if node.func.attr in _ANALYTE_CALLS:
            refs.analytes.add(first.value)
        elif node.func.attr in _CLASS_CALLS:
            refs.drug_classes.add(first.value)
        elif node.func.attr == "conditions":
            refs.valuesets.add(first.value)
        for kw in node.keywords:
            if kw.arg == "ingredient" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                refs.ingredients.add(kw.value.value)


def problems() -> list[str]:
    """References that the terminology data cannot satisfy."""
    refs = collect()
    found: list[str] = []
    known_slugs = set(valuesets.slugs())
    found += [f"rules reference value set {s!r}, which does not exist" for s in sorted(refs.valuesets - known_slugs)]
    known_analytes = set(lab_analytes.ANALYTES)
    found += [f"rules read analyte {a!r}, which has no lab value set" for a in sorted(refs.analytes - known_analytes)]
    known_classes = set(drugs.classes())
    found += [f"rules use drug class {c!r}, which is not defined" for c in sorted(refs.drug_classes - known_classes)]
    known_ingredients = {i.name for i in drugs.ingredients()}
    found += [f"rules name ingredient {i!r}, which is not defined" for i in sorted(refs.ingredients - known_ingredients)]
    for service in registry.services():
        template = service.prefetch.get("observations", "")
        for analyte in service.analytes:
            if analyte in known_analytes and not any(f"|{c}" in template for c in lab_analytes.loinc_codes(analyte)):
                found.append(f"service {service.id}: no code of analyte {analyte!r} in the observations prefetch")
    return found
