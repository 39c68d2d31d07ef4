"""Order-time check: a draft statin or statin-interacting drug that raises this patient's myopathy risk.

Fires when: a draft order starts (cards.order_checks: not already current)
  - a statin while an interacting drug is current or drafted too: gemfibrozil with any statin, a strong CYP3A4
    inhibitor (clarithromycin, itraconazole, ketoconazole, ritonavir ...) with simvastatin, lovastatin or
    atorvastatin (the same pairs as the patient-view rule statin-muscle-symptoms); or
  - a statin while the latest CK within the CK window is above the lab's upper limit (else the default); or
  - an interacting drug while a statin it interacts with is current.
Warning, one card listing every such draft. Suggestions remove the draft; a CYP3A4-dependent statin drafted with
  a strong CYP3A4 inhibitor may instead be replaced by pravastatin or rosuvastatin (not CYP3A4-dependent).
Quiet when: no such draft; the drafted drug is already current (a re-order); CK within the lab's range.
Thresholds and windows: cards/knowledge/data/statin.json (shared with statin-muscle-symptoms).
Needs: draftOrders, medications (+ medicationRequests), observations (CK).
References: FDA simvastatin Drug Safety Communication 2011 (gemfibrozil and strong CYP3A4 inhibitors); 2018 AHA/ACC
  cholesterol guideline, section 5 (statin safety) and Table 3 (statin intensity); EAS SAMS consensus 2015 (CK).
"""
from __future__ import annotations

from cards import card_text, order_checks
from cards.facts import PatientFacts
from cards.knowledge import threshold
from cards.model import Card
from cards.order_checks import Alternative, Evidence, Hit, OrderFinding
from cards.rule import ORDER_SELECT, ORDER_SIGN, Rule
from cards.rules import statin_muscle_symptoms as sams
from cards.topics import Topic

CK_WINDOW = threshold("statin.ck-lookback")
DEFAULT_CK_ULN = threshold("statin.ck-default-uln")
CK_ABOVE_ULN = threshold("statin.ck-above-uln")
CK_STOP = threshold("statin.ck-stop-multiple")

# Replacements for a CYP3A4-dependent statin next to a strong CYP3A4 inhibitor: pravastatin and rosuvastatin are not
# CYP3A4-dependent (FDA 2011). RxNorm clinical drugs (SCD) from VSAC statin value-set expansions, also mapped in
# terminology/data/drugs/products.json; the strengths are moderate-intensity doses (2018 AHA/ACC cholesterol
# guideline, Table 3: pravastatin 40-80 mg, rosuvastatin 5-10 mg) - the clinician adjusts the dose to the intended
# intensity before signing.
NON_CYP3A4_ALTERNATIVES = (
    Alternative("pravastatin", "904475", "pravastatin sodium 40 MG Oral Tablet",
                "not metabolised by CYP3A4 (FDA 2011); moderate intensity (2018 AHA/ACC Table 3)"),
    Alternative("rosuvastatin", "859747", "rosuvastatin calcium 10 MG Oral Tablet",
                "not metabolised by CYP3A4 (FDA 2011); moderate intensity (2018 AHA/ACC Table 3)"),
)


def _applies(facts: PatientFacts) -> OrderFinding | None:
    drafts = order_checks.new_drafts(facts)
    if not drafts:
        return None
    statin_drafts = [d for d in drafts if "statin" in d.classes]
    other_drafts = [d for d in drafts if "statin" not in d.classes]
    ck = facts.latest("ck", CK_WINDOW.days)
    uln = sams.ck_upper_limit(ck)
    ck_high = ck is not None and CK_ABOVE_ULN.met(ck.value / uln)
    hits = []
    for draft in statin_drafts:
        pairs = sams.interactions([draft], facts.medications() + other_drafts)
        evidence: list[Evidence] = [order_checks.drug_evidence(p.other, p.reason, facts.now, p.kind)
                                    for p in pairs]
        if ck_high and ck is not None:
            evidence.append(order_checks.lab_evidence(
                ck, f"{ck.value / uln:.1f} x the upper limit ({'lab' if ck.ref_high else 'default'} "
                    f"{uln:.0f} U/L): possible muscle injury before the statin starts",
                card_text.range_text(ck, (None, DEFAULT_CK_ULN.value)), tag="ck"))
        if not evidence:
            continue
        cyp3a4 = any(p.kind == "cyp3a4" for p in pairs)
        alternatives = tuple(a for a in NON_CYP3A4_ALTERNATIVES if a.ingredient != draft.ingredient) \
            if cyp3a4 and not ck_high else ()
        hits.append(Hit(draft, tuple(evidence), _mechanism(evidence), alternatives))
    for draft in other_drafts:
        pairs = sams.interactions(facts.medications("statin"), [draft])
        if pairs:
            evidence = [order_checks.drug_evidence(p.statin, p.reason, facts.now, p.kind) for p in pairs]
            hits.append(Hit(draft, tuple(evidence), _mechanism(evidence)))
    return OrderFinding(tuple(hits)) if hits else None


def _headline(hit: Hit) -> str:
    return (f"Draft {hit.draft.ingredient} with {order_checks.findings_text(hit)}: raised statin "
            f"myopathy risk")


MECHANISM = {
    "fibrate": "gemfibrozil raises statin blood levels and adds its own myopathy risk (FDA 2011)",
    "cyp3a4": "a strong CYP3A4 inhibitor multiplies the blood level of simvastatin, lovastatin and atorvastatin, "
              "and with it the risk of myopathy and rhabdomyolysis (FDA 2011)",
    "ck": "CK is already above the upper limit: find its cause first, or later muscle symptoms on the statin "
          "cannot be judged (2018 AHA/ACC, section 5; EAS 2015)",
}


def _mechanism(evidence: list[Evidence]) -> str:
    tags = dict.fromkeys(e.tag for e in evidence)
    return "; ".join(MECHANISM[t] for t in tags) + "."


STEPS = {
    "fibrate": "Avoid gemfibrozil with any statin (contraindicated with simvastatin, FDA 2011).",
    "cyp3a4": "With a strong CYP3A4 inhibitor: hold simvastatin or lovastatin for the course, limit atorvastatin, "
              "or use pravastatin or rosuvastatin (FDA 2011).",
    "ck": f"CK above the upper limit: find its cause before starting a statin; above {CK_STOP.value:g} x ULN, repeat "
          "CK before deciding (EAS 2015).",
}
INTRO = {
    "fibrate": "Gemfibrozil raises statin levels and multiplies the risk, up to rhabdomyolysis.",
    "cyp3a4": "A strong CYP3A4 inhibitor raises the level of CYP3A4-dependent statins and multiplies the risk, up to "
              "rhabdomyolysis.",
    "ck": "A CK already above the upper limit has to be explained before a statin starts.",
}


def _tags(finding: OrderFinding) -> list[str]:
    return [tag for tag in STEPS if any(e.tag == tag for h in finding.hits for e in h.evidence)]


def _card(finding: OrderFinding, facts: PatientFacts) -> Card:
    tags = _tags(finding)
    return order_checks.card(
        RULE, finding, facts, headline=_headline,
        intro="Statin-associated muscle symptoms are aches or cramps of thighs and calves, often worse at night. "
              + " ".join(INTRO[t] for t in tags),
        next_steps=[STEPS[t] for t in tags],
        guideline_keys=("fda-simvastatin-2011", "aha-acc-cholesterol-2018", "eas-sams-2015"))


RULE = Rule(
    id="order-statin-muscle-symptoms", version="1.1.0", topic=Topic.STATIN_MUSCLE_SYMPTOMS,
    hooks=frozenset({ORDER_SELECT, ORDER_SIGN}), needs=("patient", "observations", "medications",
                                                        "medicationRequests"),
    applies=_applies, card=_card, analytes=("ck",), drug_classes=("statin", "fibrate", "strong-cyp3a4-inhibitor"),
    summary="A draft statin with an interacting drug or a CK above the upper limit, or a draft interacting drug "
            "with a current statin.",
    fires_when=f"draft starts a statin with current/drafted gemfibrozil or strong CYP3A4 inhibitor (simva-, lova-, "
               f"atorvastatin) or CK > ULN within {CK_WINDOW.value:g} days; or starts such a drug with a current "
               "statin",
    quiet_when="drafted drug already current (re-order); no interacting pair; CK within the lab's range",
    advice="Remove the draft, or replace a CYP3A4-dependent statin by pravastatin or rosuvastatin when a strong CYP3A4 "
           "inhibitor is current; with a CK above the upper limit, find its cause before starting a statin.",
    references=("fda-simvastatin-2011", "aha-acc-cholesterol-2018", "eas-sams-2015"),
)
