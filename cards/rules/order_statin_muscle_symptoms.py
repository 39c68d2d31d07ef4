"""Order-time check: a draft statin or statin-interacting drug that raises this patient's myopathy risk.

Fires when: a draft order starts (cards.order_checks: not already current)
  - a statin while an interacting drug is current or drafted too: gemfibrozil with any statin, a strong CYP3A4
    inhibitor (clarithromycin, itraconazole, ketoconazole, ritonavir ...) with simvastatin, lovastatin or
    atorvastatin (the same pairs as the patient-view rule statin-muscle-symptoms); or
  - a statin while the latest CK within 90 days is above the lab's upper limit (default 170 U/L); or
  - an interacting drug while a statin it interacts with is current.
Warning, one card listing every such draft. Suggestions remove the draft; a CYP3A4-dependent statin drafted with
  a strong CYP3A4 inhibitor may instead be replaced by pravastatin or rosuvastatin (not CYP3A4-dependent).
Quiet when: no such draft; the drafted drug is already current (a re-order); CK within the lab's range.
Needs: draftOrders, medications (+ medicationRequests), observations (CK).
References: FDA simvastatin Drug Safety Communication 2011 (gemfibrozil, CYP3A4 inhibitors; clinical-reference.md
  §5.3); 2018 AHA/ACC cholesterol guideline §5 (statin safety, Table 3 statin intensity); NLA 2014.
"""
from __future__ import annotations

from cards import card_text, order_checks
from cards.facts import PatientFacts
from cards.model import Card
from cards.order_checks import Alternative, Evidence, Hit, OrderFinding
from cards.rule import ORDER_SELECT, ORDER_SIGN, Rule
from cards.rules import statin_muscle_symptoms as sams
from cards.topics import Topic

# Replacements for a CYP3A4-dependent statin next to a strong CYP3A4 inhibitor: pravastatin and rosuvastatin are not
# CYP3A4-dependent (FDA 2011; clinical-reference.md §5.3). RxNorm SCDs from clinical-reference §3.3 [VSAC]; the
# strengths are moderate-intensity doses (2018 AHA/ACC cholesterol guideline, Table 3: pravastatin 40-80 mg,
# rosuvastatin 5-10 mg) - the clinician adjusts the dose to the intended intensity before signing.
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
    ck = facts.latest("ck", sams.LOOKBACK)
    uln = ck.ref_high if ck is not None and ck.ref_high else sams.DEFAULT_CK_ULN
    ck_high = ck is not None and ck.value > uln
    hits = []
    for draft in statin_drafts:
        pairs = sams.interactions([draft], facts.medications() + other_drafts)
        evidence: list[Evidence] = [order_checks.drug_evidence(p.other, p.reason, facts.now, _tag(p))
                                    for p in pairs]
        if ck_high and ck is not None:
            evidence.append(order_checks.lab_evidence(
                ck, f"{ck.value / uln:.1f} x the upper limit ({'lab' if ck.ref_high else 'default'} "
                    f"{uln:.0f} U/L): possible muscle injury before the statin starts",
                card_text.range_text(ck, (None, sams.DEFAULT_CK_ULN)), tag="ck"))
        if not evidence:
            continue
        cyp3a4 = any(_tag(p) == "cyp3a4" for p in pairs)
        alternatives = tuple(a for a in NON_CYP3A4_ALTERNATIVES if a.ingredient != draft.ingredient) \
            if cyp3a4 and not ck_high else ()
        hits.append(Hit(draft, tuple(evidence), _mechanism(evidence), alternatives))
    for draft in other_drafts:
        pairs = sams.interactions(facts.medications("statin"), [draft])
        if pairs:
            evidence = [order_checks.drug_evidence(p.statin, p.reason, facts.now, _tag(p)) for p in pairs]
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
          "cannot be judged (2018 AHA/ACC §5; clinical-reference.md §5.3)",
}


def _mechanism(evidence: list[Evidence]) -> str:
    tags = dict.fromkeys(e.tag for e in evidence)
    return "; ".join(MECHANISM[t] for t in tags) + "."


def _tag(pair: sams.Interaction) -> str:
    return "fibrate" if pair.other.ingredient in sams.FIBRATE_INTERACTING else "cyp3a4"


STEPS = {
    "fibrate": "Avoid gemfibrozil with any statin (if a fibrate is needed, fenofibrate carries less risk, "
               "clinical-reference.md §5.2).",
    "cyp3a4": "With a strong CYP3A4 inhibitor: hold simvastatin or lovastatin for the course, limit atorvastatin, "
              "or use pravastatin or rosuvastatin (FDA 2011).",
    "ck": "CK above the upper limit: find its cause before starting a statin; above 4 x ULN, recheck in 2-6 weeks "
          "(clinical-reference.md §5.3).",
}


def _steps(finding: OrderFinding) -> list[str]:
    tags = {e.tag for h in finding.hits for e in h.evidence}
    return [text for tag, text in STEPS.items() if tag in tags]


def _card(finding: OrderFinding, facts: PatientFacts) -> Card:
    return order_checks.card(
        RULE, finding, facts, headline=_headline,
        intro="Statin-associated muscle symptoms are aches or cramps of thighs and calves, often worse at night; "
              "drugs that raise statin levels multiply the risk, up to rhabdomyolysis.",
        next_steps=_steps(finding),
        guideline_keys=("fda-simvastatin-2011", "aha-acc-cholesterol-2018", "nla-2014"))


RULE = Rule(
    id="order-statin-muscle-symptoms", version="1.0.0", topic=Topic.STATIN_MUSCLE_SYMPTOMS,
    hooks=frozenset({ORDER_SELECT, ORDER_SIGN}), needs=("patient", "observations", "medications",
                                                        "medicationRequests"),
    applies=_applies, card=_card, analytes=("ck",), drug_classes=("statin", "fibrate", "strong-cyp3a4-inhibitor"),
    summary="A draft statin with an interacting drug or a CK above the upper limit, or a draft interacting drug "
            "with a current statin.",
    fires_when="draft starts a statin with current/drafted gemfibrozil or strong CYP3A4 inhibitor (simva-, lova-, "
               "atorvastatin) or CK > ULN within 90 days; or starts such a drug with a current statin",
    quiet_when="drafted drug already current (re-order); no interacting pair; CK within the lab's range",
    references=("fda-simvastatin-2011", "aha-acc-cholesterol-2018", "nla-2014"),
)
