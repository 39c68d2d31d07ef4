"""Statin muscle symptoms: CK against the lab's upper limit and the knowledge multiples, interactions, card text."""
from __future__ import annotations

import pytest

from cards.knowledge import interactions, threshold
from cards.model import CardKind
from cards.rules import statin_muscle_symptoms as sams
from tests.cards.helpers import card, indicator
from tests.fhir_builders import cond, days_ago, med, obs
from tests.test_no_outside_references import FORBIDDEN

T = "statin-muscle-symptoms"
SIMVA = ("312961", "simvastatin 20 MG Oral Tablet")
ATORVA = ("617312", "atorvastatin 10 MG Oral Tablet")
ROSUVA_TEXT = "rosuvastatin 10 mg"


def test_quiet_without_statin() -> None:
    assert indicator(T, obs("2157-6", 5000, "U/L")) is None


def test_statin_alone_is_info() -> None:
    c = card(T, med(*SIMVA))
    assert c is not None and c.indicator.value == "info" and "simvastatin" in c.summary


@pytest.mark.parametrize(("ck", "high", "expected"), [
    (170, None, "info"), (171, None, "info"), (680, None, "info"), (681, None, "warning"), (1700, None, "warning"),
    (1701, None, "critical"), (250, 300, "info"), (301, 300, "info"), (1201, 300, "warning"), (3001, 300, "critical"),
])
def test_ck_grading_against_lab_uln(ck: float, high: float | None, expected: str) -> None:
    o = obs("2157-6", ck, "U/L", high=high, low=30 if high else None)
    assert indicator(T, med(*SIMVA), o) == expected


def test_gemfibrozil_with_any_statin_is_warning() -> None:
    assert indicator(T, med(text=ROSUVA_TEXT), med("4719", "gemfibrozil")) == "warning"


def test_cyp3a4_inhibitor_by_each_statins_label() -> None:
    assert indicator(T, med(*SIMVA), med("21212", "clarithromycin")) == "warning"  # contraindicated
    assert indicator(T, med(*ATORVA), med("21212", "clarithromycin")) == "info"  # 10 mg: within 20 mg
    assert indicator(T, med("617311", "atorvastatin 40 MG Oral Tablet"), med("21212", "clarithromycin")) == "warning"
    assert indicator(T, med(text=ROSUVA_TEXT), med("21212", "clarithromycin")) == "info"


def test_old_ck_is_ignored() -> None:
    assert indicator(T, med(*SIMVA), obs("2157-6", 2000, "U/L", days=120)) == "info"


# ---------------------------------------------------------------------------------------------- knowledge cut-offs
# Each number is read from cards/knowledge (so the test follows the data) and asserted once as a literal (so the data
# cannot change silently).

def test_knowledge_values_are_the_sources() -> None:
    assert threshold("statin.ck-lookback").value == 90
    assert threshold("statin.ck-default-uln").value == 170  # NIH Clinical Center upper limit, U/L
    assert threshold("statin.ck-above-uln").value == 1  # EAS 2015 Table 1: CK > ULN
    assert threshold("statin.ck-stop-multiple").value == 4  # EAS 2015 Table 1: CK > 4 x ULN
    assert threshold("statin.ck-critical-multiple").value == 10  # EAS 2015 Table 1: CK > 10 x ULN
    assert sams.LOOKBACK.days == 90 and sams.DEFAULT_CK_ULN == 170


LAB_ULN = 200.0


@pytest.mark.parametrize(("offset", "mild"), [(-1, False), (0, False), (1, True)])
def test_ck_above_the_lab_upper_limit_is_a_mild_rise(offset: int, mild: bool) -> None:
    ck = LAB_ULN * sams.CK_ABOVE_ULN.value + offset
    c = card(T, med(*SIMVA), obs("2157-6", ck, "U/L", low=30, high=LAB_ULN))
    assert c is not None and c.indicator.value == "info"
    assert ("the statin can usually continue" in c.summary) is mild


@pytest.mark.parametrize(("offset", "expected"), [(-1, "info"), (0, "info"), (1, "warning")])
def test_ck_default_upper_limit_without_a_lab_range(offset: int, expected: str) -> None:
    ck = sams.DEFAULT_CK_ULN * sams.CK_STOP.value + offset
    assert indicator(T, med(*SIMVA), obs("2157-6", ck, "U/L")) == expected


@pytest.mark.parametrize(("offset", "expected"), [(-1, "warning"), (0, "warning"), (1, "critical")])
def test_ck_critical_multiple(offset: int, expected: str) -> None:
    ck = LAB_ULN * sams.CK_CRITICAL.value + offset
    c = card(T, med(*SIMVA), obs("2157-6", ck, "U/L", low=30, high=LAB_ULN))
    assert c is not None and c.indicator.value == expected
    stop = f"CK > {sams.CK_CRITICAL.value:g} x ULN: stop the statin"
    assert (stop in (c.detail or "")) is (expected == "critical")


@pytest.mark.parametrize(("offset", "advised"), [(-1, False), (0, False), (1, True)])
def test_ck_stop_multiple_advises_stopping_and_repeating(offset: int, advised: bool) -> None:
    ck = LAB_ULN * sams.CK_STOP.value + offset
    c = card(T, med(*SIMVA), obs("2157-6", ck, "U/L", low=30, high=LAB_ULN))
    assert c is not None and c.indicator.value == ("warning" if advised else "info")
    assert (f"CK > {sams.CK_STOP.value:g} x ULN: consider stopping" in (c.detail or "")) is advised
    assert ("can usually be continued (NLA 2014)" in (c.detail or "")) is not advised


@pytest.mark.parametrize(("offset", "expected"), [(-1, "critical"), (0, "critical"), (1, "info")])
def test_ck_window(offset: int, expected: str) -> None:
    days = sams.CK_WINDOW.value + offset
    assert indicator(T, med(*SIMVA), obs("2157-6", 5000, "U/L", days=days)) == expected


def test_no_recent_ck_names_the_window() -> None:
    c = card(T, med(*SIMVA))
    assert c is not None and f"No CK result in the last {sams.CK_WINDOW.value:g} days." in (c.detail or "")


# ---------------------------------------------------------------------------------------------- card text hygiene


FIBRATE_STEP = "Simvastatin with gemfibrozil: review the need for gemfibrozil"
CYP3A4_STEP = "Simvastatin with clarithromycin: suspend simvastatin"


@pytest.mark.parametrize(("other", "present", "absent"), [
    (med("4719", "gemfibrozil"), FIBRATE_STEP, CYP3A4_STEP),
    (med("21212", "clarithromycin"), CYP3A4_STEP, FIBRATE_STEP),
])
def test_only_the_interaction_present_gets_its_step(other: dict, present: str, absent: str) -> None:
    c = card(T, med(*SIMVA), other)
    assert c is not None and present in (c.detail or "") and absent not in (c.detail or "")


def test_statin_alone_has_no_interaction_or_pad_text() -> None:
    detail = (card(T, med(*SIMVA)) or pytest.fail("no card")).detail or ""
    for text in (FIBRATE_STEP, CYP3A4_STEP, "PAD", "Peripheral artery disease"):
        assert text not in detail


def test_pad_on_the_problem_list_adds_the_pad_step() -> None:
    c = card(T, med(*SIMVA), cond("399957001", display="Peripheral arterial occlusive disease"))
    assert c is not None and "PAD is on the problem list: weigh the statin's benefit" in (c.detail or "")


def test_card_cites_primary_sources_only() -> None:
    c = card(T, med(*SIMVA), med("4719", "gemfibrozil"), obs("2157-6", 3000, "U/L"))
    assert c is not None
    text = (c.summary + (c.detail or "")).lower()
    assert not FORBIDDEN.search(text) and ".md" not in text
    assert "eur heart j 2015" in text and "fda drug safety communication" in text and "zocor" in text
    assert sams.RULE.advice and sams.RULE.version == "1.4.0"


# ---------------------------------------------------------------------------------------------- label interactions
# Issue 14, point 1: the pairs the statin labels contraindicate, advise avoiding or dose-limit, read against the dose.

SIMVA40 = ("198211", "simvastatin 40 MG Oral Tablet")
SIMVA10 = ("314231", "simvastatin 10 MG Oral Tablet")
ERYTHROMYCIN = ("4053", "erythromycin")
CYCLOSPORINE = ("3008", "cyclosporine")
AMLODIPINE = ("17767", "amlodipine")
VERAPAMIL = ("11170", "verapamil")
COLCHICINE = ("2683", "colchicine")
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"


@pytest.mark.parametrize(("statin", "other", "other_name"), [
    (med(*SIMVA40), med(*ERYTHROMYCIN), "erythromycin"),
    (med(*SIMVA40), med(*CYCLOSPORINE), "cyclosporine"),
    (med(*SIMVA), med(text="danazol 200 mg capsule"), "danazol"),
    (med(*SIMVA), med(text="Prezista 800 mg tablet"), "darunavir"),
    (med(text="lovastatin 20 mg tablet"), med("28031", "itraconazole"), "itraconazole"),
])
def test_contraindicated_pairs_say_so_and_name_both_drugs(statin: dict, other: dict, other_name: str) -> None:
    c = card(T, statin, other)
    assert c is not None and c.indicator.value == "warning"
    assert "contraindicated" in c.summary and other_name in c.summary and "statin" in c.summary.lower()
    assert len(c.summary) < 140


def test_lovastatin_with_cyclosporine_is_avoid_not_contraindicated_as_its_label_says() -> None:
    c = card(T, med(text="lovastatin 20 mg tablet"), med(*CYCLOSPORINE))
    assert c is not None and c.indicator.value == "warning"
    assert "advises avoiding" in c.summary and "contraindicated" not in c.summary


@pytest.mark.parametrize(("statin", "expected", "text"), [
    (SIMVA40, "warning", "exceeds the labelled maximum of 20 mg a day"),
    (SIMVA, "info", "within the labelled maximum of 20 mg a day"),
    (SIMVA10, "info", "within the labelled maximum of 20 mg a day"),
])
def test_simvastatin_with_amlodipine_is_read_against_the_product_strength(statin: tuple[str, str], expected: str,
                                                                         text: str) -> None:
    c = card(T, med(*statin), med(*AMLODIPINE))
    assert c is not None and c.indicator.value == expected and text in (c.summary + (c.detail or ""))


def test_the_strength_is_read_from_a_coded_product_without_display_and_from_free_text() -> None:
    assert indicator(T, med("198211"), med(*AMLODIPINE)) == "warning"  # RxNorm name of 198211: 40 MG
    assert indicator(T, med(text="Zocor 40 mg tablet"), med(*AMLODIPINE)) == "warning"
    assert indicator(T, med(text="Zocor 20 mg tablet"), med(*AMLODIPINE)) == "info"


def test_combination_product_strength_is_per_ingredient() -> None:
    from cards.knowledge import interactions
    names = ("ezetimibe 10 MG / simvastatin 40 MG Oral Tablet",)
    assert interactions.strength_mg(names, "simvastatin") == 40
    assert interactions.strength_mg(names, "ezetimibe") == 10
    assert interactions.strength_mg(("amlodipine 5 MG / atorvastatin 20 MG Oral Tablet",), "atorvastatin") == 20
    assert interactions.strength_mg(("Vytorin 10/40",), "simvastatin") is None  # no unit: not guessed
    c = card(T, med(text="ezetimibe 10 MG / simvastatin 40 MG Oral Tablet"), med(*AMLODIPINE))
    assert c is not None and "Simvastatin 40 mg with amlodipine: exceeds" in c.summary


def test_an_unreadable_dose_is_said_never_passed() -> None:
    c = card(T, med(text="simvastatin"), med(*AMLODIPINE))
    assert c is not None and c.indicator.value == "warning"
    assert "labelled maximum 20 mg a day - the dose could not be read" in c.summary


def _dosed(rxcui: str, display: str, value: float, unit: str, per_day: int) -> dict:
    return med(rxcui, display, resource="MedicationRequest", dosageInstruction=[{
        "timing": {"repeat": {"frequency": per_day, "period": 1, "periodUnit": "d"}},
        "doseAndRate": [{"doseQuantity": {"value": value, "unit": unit}}]}])


@pytest.mark.parametrize(("dose", "unit", "per_day", "expected"), [
    (1, "tablet", 1, "info"), (2, "tablet", 1, "warning"), (1, "tablet", 2, "warning"), (10, "mg", 1, "info"),
    (20, "mg", 1, "warning"),
])
def test_the_daily_dose_comes_from_the_dosage_instruction(dose: float, unit: str, per_day: int,
                                                          expected: str) -> None:
    # simvastatin 10 MG tablets with verapamil: the label allows at most 10 mg a day
    assert indicator(T, _dosed(*SIMVA10, dose, unit, per_day), med(*VERAPAMIL)) == expected


def test_rosuvastatin_with_cyclosporine_has_its_own_cap() -> None:
    c = card(T, med(text="rosuvastatin 10 mg tablet"), med(*CYCLOSPORINE))
    assert c is not None and c.indicator.value == "warning"
    assert "Rosuvastatin 10 mg with cyclosporine: exceeds the labelled maximum of 5 mg a day" in c.summary
    assert "pravastatin (start at 10 mg, at most 20 mg a day with cyclosporine)" in (c.detail or "")
    assert indicator(T, med("859424", "rosuvastatin calcium 5 MG Oral Tablet"), med(*CYCLOSPORINE)) == "info"


def test_the_alternative_statin_respects_its_own_label() -> None:
    detail = (card(T, med(*SIMVA40), med(*CYCLOSPORINE)) or pytest.fail("no card")).detail or ""
    assert ("switch to pravastatin (start at 10 mg, at most 20 mg a day with cyclosporine) or rosuvastatin (at most "
            "5 mg a day with cyclosporine)") in detail
    detail = (card(T, med(*SIMVA), med("4719", "gemfibrozil")) or pytest.fail("no card")).detail or ""
    assert "switch to" not in detail and "review the need for gemfibrozil" in detail


def test_a_macrolide_course_offers_suspending_the_statin_or_another_antibiotic() -> None:
    detail = (card(T, med(*SIMVA40), med(*ERYTHROMYCIN)) or pytest.fail("no card")).detail or ""
    assert "suspend simvastatin for the erythromycin course" in detail and "azithromycin" in detail
    detail = (card(T, med(*SIMVA40), med(*CYCLOSPORINE)) or pytest.fail("no card")).detail or ""
    assert "suspend" not in detail and "azithromycin" not in detail  # not a short course, not an infection


def test_a_caution_pair_is_listed_without_raising_the_grade() -> None:
    c = card(T, med(*SIMVA), med(*COLCHICINE))
    assert c is not None and c.indicator.value == "info" and "caution" in (c.detail or "")


def test_the_interaction_table_rows_carry_label_sources() -> None:
    from cards import guidelines
    from cards.knowledge import interactions
    rows = interactions.rows_for_docs()
    assert len(rows) > 50 and all(r.source in guidelines.GUIDELINES and r.where for r in rows)
    assert all(r.kind in interactions.KINDS and (r.kind != "dose-cap" or r.max_mg) for r in rows)
    # each number as the label states it (asserted once as a literal)
    expect = {("simvastatin", "verapamil"): 10, ("simvastatin", "diltiazem"): 10, ("simvastatin", "dronedarone"): 10,
              ("simvastatin", "amiodarone"): 20, ("simvastatin", "amlodipine"): 20, ("simvastatin", "ranolazine"): 20,
              ("lovastatin", "danazol"): 20, ("lovastatin", "amiodarone"): 40, ("atorvastatin", "clarithromycin"): 20,
              ("atorvastatin", "itraconazole"): 20, ("atorvastatin", "nelfinavir"): 40,
              ("rosuvastatin", "cyclosporine"): 5, ("rosuvastatin", "atazanavir"): 10,
              ("pravastatin", "cyclosporine"): 20, ("pravastatin", "clarithromycin"): 40}
    for (statin, drug), cap in expect.items():
        row = interactions.lookup(statin, drug)
        assert row is not None and row.kind == "dose-cap" and row.max_mg == cap, (statin, drug)
    for drug in ("clarithromycin", "erythromycin", "telithromycin", "itraconazole", "ketoconazole", "posaconazole",
                 "voriconazole", "ritonavir", "cobicistat", "nefazodone", "gemfibrozil", "cyclosporine", "danazol"):
        assert (interactions.lookup("simvastatin", drug) or pytest.fail(drug)).kind == "contraindicated"
    assert (interactions.lookup("rosuvastatin", "gemfibrozil") or pytest.fail()).max_mg == 10


# ---------------------------------------------------------------------------------------------- grading by the guideline
# Issue 14, point 4.


@pytest.mark.parametrize("diagnosis", [cond("M62.82", ICD10CM, display="Rhabdomyolysis"),
                                       cond("240131006", display="Rhabdomyolysis"),
                                       cond("M6282", ICD10CM)])
def test_an_active_rhabdomyolysis_diagnosis_is_critical_and_says_stop(diagnosis: dict) -> None:
    c = card(T, med(*SIMVA), diagnosis)
    assert c is not None and c.indicator.value == "critical" and "stop the statin" in c.summary
    detail = c.detail or ""
    assert "If symptoms are intolerable" not in detail and "rechallenge" not in detail.lower()


def test_a_resolved_rhabdomyolysis_is_not_critical() -> None:
    assert indicator(T, med(*SIMVA), cond("M62.82", ICD10CM, clinical="resolved")) == "info"


def test_stop_advice_never_comes_with_keep_or_rechallenge_advice() -> None:
    pad = cond("399957001", display="Peripheral arterial occlusive disease")
    c = card(T, med(*SIMVA), obs("2157-6", 2500, "U/L"), pad)  # 14.7 x ULN
    assert c is not None and c.indicator.value == "critical" and "14.7 x ULN" in c.summary
    detail = c.detail or ""
    assert "stop the statin now" in detail
    for contradiction in ("If symptoms are intolerable", "rechallenge", "weigh the statin's benefit before stopping",
                          "do not stop", "can usually be continued"):
        assert contradiction not in detail


def test_ck_1_2_x_uln_is_not_statin_muscle_injury() -> None:
    c = card(T, med(*SIMVA), obs("2157-6", 204, "U/L"))  # 1.2 x 170
    assert c is not None and c.indicator.value == "info"
    assert "muscle injury" not in c.summary and "can usually continue" in c.summary


def test_stop_advised_covers_rhabdomyolysis_and_critical_ck() -> None:
    from cards.facts import build_facts
    from tests.fhir_builders import NOW, PATIENT_ID, patient

    def facts(*resources: dict) -> object:
        return build_facts([patient(), *resources], now=NOW, patient_id=PATIENT_ID)

    assert sams.stop_advised(facts(med(*SIMVA), cond("M62.82", ICD10CM)))  # type: ignore[arg-type]
    assert sams.stop_advised(facts(med(*SIMVA), obs("2157-6", 2500, "U/L")))  # type: ignore[arg-type]
    assert not sams.stop_advised(facts(med(*SIMVA), obs("2157-6", 1000, "U/L")))  # type: ignore[arg-type]
    assert not sams.stop_advised(facts(cond("M62.82", ICD10CM)))  # type: ignore[arg-type]  # no statin


# ---------------------------------------------------------------------------------------------- card kind
# Actionable (shown on every chart open): rhabdomyolysis, a CK above the upper limit, a label contraindication,
# avoidance or dose cap the dose exceeds. Possible cause (shown only with leg-symptom context): the statin alone.


@pytest.mark.parametrize(("offset", "kind"), [(0, CardKind.POSSIBLE_CAUSE), (1, CardKind.ACTIONABLE)])
def test_a_ck_above_the_upper_limit_is_actionable(offset: int, kind: CardKind) -> None:
    """A mild rise is still an abnormal value linked to the statin (the card says it can usually continue)."""
    c = card(T, med(*SIMVA), obs("2157-6", LAB_ULN + offset, "U/L", low=30, high=LAB_ULN))
    assert c is not None and c.kind is kind


@pytest.mark.parametrize("resources", [
    (med(*SIMVA), cond("M62.82", ICD10CM, display="Rhabdomyolysis")),
    (med(*SIMVA), obs("2157-6", 3000, "U/L")),  # CK > 10 x ULN
    (med(*SIMVA), obs("2157-6", 1000, "U/L")),  # CK > 4 x ULN
    (med(*SIMVA), med("4719", "gemfibrozil")),  # contraindicated
    (med(text="lovastatin 20 mg tablet"), med(*CYCLOSPORINE)),  # avoid
    (med(*SIMVA40), med(*AMLODIPINE)),  # exceeds the labelled maximum
    (med(text="simvastatin"), med(*AMLODIPINE)),  # a cap the dose cannot be shown to respect
])
def test_critical_abnormal_and_label_findings_are_actionable(resources: tuple[dict, ...]) -> None:
    c = card(T, *resources)
    assert c is not None and c.kind is CardKind.ACTIONABLE


@pytest.mark.parametrize("resources", [
    (med(*ATORVA),),  # "On atorvastatin: statins can cause leg muscle pain - consider CK if symptomatic"
    (med(*SIMVA), obs("2157-6", 120, "U/L")),  # normal CK
    (med(*SIMVA), med(*COLCHICINE)),  # a caution pair
    (med(*SIMVA), med(*AMLODIPINE)),  # within the labelled maximum
    (med(*SIMVA), cond("16462851000119106", display="Myalgia caused by statin")),  # a known intolerance
])
def test_the_statin_alone_is_a_possible_cause(resources: tuple[dict, ...]) -> None:
    c = card(T, *resources)
    assert c is not None and c.kind is CardKind.POSSIBLE_CAUSE


def test_the_pad_card_is_pointed_to_only_from_a_possible_cause_card() -> None:
    pad_code = cond("399957001", display="Peripheral arterial occlusive disease")  # a possible-cause PAD card
    alone = card(T, med(*SIMVA), pad_code)
    assert alone is not None and "(see the *Peripheral artery disease* card)" in (alone.detail or "")
    high_ck = card(T, med(*SIMVA), pad_code, obs("2157-6", 1000, "U/L"))
    assert high_ck is not None and high_ck.kind is CardKind.ACTIONABLE
    detail = high_ck.detail or ""
    assert "PAD is on the problem list: weigh the statin's benefit before stopping it." in detail
    assert "*Peripheral artery disease* card" not in detail


# ---------------------------------------------------------------------------------------------- review 14 (items 6-10)
# Item 6: simvastatin 80 mg (FDA Drug Safety Communication 2011-06-08): only for patients who have taken it for 12
# months or more without muscle injury; not to be started.


SIMVA80 = ("200345", "simvastatin 80 MG Oral Tablet")


def _since(days: float) -> dict:
    return {"effectivePeriod": {"start": days_ago(days)[:10]}}


def test_restricted_dose_is_the_fda_number() -> None:
    assert threshold("statin.simvastatin-restricted-dose").value == 80
    assert threshold("statin.simvastatin-80-established").value == 365
    assert threshold("statin.simvastatin-restricted-dose").source == "fda-simvastatin-2011"


@pytest.mark.parametrize(("days", "expected"), [(28, "warning"), (364, "warning"), (365, "info"), (3000, "info")])
def test_simvastatin_80_started_within_12_months_is_a_warning(days: float, expected: str) -> None:
    c = card(T, med(*SIMVA80, **_since(days)))
    assert c is not None and c.indicator.value == expected
    if expected == "warning":
        assert c.summary.startswith("Simvastatin 80 mg since") and "12 months" in c.summary
        assert c.kind is CardKind.ACTIONABLE and "under 12 months" in (c.detail or "")
        assert any("fda.gov" in (link.url or "") for link in c.links)
    else:
        assert "under 12 months" not in (c.detail or "")


def test_simvastatin_80_without_a_start_date_says_what_is_known() -> None:
    c = card(T, med(*SIMVA80))
    assert c is not None and c.indicator.value == "info"  # no duration invented
    assert "no start date on record, so how long it has been taken is unknown" in (c.detail or "")


def test_simvastatin_40_is_not_the_restricted_dose() -> None:
    c = card(T, med("198211", "simvastatin 40 MG Oral Tablet", **_since(10)))
    assert c is not None and "12 months" not in (c.summary + (c.detail or ""))


# Item 7: a test done within the CK window is not suggested again; the rhabdomyolysis card suggests what its text asks.

def _ordered(c: object) -> list[str]:
    return [a.description for s in getattr(c, "suggestions") for a in s.actions]


def test_a_recent_ck_is_not_ordered_again() -> None:
    c = card(T, med(*ATORVA), obs("2157-6", 100, "U/L", days=13, low=30, high=170))
    assert c is not None and [s.label for s in c.suggestions] == ["Order TSH and creatinine"]
    assert not any("Creatine kinase" in d for d in _ordered(c))
    assert "check CK" not in (c.detail or "")
    c = card(T, med(*ATORVA))
    assert c is not None and [s.label for s in c.suggestions] == ["Order CK, TSH and creatinine"]


def test_no_suggestion_when_ck_tsh_and_creatinine_are_recent() -> None:
    c = card(T, med(*ATORVA), obs("2157-6", 100, "U/L", days=13), obs("3016-3", 2.0, "m[IU]/L", days=20),
             obs("2160-0", 0.9, "mg/dL", days=20))
    assert c is not None and not c.suggestions
    assert "CK, TSH and creatinine are on file" in (c.detail or "")


def test_rhabdomyolysis_suggestions_match_the_text() -> None:
    c = card(T, med(*SIMVA), obs("2157-6", 3000, "U/L"))  # CK known above 10 x ULN
    assert c is not None and c.indicator.value == "critical"
    assert [s.label for s in c.suggestions] == ["Order creatinine and urine myoglobin"]
    assert "check creatinine and urine myoglobin" in (c.detail or "") and "TSH" not in (c.detail or "")
    c = card(T, med(*SIMVA), cond("M62.82", "http://hl7.org/fhir/sid/icd-10-cm", display="Rhabdomyolysis"))
    assert c is not None and [s.label for s in c.suggestions] == ["Order CK, creatinine and urine myoglobin"]
    assert "check CK, creatinine and urine myoglobin" in (c.detail or "")


# Items 9 and 10: each row cites its own statin's label; a label name in brackets is never nested in brackets; the
# first next step does not repeat the summary.

def test_every_row_cites_the_label_of_its_own_statin() -> None:
    table = interactions.table()
    for row in table.rows:
        assert row.source == f"{row.statin}-label", row
    for statin, (_, (source, _where)) in table.suspend.items():
        assert source == f"{statin}-label"
    assert table.antibiotic_source[0] != "atorvastatin-label"


def _depth(text: str) -> int:
    deepest = depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        deepest = max(deepest, depth)
    return deepest


@pytest.mark.parametrize("chart", [
    [med("197905", "lovastatin 40 MG Oral Tablet"), med("200344", "itraconazole 100 MG Oral Capsule")],
    [med("617311", "atorvastatin 40 MG Oral Tablet"), med("21212", "clarithromycin")],
    [med("198211", "simvastatin 40 MG Oral Tablet"), med("4053", "erythromycin")],
    [med("904475", "pravastatin sodium 40 MG Oral Tablet"), med("3008", "cyclosporine")],
])
def test_interaction_card_wording(chart: list) -> None:
    c = card(T, *chart)
    assert c is not None and c.detail is not None
    assert _depth(c.summary) <= 1, c.summary
    detail = c.detail.split("**Interacting drugs")[1].split("**Sources")[0]
    for line in detail.splitlines():
        assert _depth(line) <= 1, line
    steps = c.detail.split("**Next steps:**\n")[1].split("\n\n")[0].splitlines()
    assert all(c.summary not in step for step in steps)


def test_lovastatin_card_cites_the_lovastatin_label_only() -> None:
    c = card(T, med("197905", "lovastatin 40 MG Oral Tablet"), med("200344", "itraconazole 100 MG Oral Capsule"))
    assert c is not None
    text = c.summary + (c.detail or "")
    assert "Zocor" not in text and "simvastatin" not in text.lower()
    assert "suspend lovastatin for the itraconazole course, as the Mevacor (lovastatin) US label 2014 advises" in text


def test_azithromycin_is_not_justified_by_the_atorvastatin_label() -> None:
    c = card(T, med("198211", "simvastatin 40 MG Oral Tablet"), med("4053", "erythromycin"))
    assert c is not None and "azithromycin" in (c.detail or "")
    assert "Lipitor" not in (c.detail or "") and "Abu Mellal et al. 2019" in (c.detail or "")
