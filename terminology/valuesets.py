"""Value sets (interim; the terminology branch replaces this file)."""
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


_VS = {
    "cond-pad": ValueSet("cond-pad", "urn:leg-pain-cds:valueset:cond-pad", "interim",
                         frozenset({(SNOMED, "399957001"), (ICD10CM, "I73.9"), (ICD10CM, "I70.221")}),
                         r"\bperipheral (arterial|artery) disease\b"),
    "cond-diabetic-angiopathy": ValueSet("cond-diabetic-angiopathy", "urn:x", "interim",
                                         frozenset({(SNOMED, "422166005"), (ICD10CM, "E11.51")})),
    "cond-clti-rest-pain": ValueSet("cond-clti-rest-pain", "urn:x", "interim",
                                    frozenset({(SNOMED, "792844003"), (ICD10CM, "I70.222")})),
    "cond-statin-myopathy": ValueSet("cond-statin-myopathy", "urn:x", "interim",
                                     frozenset({(SNOMED, "16462851000119106")})),
    # INTERIM for the order-time restless-legs check (clinical-reference.md §4: 32914008 [HL7], G25.81 [VA],
    # 1052284009 [VSAC]); the terminology branch ships the real, data-driven value sets.
    "cond-rls": ValueSet("cond-rls", "urn:x", "interim", frozenset({(SNOMED, "32914008"), (ICD10CM, "G25.81")}),
                         r"\brestless legs?\b"),
    "cond-rls-pregnancy": ValueSet("cond-rls-pregnancy", "urn:x", "interim", frozenset({(SNOMED, "1052284009")})),
}


def load(slug: str) -> ValueSet:
    return _VS[slug]


def slugs() -> list[str]:
    return sorted(_VS)
