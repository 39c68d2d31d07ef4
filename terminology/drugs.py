"""Drug matching (INTERIM stub: the terminology branch replaces this file wholesale with data files).

RxNorm ingredient and product codes from clinical-reference.md §3.2/§3.3; PPIs and iron salts have no verified
RXCUI there, so they match by name only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from terminology.systems import RXNORM


@dataclass(frozen=True)
class DrugMatch:
    ingredient: str
    rxcui: str | None
    classes: frozenset[str]
    matched_by: str
    evidence: str


# ingredient -> (RXCUI or None, class, brand names)
_ING: dict[str, tuple[str | None, str, tuple[str, ...]]] = {
    "furosemide": ("4603", "loop-diuretic", ("lasix",)), "bumetanide": ("1808", "loop-diuretic", ()),
    "hydrochlorothiazide": ("5487", "thiazide-diuretic", ()), "chlorthalidone": ("2409", "thiazide-diuretic", ()),
    "atorvastatin": ("83367", "statin", ()), "simvastatin": ("36567", "statin", ()),
    "rosuvastatin": ("301542", "statin", ()), "gemfibrozil": ("4719", "fibrate", ()),
    "clarithromycin": ("21212", "strong-cyp3a4-inhibitor", ()),
    "albuterol": ("435", "beta2-agonist", ("proair", "ventolin", "salbutamol")),
    "levalbuterol": ("237159", "beta2-agonist", ("xopenex",)), "salmeterol": ("36117", "beta2-agonist", ()),
    "formoterol": ("25255", "beta2-agonist", ()), "terbutaline": ("10368", "beta2-agonist", ()),
    "vincristine": (None, "vinca-alkaloid", ()),  # ingredient RXCUI 11202 is UNVERIFIED (§3.2)
    "haloperidol": ("5093", "antipsychotic", ("haldol",)), "olanzapine": ("61381", "antipsychotic", ("zyprexa",)),
    "quetiapine": ("51272", "antipsychotic", ("seroquel",)), "risperidone": ("35636", "antipsychotic", ("risperdal",)),
    "metoclopramide": ("6915", "d2-antagonist-antiemetic", ("reglan",)),
    "diphenhydramine": ("3498", "sedating-antihistamine", ("benadryl",)),
    "fluoxetine": ("4493", "ssri", ()), "sertraline": ("36437", "ssri", ()), "paroxetine": ("32937", "ssri", ()),
    "citalopram": ("2556", "ssri", ()), "escitalopram": ("321988", "ssri", ()),
    "venlafaxine": ("39786", "snri", ()), "duloxetine": ("72625", "snri", ()),
    "mirtazapine": ("15996", "mirtazapine", ()),
    "omeprazole": (None, "ppi", ()), "pantoprazole": (None, "ppi", ()), "esomeprazole": (None, "ppi", ()),
    "lansoprazole": (None, "ppi", ()),
    "ferrous sulfate": (None, "iron-supplement", ()),
}
_PRODUCTS = {"313988": ["furosemide"], "310429": ["furosemide"], "310798": ["hydrochlorothiazide"],
             "617312": ["atorvastatin"], "617314": ["atorvastatin"], "312961": ["simvastatin"],
             "745752": ["albuterol"], "1863343": ["vincristine"], "312744": ["quetiapine"],
             "310671": ["haloperidol"], "1049630": ["diphenhydramine"], "312941": ["sertraline"],
             "310385": ["fluoxetine"], "596926": ["duloxetine"], "311725": ["mirtazapine"]}
_BY_CUI = {cui: name for name, (cui, _, _) in _ING.items() if cui}
_NAMES = {n: name for name, (_, _, brands) in _ING.items() for n in (name, *brands)}
_RX = re.compile(r"\b(" + "|".join(sorted(_NAMES, key=len, reverse=True)) + r")\b", re.I)


def _m(name: str, how: str, ev: str) -> DrugMatch:
    cui, cls, _ = _ING[name]
    return DrugMatch(name, cui, frozenset({cls}), how, ev)


def match(codings: Iterable[tuple[str | None, str | None, str | None]], texts: Iterable[str]) -> list[DrugMatch]:
    codings = list(codings)
    for system, code, _ in codings:
        if system == RXNORM and code in _BY_CUI:
            return [_m(_BY_CUI[code], "rxnorm-ingredient", code)]
        if system == RXNORM and code in _PRODUCTS:
            return [_m(n, "rxnorm-product", code) for n in _PRODUCTS[code]]
    for text in [d for _, _, d in codings if d] + list(texts):
        found = _RX.search(text or "")
        if found:
            return [_m(_NAMES[found.group(1).lower()], "text", found.group(0))]
    return []


def known_codes() -> frozenset[tuple[str, str]]:
    return frozenset((RXNORM, c) for c in list(_BY_CUI) + list(_PRODUCTS))


def text_regex() -> re.Pattern[str]:
    return _RX
