"""Order-time check: a draft diuretic in a patient whose electrolytes it would worsen.

Fires when: a draft order starts a loop, thiazide(-like) or potassium-sparing diuretic (see cards.order_checks: not
  already current) AND the latest result within {electrolytes.lookback:value} shows an abnormality that class causes:
  thiazide with low sodium, mild high calcium (the electrolyte rule's thiazide ceiling), low potassium or low magnesium;
  loop diuretic with low potassium, low magnesium or low calcium (the same table as the patient-view rule
  diuretic-effect); potassium-sparing diuretic (spironolactone, eplerenone, amiloride, triamterene) with high potassium.
  Graded by the lab's range, else its flag, else the default range.
Warning, one card listing every such draft (critical when the value is critical: e.g. eplerenone drafted with a
potassium of 6.6); suggestions remove the draft (delete action).
Next steps: a potassium-sparing diuretic or MRA drafted on a high potassium is not started (the US labels list
  hyperkalaemia as a contraindication; Aldactone section 4) - treat the potassium first and reconsider the drug only
  once it is back in range, then recheck after starting; no "recheck after starting it" beside "do not start". Other
  drafts: correct the electrolyte first, or choose another diuretic, and recheck after starting if still needed.
Quiet when: no such draft; the diuretic is already current (a re-order); or the relevant electrolytes are in
  range or not measured within {electrolytes.lookback:value}.
Needs: draftOrders, medications (+ medicationRequests), observations (potassium, magnesium, sodium, calcium,
  albumin).
References: CTCAE v5.0 (2017) for the grades; European hyponatraemia guideline 2014 (thiazide-induced
  hyponatraemia); UK Kidney Association hyperkalaemia guideline 2020 (potassium-sparing diuretics and MRAs raise
  potassium); Wermers 2007 (a thiazide explains only a mild hypercalcaemia); Aldactone (spironolactone) US label,
  section 4 (contraindicated in hyperkalaemia).
"""
from __future__ import annotations

from cards import order_checks
from cards.facts import PatientFacts
from cards.model import Card, Indicator
from cards.order_checks import Hit, OrderFinding
from cards.rule import ORDER_SELECT, ORDER_SIGN, Rule
from cards.rules import diuretic_effect, electrolyte_imbalance as electrolytes
from cards.topics import Topic

K_SPARING = "potassium-sparing-diuretic"
CLASSES = diuretic_effect.DIURETIC_CLASSES + (K_SPARING,)
CLASS_NAMES = {**diuretic_effect.CLASS_NAMES, K_SPARING: "potassium-sparing diuretic"}
MECHANISM = {  # standard pharmacology, as in the drug labels and the guidelines under References
    "loop-diuretic": "loop diuretics waste potassium and magnesium and raise urinary calcium loss",
    "thiazide-diuretic": "thiazides lower sodium (most in older women), waste potassium and magnesium and raise "
                         "calcium (hypocalciuria)",
    K_SPARING: "potassium-sparing diuretics raise potassium, most with CKD, ACE inhibitors/ARBs or NSAIDs",
}


def _worsened(abnormal: list[electrolytes.Abnormal], drug_class: str) -> list[order_checks.Evidence]:
    """The abnormalities this diuretic class causes, as evidence lines."""
    name = CLASS_NAMES[drug_class]
    verb = {"low": "lowers it further", "high": "raises it further"}
    return [order_checks.lab_evidence(a.result, f"{a.direction}; a {name} {verb[a.direction]}", a.range_used,
                                      qualifier=a.direction)
            for a in abnormal if a.direction in verb and _worsens(a, drug_class)]


def _worsens(a: electrolytes.Abnormal, drug_class: str) -> bool:
    """Loop and thiazide: the patient-view table (electrolytes.diuretic_explains). Potassium-sparing diuretics and
    MRAs raise potassium (UK Kidney Association 2020: among the drugs to review in hyperkalaemia)."""
    if drug_class == K_SPARING:
        return (a.family, a.direction) == ("potassium", "high")
    return drug_class in electrolytes.diuretic_explains(a)


def _applies(facts: PatientFacts) -> OrderFinding | None:
    drafts = order_checks.new_drafts(facts, CLASSES)
    if not drafts:
        return None
    abnormal = [a for a in (electrolytes.assess(r, key) for r, key, _ in electrolytes.latest_graded(facts)) if a]
    hits = []
    for draft in drafts:
        classes = [c for c in CLASSES if c in draft.classes]
        evidence = [e for c in classes for e in _worsened(abnormal, c)]
        if evidence:
            mechanism = "; ".join(MECHANISM[c] for c in classes)
            hits.append(Hit(draft, tuple(evidence), f"{mechanism}."))
    return OrderFinding(tuple(hits)) if hits else None


def _card(finding: OrderFinding, facts: PatientFacts) -> Card:
    graded = [electrolytes.assess(ev.lab) for h in finding.hits for ev in h.evidence if ev.lab is not None]
    critical = any(a is not None and a.severity == "critical" for a in graded)
    high_k = any(a is not None and (a.family, a.direction) == ("potassium", "high") for a in graded)
    # A drafted potassium-sparing diuretic or MRA on a high potassium is not started (a contraindication, not a
    # monitoring question); the other drafts get the correct-first / recheck-after-starting steps.
    def k_high(ev: order_checks.Evidence) -> bool:
        return ev.lab is not None and ev.lab.analyte == "potassium" and ev.flag == "high"

    k_sparing = sorted({h.draft.ingredient for h in finding.hits
                        if K_SPARING in h.draft.classes and any(k_high(ev) for ev in h.evidence)})
    others = [h for h in finding.hits if not all(k_high(ev) for ev in h.evidence)]
    steps = []
    if critical:
        steps.append("The value is critical: do not start the drug now; act on the value first (see the patient's "
                     "electrolyte card).")
    if k_sparing:
        names = ", ".join(k_sparing)
        steps.append(f"Do not start {names}: potassium is high, and the US labels of potassium-sparing diuretics and "
                     "MRAs list hyperkalaemia as a contraindication (e.g. Aldactone, section 4).")
        steps.append(f"Treat the high potassium and its cause first (see the patient's electrolyte card); reconsider "
                     f"{names} only once potassium is back in range, and then recheck potassium and creatinine after "
                     "starting it.")
    if others:
        steps += ["Correct the electrolyte first, or choose a diuretic that does not worsen it.",
                  "If the diuretic is still needed once corrected, recheck a basic metabolic panel and magnesium "
                  "after starting it."]
    return order_checks.card(
        RULE, finding, facts, headline=order_checks.worsens_headline,
        intro="Low potassium, magnesium, sodium or calcium cause muscle cramps and leg pain at night; high potassium "
              "causes weakness and arrhythmias. Starting a diuretic that causes the same disturbance makes it worse.",
        next_steps=steps, guideline_keys=("ctcae-v5",)
        + (("hyponatraemia-2014",) if any(a is not None and a.family == "sodium" for a in graded) else ())
        + (("hyperkalaemia-2020",) if high_k else ()) + (("spironolactone-label",) if k_sparing else ()),
        indicator=Indicator.CRITICAL if critical else Indicator.WARNING)


RULE = Rule(
    id="order-diuretic-effect", version="1.3.0", topic=Topic.DIURETIC_EFFECT,
    hooks=frozenset({ORDER_SELECT, ORDER_SIGN}),
    needs=("patient", "observations", "medications", "medicationRequests"), applies=_applies, card=_card,
    analytes=electrolytes.ANALYTES, drug_classes=CLASSES,
    summary="A draft diuretic that would worsen a low K/Mg/Na/Ca, a high Ca (thiazide) or a high K (K-sparing).",
    fires_when="draft starts a thiazide with low Na, high Ca, low K or low Mg; a loop diuretic with low K, low Mg or "
               "low Ca; a potassium-sparing diuretic with high K (latest result within {electrolytes.lookback:value})",
    quiet_when="diuretic already current (re-order), or the relevant electrolytes in range or not measured in "
               "{electrolytes.lookback:value}",
    advice="Remove the draft or correct the electrolyte first, or choose a diuretic that does not worsen it; if "
           "needed, recheck a basic metabolic panel and magnesium after starting. A potassium-sparing diuretic or MRA "
           "on a high potassium: do not start it (label contraindication); reconsider once potassium is in range.",
    actionable_when="every finding: the drafted drug is its own context",
    possible_cause_when="never",
    references=("ctcae-v5", "hyponatraemia-2014", "hyperkalaemia-2020", "wermers-2007", "spironolactone-label"),
)
