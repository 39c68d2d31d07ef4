"""Drug matching (interim; the terminology branch replaces this file)."""
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


_ING = {"furosemide": ("4603", "loop-diuretic"), "bumetanide": ("1808", "loop-diuretic"),
        "hydrochlorothiazide": ("5487", "thiazide-diuretic"), "chlorthalidone": ("2409", "thiazide-diuretic"),
        "atorvastatin": ("83367", "statin"), "simvastatin": ("36567", "statin"), "rosuvastatin": ("301542", "statin"),
        "gemfibrozil": ("4719", "fibrate"), "clarithromycin": ("21212", "strong-cyp3a4-inhibitor"),
        # INTERIM additions for the order-time checks (codes from clinical-reference.md §3.2, all [VSAC]); the
        # terminology branch's data-driven package replaces this whole module.
        "pravastatin": ("42463", "statin"), "lovastatin": ("6472", "statin"),
        "itraconazole": ("28031", "strong-cyp3a4-inhibitor"), "albuterol": ("435", "beta2-agonist"),
        "haloperidol": ("5093", "antipsychotic"), "quetiapine": ("51272", "antipsychotic"),
        "metoclopramide": ("6915", "d2-antagonist-antiemetic"),
        "diphenhydramine": ("3498", "sedating-antihistamine"), "sertraline": ("36437", "ssri"),
        "citalopram": ("2556", "ssri"), "venlafaxine": ("39786", "snri"), "mirtazapine": ("15996", "mirtazapine"),
        "spironolactone": ("9997", "potassium-sparing-diuretic"), "triamterene": ("10763", "potassium-sparing-diuretic")}
_PRODUCTS = {"313988": ["furosemide"], "310429": ["furosemide"], "310798": ["hydrochlorothiazide"],
             "617312": ["atorvastatin"], "617314": ["atorvastatin"], "312961": ["simvastatin"],
             # INTERIM (clinical-reference.md §3.3, [VSAC]/[SYN]).
             "197418": ["bumetanide"], "197499": ["chlorthalidone"], "198211": ["simvastatin"],
             "904475": ["pravastatin"], "859747": ["rosuvastatin"], "197517": ["clarithromycin"],
             "745752": ["albuterol"], "312744": ["quetiapine"], "312941": ["sertraline"],
             "311725": ["mirtazapine"], "1049630": ["diphenhydramine"], "313096": ["spironolactone"],
             "310812": ["hydrochlorothiazide", "triamterene"]}
_BY_CUI = {cui: name for name, (cui, _) in _ING.items()}
_RX = re.compile(r"\b(" + "|".join(_ING) + r"|lasix)\b", re.I)


def _m(name: str, how: str, ev: str) -> DrugMatch:
    cui, cls = _ING[name]
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
            name = found.group(1).lower()
            return [_m("furosemide" if name == "lasix" else name, "text", found.group(0))]
    return []


def known_codes() -> frozenset[tuple[str, str]]:
    return frozenset((RXNORM, c) for c in list(_BY_CUI) + list(_PRODUCTS))


def text_regex() -> re.Pattern[str]:
    return _RX
