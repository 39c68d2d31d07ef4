"""Value sets (INTERIM stub: the terminology branch replaces this file wholesale with data files).

Condition codes are from clinical-reference.md §4 (verified tags there; UNVERIFIED ones left out).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from terminology.systems import ICD10CM, SNOMED


@dataclass(frozen=True)
class ValueSet:
    slug: str
    url: str
    version: str
    codes: frozenset[tuple[str, str]]
    pattern: str | None = None

    def contains(self, system: str | None, code: str | None) -> bool:
        if system == ICD10CM and code:
            code = code.upper()
            if "." not in code and len(code) > 3:
                code = code[:3] + "." + code[3:]
        return (system or "", code or "") in self.codes

    def matches_text(self, text: str) -> bool:
        return bool(self.pattern and re.search(self.pattern, text, re.I))


def _vs(slug: str, snomed: str = "", icd: str = "", pattern: str | None = None) -> ValueSet:
    codes = {(SNOMED, c) for c in snomed.split()} | {(ICD10CM, c) for c in icd.split()}
    return ValueSet(slug, f"urn:leg-pain-cds:valueset:{slug}", "interim", frozenset(codes), pattern)


_VS = {vs.slug: vs for vs in [
    _vs("cond-pad", "399957001", "I73.9 I70.221", r"\bperipheral (arterial|artery) disease\b"),
    _vs("cond-diabetic-angiopathy", "422166005", "E11.51"),
    _vs("cond-clti-rest-pain", "792844003", "I70.222"),
    _vs("cond-statin-myopathy", "16462851000119106"),
    _vs("cond-rls", "32914008", "G25.81", r"\brestless legs?\b|\bwillis.?ekbom\b"),
    _vs("cond-rls-pregnancy", "1052284009"),
    _vs("cond-ckd", "709044004 431855005 431856006 433144002 700378005 700379002 431857002 433146000 46177005 "
        "127013003", "N18.1 N18.2 N18.30 N18.31 N18.32 N18.4 N18.5 N18.6 N18.9", r"\bchronic kidney disease\b"),
    _vs("cond-ckd-g5-dialysis", "433146000 46177005", "N18.5 N18.6", r"\bend.stage (renal|kidney) disease\b"),
    _vs("cond-pregnancy", "77386006 72892002 255409004", "Z33.1", r"\bpregnan(t|cy)\b"),
    _vs("cond-sciatica-radiculopathy", "23056005", "M54.30 M54.31 M54.32 M54.40 M54.41 M54.42 M54.16",
        r"\bsciatica\b|\blumbar radiculopathy\b"),
    _vs("cond-disc-herniation", "", "M51.26 M51.27 M51.16 M51.17", r"\b(lumbar )?dis[ck] (herniation|prolapse)\b"),
    _vs("cond-peroneal-neuropathy", "", "G57.30 G57.31 G57.32 G57.33", r"\b(peroneal|fibular) neuropathy\b"),
    _vs("cond-tarsal-tunnel", "", "G57.50 G57.51 G57.52 G57.53", r"\btarsal tunnel\b"),
    _vs("cond-lumbar-stenosis", "18347007", "M48.06 M48.061 M48.062", r"\b(lumbar )?spinal stenosis\b"),
    _vs("cond-lumbar-stenosis-claudication", "", "M48.062", r"\bneurogenic claudication\b"),
    _vs("cond-venous-insufficiency", "", "I87.2", r"\bvenous insufficiency\b"),
    _vs("cond-varicose-veins", "", "I83.92 I83.93", r"\bvaricose veins?\b"),
    _vs("cond-diabetic-neuropathy", "368581000119106 1511000119107 713706002 713705003 71791000119104 "
        "110181000119105", "E11.40 E11.42 E10.40 E10.42", r"\bdiabetic (peripheral )?(poly)?neuropathy\b"),
    _vs("cond-iron-deficiency-anemia", "87522002", "D50.0 D50.8 D50.9", r"\biron.deficiency an(a)?emia\b"),
]}


def load(slug: str) -> ValueSet:
    return _VS[slug]


def slugs() -> list[str]:
    return sorted(_VS)
