"""Order-time check: a draft statin or statin-interacting drug that its US label contraindicates, advises against or
dose-limits with this patient's drugs, or a draft statin with a raised CK or rhabdomyolysis on record.

Fires when: a draft order starts (cards.order_checks: not already current)
  - a statin while a drug its label contraindicates, advises avoiding or dose-limits is current or drafted too (the
    interaction table of the patient-view rule statin-muscle-symptoms: a cap counts when the statin dose exceeds it or
    cannot be read); or
  - a statin while the latest CK within the CK window is above the lab's upper limit (else the default), or an
    active rhabdomyolysis diagnosis is on record; or
  - an interacting drug while a statin it interacts with (as above) is current.
Warning, one card listing every such draft; info when the only finding is a CK of at most 4 x ULN. Suggestions remove
  the draft (never for a CK of at most 4 x ULN alone: the statin can usually be continued, NLA 2014); a statin drafted
  with an interacting drug may instead be replaced by pravastatin or rosuvastatin at a strength within their own
  labels with the same drugs.
Quiet when: no such draft; the drafted drug is already current (a re-order); CK within the lab's range; a "caution"
  pair or a dose within the labelled maximum.
Thresholds and windows: cards/knowledge/data/statin.json (shared with statin-muscle-symptoms); interactions:
  cards/knowledge/data/interactions/statin.json.
Needs: draftOrders, medications (+ medicationRequests), observations (CK), conditions.
References: statin US labels (simvastatin 2023, lovastatin 2012 revision, atorvastatin 2022, rosuvastatin,
  pravastatin); FDA simvastatin Drug Safety Communication 2011; 2018 AHA/ACC cholesterol guideline, section 5 (statin
  safety) and Table 3 (statin intensity); EAS SAMS consensus 2015 (CK); NLA 2014 (CK <= 4 x ULN).
"""
from __future__ import annotations

import dataclasses

from cards import card_text, order_checks
from cards.facts import MedicationUse, PatientFacts
from cards.knowledge import interactions as labels, threshold
from cards.model import Card, Indicator, SelectionBehavior
from cards.order_checks import Alternative, Evidence, Hit, OrderFinding
from cards.rule import ORDER_SELECT, ORDER_SIGN, Rule
from cards.rules import statin_muscle_symptoms as sams
from cards.topics import Topic

CK_WINDOW = threshold("statin.ck-lookback")
DEFAULT_CK_ULN = threshold("statin.ck-default-uln")
CK_ABOVE_ULN = threshold("statin.ck-above-uln")
CK_STOP = threshold("statin.ck-stop-multiple")

# Replacements for a statin drafted next to an interacting drug: pravastatin and rosuvastatin are not
# CYP3A4-dependent (FDA 2011). RxNorm clinical drugs (SCD) from VSAC statin value-set expansions, also mapped in
# terminology/data/drugs/products.json; moderate-intensity strengths first (2018 AHA/ACC cholesterol guideline,
# Table 3: pravastatin 40-80 mg, rosuvastatin 5-10 mg), then lower ones for drugs whose label caps the dose (e.g.
# cyclosporine: pravastatin <= 20 mg, rosuvastatin <= 5 mg). The clinician adjusts the dose before signing.
NON_CYP3A4_ALTERNATIVES = (
    (40.0, Alternative("pravastatin", "904475", "pravastatin sodium 40 MG Oral Tablet",
                       "not metabolised by CYP3A4 (FDA 2011); moderate intensity (2018 AHA/ACC Table 3)")),
    (10.0, Alternative("rosuvastatin", "859747", "rosuvastatin calcium 10 MG Oral Tablet",
                       "not metabolised by CYP3A4 (FDA 2011); moderate intensity (2018 AHA/ACC Table 3)")),
    (20.0, Alternative("pravastatin", "904467", "pravastatin sodium 20 MG Oral Tablet",
                       "not metabolised by CYP3A4 (FDA 2011); within its label's limit with the interacting drug")),
    (5.0, Alternative("rosuvastatin", "859424", "rosuvastatin calcium 5 MG Oral Tablet",
                      "not metabolised by CYP3A4 (FDA 2011); within its label's limit with the interacting drug")),
)


def _replacements(draft: MedicationUse, others: list[str]) -> tuple[Alternative, ...]:
    """Per other statin, the highest listed strength its own label allows with every drug in `others`."""
    chosen: dict[str, Alternative] = {}
    for strength, alt in NON_CYP3A4_ALTERNATIVES:
        if alt.ingredient == draft.ingredient or alt.ingredient in chosen:
            continue
        rows = [r for r in (labels.lookup(alt.ingredient, o) for o in others) if r is not None]
        if any(r.kind in ("contraindicated", "avoid") for r in rows):
            continue
        if all(r.max_mg is None or strength <= r.max_mg for r in rows if r.kind == "dose-cap"):
            chosen[alt.ingredient] = alt
    return tuple(chosen.values())


def _pair_evidence(pair: sams.Interaction, facts: PatientFacts, *, statin_side: bool) -> Evidence:
    """The other drug (for a drafted statin) or the current statin (for a drafted interacting drug)."""
    med = pair.other if statin_side else pair.statin
    line = card_text.medication_line(med, facts.now).removeprefix("- ")
    kind = "also drafted" if med.draft else "active"
    dose = f" ({pair.dose.text}: {pair.dose.how})" if pair.row.kind == "dose-cap" else ""
    name = f"{kind} {med.ingredient}"
    return Evidence(line=f"With {kind} {line}{dose}: {pair.reason}, {pair.row.where}",
                    short=f"{name}: {pair.verdict}", tag="interaction")


def _applies(facts: PatientFacts) -> OrderFinding | None:
    drafts = order_checks.new_drafts(facts)
    if not drafts:
        return None
    statin_drafts = [d for d in drafts if "statin" in d.classes]
    other_drafts = [d for d in drafts if "statin" not in d.classes]
    ck = facts.latest("ck", CK_WINDOW.days)
    uln = sams.ck_upper_limit(ck)
    multiple = ck.value / uln if ck is not None else None
    rhabdo = facts.conditions(sams.RHABDO_VALUESET)
    current_others = [m for m in facts.medications() if "statin" not in m.classes]
    hits = []
    for draft in statin_drafts:
        pairs = [p for p in sams.interactions([draft], current_others + other_drafts) if p.serious]
        evidence = [_pair_evidence(p, facts, statin_side=True) for p in pairs]
        for match in rhabdo[:1]:
            evidence.append(order_checks.condition_evidence(match, "rhabdomyolysis on record", tag="rhabdo"))
        if ck is not None and multiple is not None and CK_ABOVE_ULN.met(multiple):
            high = CK_STOP.met(multiple)
            lab = order_checks.lab_evidence(
                ck, f"{multiple:.1f} x the upper limit ({'lab' if ck.ref_high else 'default'} {uln:.0f} U/L): "
                    + ("possible muscle injury before the statin starts" if high else
                       f"a mild rise (at most {CK_STOP.value:g} x ULN): usually no reason to withhold a statin"),
                card_text.range_text(ck, (None, DEFAULT_CK_ULN.value)), tag="ck" if high else "ck-mild",
                qualifier="high")
            evidence.append(dataclasses.replace(lab, short=f"{lab.short}: {multiple:.1f} x ULN" + (
                "" if high else ", no reason alone to withhold it")))
        if not evidence:
            continue
        blocked = rhabdo or (multiple is not None and CK_STOP.met(multiple))
        alternatives = () if blocked or not pairs else _replacements(draft, [p.other.ingredient for p in pairs])
        hits.append(Hit(draft, tuple(evidence), _mechanism(evidence), alternatives))
    for draft in other_drafts:
        pairs = [p for p in sams.interactions(facts.medications("statin"), [draft]) if p.serious]
        if pairs:
            evidence = [_pair_evidence(p, facts, statin_side=False) for p in pairs]
            hits.append(Hit(draft, tuple(evidence), _mechanism(evidence)))
    return OrderFinding(tuple(hits)) if hits else None


def _headline(hit: Hit) -> str:
    """The draft (a statin with its dose when read, as caps depend on it) and its first finding."""
    name = hit.draft.ingredient
    if "statin" in hit.draft.classes and hit.evidence[0].tag == "interaction":
        dose = labels.daily_dose(hit.draft)
        name += f" {dose.mg:g} mg" if dose.mg is not None else ""
    return f"Draft {name} with {order_checks.findings_text(hit)}"


MECHANISM = {
    "interaction": "the interacting drug raises the statin's blood level (CYP3A4 or transporter inhibition) or adds "
                   "its own muscle toxicity, multiplying the risk of myopathy and rhabdomyolysis (statin labels)",
    "rhabdo": "a statin after rhabdomyolysis risks a recurrence: no statin until CK and kidney function have "
              "recovered (2018 AHA/ACC, section 5)",
    "ck": "CK is already above 4 x the upper limit: find its cause first, or later muscle symptoms on the statin "
          "cannot be judged (2018 AHA/ACC, section 5; EAS 2015)",
    "ck-mild": f"a CK of at most {CK_STOP.value:g} x the upper limit is no reason alone to withhold a statin "
               "(NLA 2014); note it as the baseline",
}


def _mechanism(evidence: list[Evidence]) -> str:
    tags = dict.fromkeys(e.tag for e in evidence)
    return "; ".join(MECHANISM[t] for t in tags) + "."


def _pairs(finding: OrderFinding, facts: PatientFacts) -> list[sams.Interaction]:
    """The serious pairs that involve a flagged draft."""
    statins = facts.medications("statin", include_drafts=True)
    others = [m for m in facts.medications(include_drafts=True) if "statin" not in m.classes]
    drafted = {h.draft.ingredient for h in finding.hits}
    return [p for p in sams.interactions(statins, others)
            if p.serious and (p.statin.ingredient in drafted or p.other.ingredient in drafted)]


STEPS = {
    "rhabdo": "Rhabdomyolysis on record: do not start a statin now; decide on lipid lowering once CK and kidney "
              "function have recovered (2018 AHA/ACC, section 5).",
    "ck": f"CK above {CK_STOP.value:g} x ULN: find its cause and repeat CK before starting a statin (EAS 2015).",
    "ck-mild": f"CK at most {CK_STOP.value:g} x ULN: the statin can usually be started or continued (NLA 2014); "
               "recheck CK if muscle symptoms develop.",
}
INTRO = {
    "interaction": "The statin's US label contraindicates, advises avoiding or limits the dose of this combination: "
                   "together they raise the risk of myopathy, up to rhabdomyolysis.",
    "rhabdo": "Rhabdomyolysis is on record.",
    "ck": "A CK above 4 x the upper limit has to be explained before a statin starts.",
    "ck-mild": "A mildly raised CK is on record.",
}
ORDER = ("interaction", "rhabdo", "ck", "ck-mild")


def _tags(finding: OrderFinding) -> list[str]:
    return [tag for tag in ORDER if any(e.tag == tag for h in finding.hits for e in h.evidence)]


def _card(finding: OrderFinding, facts: PatientFacts) -> Card:
    tags = _tags(finding)
    pairs = _pairs(finding, facts) if "interaction" in tags else []
    steps = list(dict.fromkeys(f"{p.reason}: {sams.alternative_text(p)}." for p in pairs))
    steps += [STEPS[t] for t in tags if t in STEPS]
    serious = any(e.tag != "ck-mild" for h in finding.hits for e in h.evidence)
    keys = tuple(dict.fromkeys([p.row.source for p in pairs] + (
        ["fda-simvastatin-2011"] if any(p.statin.ingredient == "simvastatin" for p in pairs) else [])))
    built = order_checks.card(
        RULE, finding, facts, headline=_headline,
        intro="Statin-associated muscle symptoms are aches or cramps of thighs and calves, often worse at night. "
              + " ".join(INTRO[t] for t in tags),
        next_steps=steps,
        guideline_keys=keys + ("aha-acc-cholesterol-2018", "eas-sams-2015", "nla-2014"),
        indicator=Indicator.WARNING if serious else Indicator.INFO)
    # A CK of at most 4 x ULN alone is no reason to remove a drafted statin: offer removal only for drafts with
    # another finding.
    removable = OrderFinding(tuple(h for h in finding.hits if any(e.tag != "ck-mild" for e in h.evidence)))
    offered = order_checks.suggestions(removable, facts.patient_id) if removable.hits else []
    return dataclasses.replace(built, suggestions=tuple(offered),
                               selection_behavior=SelectionBehavior.AT_MOST_ONE if offered else None)


RULE = Rule(
    id="order-statin-muscle-symptoms", version="1.2.0", topic=Topic.STATIN_MUSCLE_SYMPTOMS,
    hooks=frozenset({ORDER_SELECT, ORDER_SIGN}), needs=("patient", "observations", "medications",
                                                        "medicationRequests", "conditions"),
    applies=_applies, card=_card, analytes=("ck",), valuesets=(sams.RHABDO_VALUESET,),
    drug_classes=("statin", "fibrate", "strong-cyp3a4-inhibitor"),
    summary="A draft statin with a drug its label contraindicates, advises avoiding or dose-limits, a raised CK or "
            "rhabdomyolysis on record; or a draft interacting drug with a current statin.",
    fires_when=f"draft starts a statin with a current/drafted drug its US label contraindicates, advises avoiding, or "
               f"caps below the statin dose (or the dose cannot be read), with CK > ULN within {CK_WINDOW.value:g} "
               "days or with rhabdomyolysis on record; or starts such a drug with a current statin",
    quiet_when="drafted drug already current (re-order); no labelled pair, or a caution pair or a dose within the cap; "
               "CK within the lab's range",
    advice="Remove the draft, or replace the statin by pravastatin or rosuvastatin at a strength within their own "
           "labels; for a macrolide, another antibiotic (azithromycin); a CK of at most 4 x ULN is noted but is no "
           "reason to remove a statin (no removal offered).",
    references=sams.RULE.references,
)
