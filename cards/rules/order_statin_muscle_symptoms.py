"""Order-time check: a draft statin or statin-interacting drug that its US label contraindicates, advises against or
dose-limits with this patient's drugs, a draft simvastatin {statin.simvastatin-restricted-dose:value}, or a draft statin
  with a CK above {statin.ck-stop-multiple:value} or
rhabdomyolysis on record.

Fires when: a draft order starts (cards.order_checks: not already current)
  - a statin while a drug its label contraindicates, advises avoiding or dose-limits is current or drafted too (the
    interaction table of the patient-view rule statin-muscle-symptoms: a cap counts when the statin dose exceeds it or
    cannot be read); or
  - a statin while the latest CK within the CK window is above {statin.ck-stop-multiple:value} (the lab's upper limit,
    else the default; EAS 2015: find its cause and repeat CK first), or an active rhabdomyolysis diagnosis is on record;
    or
  - an interacting drug while a statin it interacts with (as above) is current; or
  - simvastatin at {statin.simvastatin-restricted-dose:value} a day (FDA Drug Safety Communication 2011-06-08: not to be
    started in new patients, nor by raising a lower simvastatin dose), unless simvastatin
    {statin.simvastatin-restricted-dose:value} is already current (a renewal).
Warning, one card listing every such draft. Suggestions remove the draft; a statin drafted with an interacting drug
  may instead be replaced by pravastatin or rosuvastatin at a strength within their own labels with the same drugs
  (the labelled starting dose where the label gives one: pravastatin 10 mg with cyclosporine).
Quiet when: no such draft; the drafted drug is already current (a re-order); CK at most {statin.ck-stop-multiple:value}
  (NLA 2014: no reason to withhold a statin); a "caution" pair or a dose within the labelled maximum.
Thresholds and windows: cards/knowledge/data/thresholds/statin.json (shared with statin-muscle-symptoms); interactions:
  cards/knowledge/data/interactions/statin.json.
Needs: draftOrders, medications (+ medicationRequests), observations (CK), conditions.
References: statin US labels (simvastatin 2023, lovastatin (Mevacor 2014), atorvastatin 2022, rosuvastatin,
  pravastatin), each cited only for its own statin; FDA simvastatin Drug Safety Communication 2011
  ({statin.simvastatin-restricted-dose:value}); 2018 AHA/ACC cholesterol guideline, section 5 (statin safety) and Table
  3 (statin intensity); EAS SAMS consensus 2015 (CK); NLA 2014 (CK <= {statin.ck-stop-multiple:value}).
"""
from __future__ import annotations

import dataclasses

from cards import card_text, order_checks
from cards.facts import MedicationUse, PatientFacts
from cards.knowledge import interactions as labels, threshold
from cards.model import Card, Indicator
from cards.order_checks import Alternative, Evidence, Hit, OrderFinding
from cards.rule import ORDER_SELECT, ORDER_SIGN, Rule
from cards.rules import statin_muscle_symptoms as sams
from cards.topics import Topic

CK_WINDOW = threshold("statin.ck-lookback")
DEFAULT_CK_ULN = threshold("statin.ck-default-uln")
CK_STOP = threshold("statin.ck-stop-multiple")

# Replacements for a statin drafted next to an interacting drug: pravastatin and rosuvastatin are not
# CYP3A4-dependent (FDA 2011). RxNorm clinical drugs (SCD) from VSAC statin value-set expansions, also mapped in
# terminology/data/drugs/products.json; moderate-intensity strengths first (2018 AHA/ACC cholesterol guideline,
# Table 3: pravastatin 40-80 mg, rosuvastatin 5-10 mg), then lower ones for drugs whose label caps the dose (e.g.
# cyclosporine: pravastatin <= 20 mg, rosuvastatin <= 5 mg). The clinician adjusts the dose before signing.
# Pravastatin 10 mg: the starting dose its label gives with cyclosporine (RxNorm 904458, "pravastatin sodium 10 MG
# Oral Tablet", as in VSAC statin expansions and Synthea-generated FHIR data; mapped in products.json).
NON_CYP3A4_ALTERNATIVES = (
    (40.0, Alternative("pravastatin", "904475", "pravastatin sodium 40 MG Oral Tablet",
                       "not metabolised by CYP3A4 (FDA 2011); moderate intensity (2018 AHA/ACC Table 3)")),
    (10.0, Alternative("rosuvastatin", "859747", "rosuvastatin calcium 10 MG Oral Tablet",
                       "not metabolised by CYP3A4 (FDA 2011); moderate intensity (2018 AHA/ACC Table 3)")),
    (20.0, Alternative("pravastatin", "904467", "pravastatin sodium 20 MG Oral Tablet",
                       "not metabolised by CYP3A4 (FDA 2011); within its label's limit with the interacting drug")),
    (10.0, Alternative("pravastatin", "904458", "pravastatin sodium 10 MG Oral Tablet",
                       "not metabolised by CYP3A4 (FDA 2011); the starting dose its label gives with the interacting "
                       "drug")),
    (5.0, Alternative("rosuvastatin", "859424", "rosuvastatin calcium 5 MG Oral Tablet",
                      "not metabolised by CYP3A4 (FDA 2011); within its label's limit with the interacting drug")),
)


def _replacements(draft: MedicationUse, others: list[str]) -> tuple[Alternative, ...]:
    """Per other statin, the highest listed strength its own label allows with every drug in `others`: at most the
    labelled cap, and at most the labelled starting dose where the label gives one (pravastatin with cyclosporine:
    start at 10 mg, at most 20 mg)."""
    chosen: dict[str, Alternative] = {}
    for strength, alt in NON_CYP3A4_ALTERNATIVES:
        if alt.ingredient == draft.ingredient or alt.ingredient in chosen:
            continue
        rows = [r for r in (labels.lookup(alt.ingredient, o) for o in others) if r is not None]
        if any(r.kind in ("contraindicated", "avoid") for r in rows):
            continue
        if all(strength <= min(x for x in (r.max_mg, r.start_mg, strength) if x is not None)
               for r in rows if r.kind == "dose-cap"):
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
    # Simvastatin 80 mg is checked even when simvastatin is current at a lower dose (a raise to 80 mg is a start of
    # 80 mg, FDA 2011); a renewal while simvastatin 80 mg is already current is not (the patient-view card grades it).
    restricted = [d for d in facts.draft_orders if _restricted(d)]
    if restricted and sams.restricted_dose(facts.medications("statin"), facts.now) is not None:
        restricted = []
    if not drafts and not restricted:
        return None
    statin_drafts = [d for d in drafts if "statin" in d.classes]
    other_drafts = [d for d in drafts if "statin" not in d.classes]
    statin_drafts += [d for d in restricted if not any(d is x for x in statin_drafts)]
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
        if any(draft is x for x in restricted):
            evidence.insert(0, Evidence(
                line=f"Simvastatin {labels.daily_dose(draft).mg or 0:g} mg a day ({labels.daily_dose(draft).how}): "
                     f"the FDA restricts simvastatin {sams.SIMVA_RESTRICTED.value:g} mg to patients who have taken "
                     "it for 12 months or more without muscle injury; not to be started in new patients, including "
                     "those on a lower simvastatin dose (FDA 2011)",
                short="not to be started in new patients (FDA 2011)", tag="restricted-dose"))
        # A CK of at most 4 x ULN alone is no reason to withhold a statin (NLA 2014): no card for it.
        if ck is not None and multiple is not None and CK_STOP.met(multiple):
            lab = order_checks.lab_evidence(
                ck, f"{multiple:.1f} x the upper limit ({'lab' if ck.ref_high else 'default'} {uln:.0f} U/L): "
                    "possible muscle injury before the statin starts",
                card_text.range_text(ck, (None, DEFAULT_CK_ULN.value)), tag="ck", qualifier="high")
            evidence.append(dataclasses.replace(lab, short=f"{lab.short}: {multiple:.1f} x ULN"))
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


def _restricted(draft: MedicationUse) -> bool:
    """A drafted simvastatin at the FDA-restricted daily dose (80 mg)."""
    dose = labels.daily_dose(draft)
    return draft.ingredient == "simvastatin" and dose.mg is not None and sams.SIMVA_RESTRICTED.met(dose.mg)


def _headline(hit: Hit) -> str:
    """The draft (a statin with its dose when read, as caps depend on it) and its first finding."""
    name = hit.draft.ingredient
    if "statin" in hit.draft.classes and hit.evidence[0].tag in ("interaction", "restricted-dose"):
        dose = labels.daily_dose(hit.draft)
        name += f" {dose.mg:g} mg" if dose.mg is not None else ""
    if hit.evidence[0].tag == "restricted-dose":
        return f"Draft {name}: {order_checks.findings_text(hit)}"
    return f"Draft {name} with {order_checks.findings_text(hit)}"


MECHANISM = {
    "interaction": "the interacting drug raises the statin's blood level (CYP3A4 or transporter inhibition) or adds "
                   "its own muscle toxicity, multiplying the risk of myopathy and rhabdomyolysis (statin labels)",
    "rhabdo": "a statin after rhabdomyolysis risks a recurrence: no statin until CK and kidney function have "
              "recovered (2018 AHA/ACC, section 5)",
    "ck": "CK is already above 4 x the upper limit: find its cause first, or later muscle symptoms on the statin "
          "cannot be judged (2018 AHA/ACC, section 5; EAS 2015)",
    "restricted-dose": "simvastatin 80 mg carries a higher risk of muscle injury than lower doses (FDA 2011)",
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
    "restricted-dose": f"Simvastatin {sams.SIMVA_RESTRICTED.value:g} mg: do not start it, nor raise a lower dose "
                       "to it; if more LDL lowering is needed, use another LDL-lowering treatment (FDA 2011).",
}
INTRO = {
    "interaction": "The statin's US label contraindicates, advises avoiding or limits the dose of this combination: "
                   "together they raise the risk of myopathy, up to rhabdomyolysis.",
    "rhabdo": "Rhabdomyolysis is on record.",
    "ck": "A CK above 4 x the upper limit has to be explained before a statin starts.",
    "restricted-dose": "The FDA restricts simvastatin 80 mg to patients already taking it for 12 months or more "
                       "without muscle injury.",
}
ORDER = ("interaction", "restricted-dose", "rhabdo", "ck")


def _tags(finding: OrderFinding) -> list[str]:
    return [tag for tag in ORDER if any(e.tag == tag for h in finding.hits for e in h.evidence)]


def _card(finding: OrderFinding, facts: PatientFacts) -> Card:
    tags = _tags(finding)
    pairs = _pairs(finding, facts) if "interaction" in tags else []
    # The pair and its verdict are in the summary and the draft list: the step gives the safer choices.
    steps = list(dict.fromkeys(p.step for p in pairs))
    steps += [STEPS[t] for t in tags if t in STEPS]
    extra = [k for p in pairs for k in sams.step_sources(p)]
    keys = tuple(dict.fromkeys([p.row.source for p in pairs] + extra + (
        ["fda-simvastatin-2011"] if "restricted-dose" in tags or any(
            p.statin.ingredient == "simvastatin" for p in pairs) else [])))
    built = order_checks.card(
        RULE, finding, facts, headline=_headline,
        intro="Statin-associated muscle symptoms are aches or cramps of thighs and calves, often worse at night. "
              + " ".join(INTRO[t] for t in tags),
        next_steps=steps, heading="Flagged draft orders",
        guideline_keys=keys + ("aha-acc-cholesterol-2018", "eas-sams-2015", "nla-2014"),
        indicator=Indicator.WARNING)
    return built


RULE = Rule(
    id="order-statin-muscle-symptoms", version="1.3.0", topic=Topic.STATIN_MUSCLE_SYMPTOMS,
    hooks=frozenset({ORDER_SELECT, ORDER_SIGN}), needs=("patient", "observations", "medications",
                                                        "medicationRequests", "conditions"),
    applies=_applies, card=_card, analytes=("ck",), valuesets=(sams.RHABDO_VALUESET,),
    drug_classes=("statin", "fibrate", "strong-cyp3a4-inhibitor"),
    summary="A draft statin with a drug its label contraindicates, advises avoiding or dose-limits, a CK above "
            f"{CK_STOP.value:g} x ULN or rhabdomyolysis on record; a draft simvastatin "
            "{statin.simvastatin-restricted-dose:value} (FDA 2011); or a draft interacting drug with a current statin.",
    fires_when=f"draft starts a statin with a current/drafted drug its US label contraindicates, advises avoiding, or "
               f"caps below the statin dose (or the dose cannot be read), with CK > {CK_STOP.value:g} x ULN within "
               f"{CK_WINDOW.value:g} days or with rhabdomyolysis on record; or starts such a drug with a current "
               "statin; or drafts simvastatin {statin.simvastatin-restricted-dose:value} a day while no simvastatin "
               "{statin.simvastatin-restricted-dose:value} is current",
    quiet_when="drafted drug already current (re-order); no labelled pair, or a caution pair or a dose within the cap; "
               f"CK at most {CK_STOP.value:g} x ULN (NLA 2014); simvastatin "
               "{statin.simvastatin-restricted-dose:value} renewed while already current",
    advice="Remove the draft, or replace the statin by pravastatin or rosuvastatin at a strength within their own "
           "labels (the labelled starting dose where given); for a macrolide, another antibiotic (azithromycin); "
           "simvastatin {statin.simvastatin-restricted-dose:value}: do not start it, use another LDL-lowering "
           "treatment if more lowering is needed.",
    actionable_when="every finding: the drafted drug is its own context",
    possible_cause_when="never",
    references=sams.RULE.references,
)
