"""Peripheral artery disease: ABI cut-offs read from cards/knowledge (-1/0/+1 around each), legs, diagnoses, text."""
from __future__ import annotations

import pytest

from cards.knowledge import Threshold, threshold
from cards.model import CardKind
from cards.rules import peripheral_artery_disease as pad
from tests.cards.helpers import card, indicator
from tests.fhir_builders import ICD10CM, SNOMED, cond, med, obs
from tests.test_no_outside_references import FORBIDDEN

T = "peripheral-artery-disease"


def test_knowledge_values_are_the_sources() -> None:
    assert threshold("pad.abi-severe").value == 0.40  # WIfI ischaemia grade 3: ABI < 0.40 (GVG 2019)
    assert threshold("pad.abi-abnormal").value == 0.90  # 2016 AHA/ACC 3.1: abnormal <= 0.90
    assert threshold("pad.abi-normal-low").value == 1.00  # borderline 0.91-0.99, normal 1.00-1.40
    assert threshold("pad.abi-noncompressible").value == 1.40  # noncompressible > 1.40
    assert threshold("pad.tbi-abnormal").value == 0.70  # 2016 AHA/ACC 3.2: TBI <= 0.70 abnormal
    assert threshold("pad.abi-lookback").value == 365


def _around(value: float) -> list[float]:
    return [round(value - 0.01, 2), round(value, 2), round(value + 0.01, 2)]


@pytest.mark.parametrize(("cut", "expected"), [
    (pad.SEVERE, ("critical", "warning", "warning")),
    (pad.ABNORMAL, ("warning", "warning", "info")),
    (pad.BELOW_NORMAL, ("info", None, None)),
    (pad.NONCOMPRESSIBLE, (None, None, "info")),
], ids=lambda x: x.id if isinstance(x, Threshold) else "")
def test_abi_cut_offs(cut: Threshold, expected: tuple[str | None, ...]) -> None:
    for abi, grade in zip(_around(cut.value), expected):
        assert indicator(T, obs("77194-9", abi, "{ratio}", days=30)) == grade, abi


@pytest.mark.parametrize(("offset", "old"), [(-1, False), (0, False), (1, True)])
def test_abi_window(offset: int, old: bool) -> None:
    """Issue 14: an abnormal ABI older than the window is shown as old (repeat it), never dropped."""
    c = card(T, obs("77194-9", 0.7, "{ratio}", days=pad.ABI_WINDOW.value + offset))
    assert c is not None and c.indicator.value == "warning"
    assert ("repeat the ABI" in c.summary) is old


def test_abi_is_printed_with_two_decimals() -> None:
    c = card(T, obs("77194-9", 0.9, "{ratio}", days=30))
    assert c is not None and "ABI 0.90 (" in c.summary
    assert "abnormal (<= 0.90): PAD" in (c.detail or "") and "1.00-1.40 (2016 AHA/ACC)" in (c.detail or "")
    nc = card(T, obs("77194-9", 1.5, "{ratio}", days=30))
    assert nc is not None and nc.summary.startswith("ABI 1.50 (")
    assert "TBI <= 0.70 is abnormal" in (nc.detail or "") and "ABI > 1.40 cannot exclude PAD" in (nc.detail or "")


def test_only_the_steps_of_the_finding() -> None:
    borderline = card(T, obs("77194-9", 0.95, "{ratio}", days=30))
    assert borderline is not None
    detail = borderline.detail or ""
    assert "exercise treadmill ABI" in detail
    for other in ("toe-brachial", "Urgent vascular", "Guideline-directed therapy"):
        assert other not in detail
    severe = card(T, obs("77194-9", 0.3, "{ratio}", days=30))
    assert severe is not None and "Urgent vascular specialist referral" in (severe.detail or "")
    assert "exercise treadmill" not in (severe.detail or "") and "toe-brachial" not in (severe.detail or "")
    assert pad.RULE.advice and not FORBIDDEN.search(severe.detail or "")


def test_abi_without_unit_and_implausible_values() -> None:
    assert indicator(T, obs("77194-9", 0.7, None, days=30)) == "warning"
    assert indicator(T, obs("77194-9", 0.0, "{ratio}", days=30)) is None
    assert indicator(T, obs("77194-9", 3.5, "{ratio}", days=30)) is None


def test_components_use_the_worse_side() -> None:
    o = obs("77194-9", None, days=20)
    o["component"] = [
        {"code": {"text": "Right ABI"}, "valueQuantity": {"value": 1.05, "system": "http://unitsofmeasure.org",
                                                          "code": "{ratio}"}},
        {"code": {"text": "Left ABI"}, "valueQuantity": {"value": 0.62, "system": "http://unitsofmeasure.org",
                                                         "code": "{ratio}"}},
    ]
    c = card(T, o)
    assert c is not None and c.indicator.value == "warning"
    assert "left" in c.summary and "0.62" in c.summary


def test_noncompressible_other_leg_still_reported() -> None:
    left = obs("77194-9", 1.55, "{ratio}", days=10, bodySite={"text": "left lower limb"})
    right = obs("77194-9", 1.10, "{ratio}", days=10, bodySite={"text": "right lower limb"})
    c = card(T, left, right)
    assert c is not None and c.indicator.value == "info" and "toe-brachial" in c.summary.lower()


def test_snomed_coded_abi_and_stale_abi() -> None:
    assert indicator(T, obs("446841001", 0.8, "{ratio}", system=SNOMED, days=30)) == "warning"
    stale = card(T, obs("77194-9", 0.5, "{ratio}", days=400))
    assert stale is not None and stale.indicator.value == "warning"
    assert "over 12 months old" in stale.summary and "repeat the ABI" in stale.summary
    assert "PAD does not resolve" in (stale.detail or "")
    assert [s.label for s in stale.suggestions] == ["Order resting ankle-brachial index"]


def test_diagnosis_alone() -> None:
    assert indicator(T, cond("399957001")) == "warning"
    assert indicator(T, cond("I70.222", ICD10CM)) == "critical"
    assert indicator(T, cond("I70222", ICD10CM)) == "critical"
    assert indicator(T, cond("399957001", clinical="resolved")) is None
    assert indicator(T, cond("399957001", verification="refuted")) is None


def test_text_only_diagnosis() -> None:
    c = cond("local-123", "urn:local", text="Peripheral arterial disease, both legs")
    assert indicator(T, c) == "warning"


def test_normal_abi_no_card() -> None:
    assert card(T, obs("77194-9", 1.1, "{ratio}", days=30)) is None


# ---------------------------------------------------------------------------------------------- issue 14


def _abi(value: float, days: float, side: str | None = None) -> dict:
    extra = {"bodySite": {"text": f"{side} lower limb"}} if side else {}
    return obs("77194-9", value, "{ratio}", days=days, **extra)


def test_a_low_leg_is_kept_when_the_other_leg_is_measured_again() -> None:
    """Left 0.45 / right 1.05 on one day, then the right leg alone 1.10 weeks later: the left leg still counts."""
    c = card(T, _abi(0.45, 40, "left"), _abi(1.05, 40, "right"), _abi(1.10, 10, "right"))
    assert c is not None and c.indicator.value == "warning"
    assert c.summary.startswith("ABI left 0.45 (")
    detail = c.detail or ""
    assert "**1.10**" in detail and "**1.05**" not in detail  # the right leg's latest value replaces its older one


def test_a_newer_normal_abi_of_the_same_leg_supersedes() -> None:
    assert card(T, _abi(0.45, 40, "left"), _abi(1.05, 10, "left")) is None
    # an ABI without a side describes the patient: it supersedes both legs' older readings
    assert card(T, _abi(0.45, 40, "left"), _abi(1.05, 40, "right"), _abi(1.08, 10)) is None
    # ... but a newer one-sided normal reading never hides an abnormal reading without a side
    assert indicator(T, _abi(0.60, 40), _abi(1.10, 10, "right")) == "warning"


def test_old_abnormal_abi_is_shown_as_old_not_critical() -> None:
    c = card(T, _abi(0.35, 430, "left"))
    assert c is not None and c.indicator.value == "warning"
    assert "repeat the ABI" in c.summary and "over 12 months old: repeat" in (c.detail or "")
    # an old normal ABI is not a current normal: no card without a diagnosis, a new ABI with one
    assert card(T, _abi(1.10, 430)) is None
    with_dx = card(T, _abi(1.10, 430), cond("399957001"))
    assert with_dx is not None and "No ABI in the last 12 months" in (with_dx.detail or "")
    # beyond the history window nothing is read
    assert card(T, _abi(0.45, pad.HISTORY.value + 5)) is None


@pytest.mark.parametrize(("code", "phrase"), [
    ("I70.234", "an ischaemic leg ulcer on the problem list"),
    ("I70.245", "an ischaemic leg ulcer on the problem list"),
    ("I70.25", "an ischaemic leg ulcer on the problem list"),
    ("I70.262", "gangrene on the problem list"),
    ("E11.52", "gangrene on the problem list"),
    ("I70.222", "ischaemic rest pain on the problem list"),
])
def test_clti_diagnoses_are_named_as_what_they_are(code: str, phrase: str) -> None:
    c = card(T, cond(code, ICD10CM))
    assert c is not None and c.indicator.value == "critical"
    assert phrase in c.summary and "urgent vascular referral" in c.summary


@pytest.mark.parametrize(("abi", "says"), [(0.39, False), (0.41, True), (0.65, True), (0.90, True), (0.95, False)])
def test_clti_is_possible_above_040(abi: float, says: bool) -> None:
    """GVG 2019: CLTI is clinical; rest pain, ulcers or gangrene at ABI 0.41-0.90 still mean urgent referral."""
    c = card(T, obs("77194-9", abi, "{ratio}", days=30))
    assert c is not None
    assert ("chronic limb-threatening ischaemia even with an ABI above 0.40" in (c.detail or "")) is says


HF = ("I50.22", ICD10CM)
CILOSTAZOL = ("21107", "cilostazol")


def test_active_cilostazol_with_heart_failure_is_flagged() -> None:
    c = card(T, cond(*HF), med(*CILOSTAZOL), cond("399957001"))
    assert c is not None and c.indicator.value == "warning"
    assert c.summary.startswith("Cilostazol with heart failure on the problem list: contraindicated")
    assert "boxed warning" in (c.detail or "") and "Cilostazol tablets, US prescribing information" in (c.detail or "")
    assert indicator(T, cond("84114007"), med(text="Cilostazol 100 mg tablet")) == "warning"  # SNOMED heart failure


def test_cilostazol_or_heart_failure_alone_is_quiet() -> None:
    assert card(T, med(*CILOSTAZOL)) is None
    assert card(T, cond(*HF)) is None
    pad_only = card(T, cond(*HF), cond("399957001"))
    assert pad_only is not None and "ilostazol" not in (pad_only.detail or "")


def test_statin_line_follows_the_statin_card(monkeypatch: pytest.MonkeyPatch) -> None:
    keep = card(T, cond("399957001"))
    assert keep is not None and "Do not stop a statin in PAD" in (keep.detail or "")
    monkeypatch.setattr(pad.statin_muscle_symptoms, "stop_advised", lambda facts: True)
    stop = card(T, cond("399957001"))
    assert stop is not None
    detail = stop.detail or ""
    assert "Do not stop a statin" not in detail and "high-intensity statin" not in detail
    assert "advises stopping the statin because of muscle injury" in detail
    assert "once CK has recovered" in detail and "2018 AHA/ACC, section 5" in detail


@pytest.mark.parametrize(("ck", "stop"), [(2940, True), (235, False)])  # 15 x and 1.2 x a lab ULN of 196 U/L
def test_statin_line_with_a_real_ck(ck: float, stop: bool) -> None:
    """The PAD card never tells the clinician to keep a statin that the statin card says to stop."""
    c = card(T, cond("399957001"), med("617312", "atorvastatin 10 MG Oral Tablet"),
             obs("2157-6", ck, "U/L", days=3, high=196))
    assert c is not None
    assert ("advises stopping the statin" in (c.detail or "")) is stop
    assert ("Do not stop a statin in PAD" in (c.detail or "")) is not stop


# ---------------------------------------------------------------------------------------------- card kind
# Actionable (shown on every chart open): a measured abnormal ABI, CLTI, cilostazol with heart failure. Possible cause
# (shown only with leg-symptom context): a PAD code without an abnormal ABI, a borderline or noncompressible ABI.


@pytest.mark.parametrize(("abi", "kind"), [
    (0.89, CardKind.ACTIONABLE), (0.90, CardKind.ACTIONABLE),  # abnormal (<= 0.90): a measured abnormal value
    (0.91, CardKind.POSSIBLE_CAUSE), (0.99, CardKind.POSSIBLE_CAUSE),  # borderline: exercise ABI if symptoms
    (1.41, CardKind.POSSIBLE_CAUSE),  # noncompressible: a TBI for suspected PAD
])
def test_a_measured_abnormal_abi_is_actionable(abi: float, kind: CardKind) -> None:
    c = card(T, _abi(abi, 30))
    assert c is not None and c.kind is kind


@pytest.mark.parametrize("resources", [
    (_abi(0.35, 30),),  # critical
    (_abi(0.70, 430),),  # older than the window: PAD that nobody has restaged (PAD does not resolve)
    (cond("I70.222", ICD10CM),),  # rest pain on the problem list
    (cond(*HF), med(*CILOSTAZOL), cond("399957001")),  # contraindicated (boxed warning)
])
def test_critical_findings_old_abnormal_abi_and_contraindications_are_actionable(resources: tuple[dict, ...]) -> None:
    c = card(T, *resources)
    assert c is not None and c.kind is CardKind.ACTIONABLE


@pytest.mark.parametrize("resources", [
    (cond("399957001"),),  # a PAD code, no ABI: a resting ABI suggested
    (cond("399957001"), _abi(1.10, 30)),  # a PAD code with a normal ABI
])
def test_a_pad_code_without_an_abnormal_abi_is_a_possible_cause(resources: tuple[dict, ...]) -> None:
    c = card(T, *resources)
    assert c is not None and c.kind is CardKind.POSSIBLE_CAUSE


def test_the_statin_card_this_card_names_is_always_shown() -> None:
    """When this card says the statin card advises stopping the statin, that card is critical, hence actionable."""
    from tests.cards.helpers import cards_for

    cards = {c.topic: c for c in cards_for(cond("399957001"), med("617312", "atorvastatin 10 MG Oral Tablet"),
                                           obs("2157-6", 2940, "U/L", days=3, high=196))}
    assert "*Statin-associated muscle symptoms* card advises stopping" in (cards[T].detail or "")
    assert cards["statin-muscle-symptoms"].kind is CardKind.ACTIONABLE


# ---------------------------------------------------------------------------------------------- review 14, item 3


@pytest.mark.parametrize("code", ["I70.262", "I70.234", "I70.221"])
def test_critical_card_offers_the_urgent_vascular_referral_first(code: str) -> None:
    """Gangrene / ischaemic ulcer / rest pain cards said "urgent vascular referral" but offered only an ABI order."""
    c = card(T, cond(code, ICD10CM))
    assert c is not None and c.indicator.value == "critical"
    first = c.suggestions[0]
    assert first.label == "Refer urgently to vascular surgery" and first.is_recommended
    resource = first.actions[0].resource or {}
    assert resource["resourceType"] == "ServiceRequest" and resource["priority"] == "urgent"
    assert resource["code"]["coding"] == [{"system": SNOMED, "code": "307777008",
                                           "display": "Referral to vascular surgeon"}]
    assert "limb-threatening ischaemia" in resource["reasonCode"][0]["text"]
    # no ABI on file: ankle and toe pressures may be ordered alongside, never recommended over the referral
    others = c.suggestions[1:]
    assert [s.label for s in others] == ["Order ABI and toe pressures (do not delay the referral)"]
    assert not others[0].is_recommended
    assert all(s.label != "Order resting ankle-brachial index" for s in c.suggestions)
    assert "without delaying the referral" in (c.detail or "")
    assert "measure a resting ABI (Class I" not in (c.detail or "")


@pytest.mark.parametrize("extra", [obs("77194-9", 0.70, "{ratio}", days=30), obs("77194-9", 0.35, "{ratio}", days=30)])
def test_critical_card_with_a_current_abi_offers_only_the_referral(extra: dict) -> None:
    resources = (extra,) if extra["valueQuantity"]["value"] < 0.4 else (extra, cond("I70.221", ICD10CM))
    c = card(T, *resources)
    assert c is not None and c.indicator.value == "critical"
    assert [s.label for s in c.suggestions] == ["Refer urgently to vascular surgery"]


def test_non_critical_cards_keep_the_abi_order_and_no_referral() -> None:
    c = card(T, cond("I73.9", ICD10CM))
    assert c is not None and c.indicator.value == "warning"
    assert [s.label for s in c.suggestions] == ["Order resting ankle-brachial index"]
    old = card(T, obs("77194-9", 0.70, "{ratio}", days=pad.ABI_WINDOW.value + 30))
    assert old is not None and [s.label for s in old.suggestions] == ["Order resting ankle-brachial index"]


def test_critical_with_an_old_abnormal_abi_asks_for_pressures_without_delaying_the_referral() -> None:
    c = card(T, cond("I70.262", ICD10CM), obs("77194-9", 0.70, "{ratio}", days=pad.ABI_WINDOW.value + 30))
    assert c is not None and c.indicator.value == "critical"
    assert [s.label for s in c.suggestions] == ["Refer urgently to vascular surgery",
                                                "Order ABI and toe pressures (do not delay the referral)"]


def test_a_venous_ulcer_beside_an_abnormal_abi_is_named_with_the_referral() -> None:
    """Probe q3: varicose veins with ulcer and ABI 0.45 - the PAD card names the ulcer instead of only asking."""
    ulcer = cond("I83.013", ICD10CM, display="Varicose veins of right lower extremity with ulcer of ankle")
    c = card(T, ulcer, obs("77194-9", 0.45, "{ratio}", days=30))
    assert c is not None and c.indicator.value == "warning"
    assert "A venous leg ulcer is on the problem list (Varicose veins of right lower extremity" in (c.detail or "")
    assert "refer to a vascular specialist for arterial evaluation (SVS/AVF 2014)" in (c.detail or "")
    normal = card(T, ulcer, obs("77194-9", 1.05, "{ratio}", days=30))
    assert normal is None
