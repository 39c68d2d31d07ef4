"""Condition and lab value sets: code matching (ICD-10-CM forms and descendants, SNOMED) and whole-word text."""

from __future__ import annotations

import pytest

from terminology import systems, valuesets

ICD, SCT = systems.ICD10CM, systems.SNOMED


@pytest.mark.parametrize("code", ["I70.221", "I70221", "i70.221", " I70.221 ", "i70221"])
def test_icd10cm_with_and_without_dot_any_case(code: str) -> None:
    assert valuesets.load("cond-clti-rest-pain").contains(ICD, code)


@pytest.mark.parametrize(("slug", "code", "expected"), [
    ("cond-lumbar-stenosis", "M48.06", True),
    ("cond-lumbar-stenosis", "M48.061", True),
    ("cond-lumbar-stenosis", "M48062", True),
    ("cond-lumbar-stenosis", "M48.07", False),       # sibling (lumbosacral), not a descendant
    ("cond-lumbar-stenosis", "M48.0", False),        # ancestor is not a member
    ("cond-lumbar-stenosis-claudication", "M48.062", True),
    ("cond-lumbar-stenosis-claudication", "M48.061", False),
    ("cond-lumbar-stenosis-claudication", "M48.06", False),
    ("cond-pad", "I70.213", True),                   # I70.2 native arteries, claudication
    ("cond-pad", "I70.229", True),
    ("cond-pad", "I70.92", False),                   # chronic total occlusion: not native-artery I70.2
    ("cond-pad", "I73.9", True),
    ("cond-clti-rest-pain", "I70.213", False),       # claudication is not rest pain
    ("cond-clti-rest-pain", "I70.263", True),        # gangrene
    ("cond-varicose-veins", "I83.93", True),
    ("cond-varicose-veins", "I83.90", True),         # asymptomatic, unspecified side (VA)
    ("cond-varicose-veins", "I83.891", False),       # other complications: not in the set
    ("cond-sciatica-radiculopathy", "M54.17", True),   # radiculopathy, lumbosacral region (VA)
    ("cond-sciatica-radiculopathy", "M54.12", False),  # cervical radiculopathy
    ("cond-sciatica-radiculopathy", "M54.16", True),
    ("cond-rls", "G25.81", True),
    ("cond-ckd-g5-dialysis", "N18.6", True),
    ("cond-ckd-g5-dialysis", "N18.4", False),
])
def test_icd10cm_membership_and_descendants(slug: str, code: str, expected: bool) -> None:
    assert valuesets.load(slug).contains(ICD, code) is expected


def test_descendant_display_is_the_ancestor_entry() -> None:
    vs = valuesets.load("cond-lumbar-stenosis")
    assert (vs.display(ICD, "M48.061") or "").startswith("Spinal stenosis, lumbar region without")
    assert vs.display(ICD, "M48.069") == "Spinal stenosis, lumbar region"  # matched through M48.06
    assert vs.source_tag(ICD, "M48.069") == "CMS"


@pytest.mark.parametrize(("slug", "code"), [
    ("cond-rls", "32914008"), ("cond-rls-pregnancy", "1052284009"), ("cond-pad", "63491006"),
    ("cond-sciatica-radiculopathy", "23056005"), ("cond-ckd", "46177005"), ("cond-diabetic-neuropathy", "368581000119106"),
])
def test_snomed_membership(slug: str, code: str) -> None:
    vs = valuesets.load(slug)
    assert vs.contains(SCT, code)
    assert vs.contains("urn:oid:2.16.840.1.113883.6.96", code)  # SNOMED CT by OID
    assert not vs.contains(ICD, code)                            # right code, wrong system


def test_snomed_codes_are_not_prefix_matched() -> None:
    assert not valuesets.load("cond-rls").contains(SCT, "3291400")
    assert not valuesets.load("cond-rls").contains(SCT, "329140080")


def test_missing_system_or_code_never_matches() -> None:
    vs = valuesets.load("cond-rls")
    assert not vs.contains(None, "G25.81") and not vs.contains(ICD, None) and not vs.contains(ICD, "  ")


@pytest.mark.parametrize(("slug", "text"), [
    ("cond-rls", "Restless leg syndrome"), ("cond-rls", "RESTLESS LEGS"), ("cond-rls", "h/o RLS, on ropinirole"),
    ("cond-sciatica-radiculopathy", "Sciatica, left side"), ("cond-lumbar-stenosis", "lumbar spinal stenosis"),
    ("cond-varicose-veins", "Varicose vein of leg"), ("cond-leg-cramps", "nocturnal leg cramps"),
    ("cond-pad", "Peripheral arterial disease"), ("cond-clti-rest-pain", "Critical limb ischemia"),
    ("cond-lumbar-stenosis-claudication", "Neurogenic claudication"),
])
def test_text_fallback_matches_whole_words(slug: str, text: str) -> None:
    vs = valuesets.load(slug)
    assert vs.matches_text(text)
    assert vs.find_text(text) is not None


@pytest.mark.parametrize(("slug", "text"), [
    ("cond-sciatica-radiculopathy", "sciaticaXYZ"), ("cond-sciatica-radiculopathy", "nonsciatica"),
    ("cond-rls", "URLS list"), ("cond-rls", "restless"), ("cond-varicose-veins", "varicosevein"),
    ("cond-pad", "Neurogenic claudication"),  # spinal, not vascular
    ("cond-pad", "heating pad"), ("cond-ckd", "CKDX"), ("cond-rls", ""),
])
def test_text_fallback_has_no_partial_word_matches(slug: str, text: str) -> None:
    assert not valuesets.load(slug).matches_text(text)


def test_matches_combines_codes_and_text() -> None:
    vs = valuesets.load("cond-tarsal-tunnel")
    assert vs.matches([(ICD, "G57.52")])
    assert vs.matches([("http://example.org/local", "TTS")], ["Tarsal tunnel syndrome, left"])
    assert not vs.matches([(ICD, "G57.30")], ["carpal tunnel syndrome"])


def test_value_sets_carry_source_oids_where_harvested() -> None:
    assert valuesets.load("cond-pad").url == "urn:leg-pain-cds:valueset:cond-pad"
    assert valuesets.load("lab-potassium").source_tag(systems.LOINC, "2823-3") == "VSAC"
    assert valuesets.load("lab-abi").source_tag(SCT, "446841001") == "C"
