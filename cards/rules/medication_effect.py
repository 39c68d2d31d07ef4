"""Medication side effect: an active drug, other than a diuretic or statin, known to cause cramps, neuropathy or RLS.

Fires when: an active beta-2 agonist, vinca alkaloid (vincristine), antipsychotic, metoclopramide (D2-antagonist
  antiemetic), sedating antihistamine, SSRI, SNRI or mirtazapine; or an active proton-pump inhibitor together with
  a low magnesium (PPIs are listed only with the abnormality: they are very common and act through low magnesium).
Warning: a related moderate or worse lab abnormality in the latest result within {electrolytes.lookback:value} - beta-2
  agonist + low potassium or low magnesium; SSRI, SNRI (venlafaxine, duloxetine, desvenlafaxine) or vincristine + low
  sodium; PPI + low magnesium (graded exactly as the electrolyte card grades; a critical value stays a warning here, the
  electrolyte card carries it).
Info: the drug alone (a medication review prompt), or with a mild abnormality.
Quiet when: none of these drug classes is active (diuretics and statins have their own cards).
Kind: actionable when the card links a drug to an abnormal value (a current low K, Mg or Na, mild included); a drug
  alone is a possible cause, shown only with leg-symptom context.
Card text: the opening line leads with what the card acts on - the drug that may explain an abnormal value ("low
  sodium", "low potassium": direction first) - then the other leg symptoms of the classes present; without a linked
  value it names those symptoms. Each class present adds its own next
  step (cards.drug_effects, naming the patient's own drugs): no text meant for a drug the patient does not take.
  How long each drug has been taken is said where it is named (the medication line "since 2026-10-01 (7 weeks)", and
  "started 7 weeks ago" / "taken for 4 years" in the summary and the related-result line, from the drug's earliest
  record): a drug started weeks before a low sodium reads differently from one taken for years. An SSRI or SNRI
  with a low sodium adds the SIADH work-up step of its source.
Suggestion: one lab suggestion per chart - none when the electrolyte card is on the chart (it carries "Order basic
  metabolic panel and magnesium") or, for an RLS-aggravating drug, when the restless-legs card is; otherwise the same
  label and codes as the card that would carry it.
Needs: medications (+ medicationRequests), observations (potassium, magnesium, sodium).
References (per class, in cards.drug_effects): albuterol label and Bodenhamer 1992 (beta-2 agonists); ASCO CIPN 2020
  and the European hyponatraemia guideline 2014 (vincristine); AASM RLS 2024 (RLS-aggravating drugs); European
  hyponatraemia guideline 2014 (SSRIs); SNRI US labels, Warnings and Precautions: Hyponatremia (SNRIs); FDA PPI
  communication 2011. Lab grading: the electrolyte rule's (CTCAE v5).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from cards import card_text
from cards.drug_effects import EFFECTS, DrugEffect
from cards.facts import MedicationUse, PatientFacts
from cards.knowledge import threshold
from cards.model import Card, CardKind, Indicator, Suggestion
from cards.rule import PATIENT_VIEW, Rule
from cards.rules import electrolyte_imbalance as electrolytes, restless_legs
from cards.topics import Topic

LAB_WINDOW = threshold("electrolytes.lookback")  # the electrolyte rule's window (latest_graded reads it)
LOOKBACK = LAB_WINDOW.days


@dataclass(frozen=True)
class Implicated:
    medication: MedicationUse
    effect: DrugEffect
    related: tuple[electrolytes.Abnormal, ...]  # lab abnormalities this drug can explain
    since: datetime | None = None  # the earliest record of this drug (a re-ordered drug is taken since the first)


@dataclass(frozen=True)
class Finding:
    items: tuple[Implicated, ...]

    @property
    def with_lab(self) -> tuple[Implicated, ...]:
        return tuple(i for i in self.items if i.related)


def kind_of(finding: Finding) -> CardKind:
    """Actionable when a drug is linked to an abnormal value on the card; the drug class alone is a possible cause."""
    return CardKind.ACTIONABLE if finding.with_lab else CardKind.POSSIBLE_CAUSE


def _family(analyte: str) -> str:
    return "calcium" if analyte.startswith("calcium") else analyte


def abnormal_electrolytes(facts: PatientFacts) -> dict[tuple[str, str], electrolytes.Abnormal]:
    """(analyte family, direction) -> the graded abnormality of the latest result, as the electrolyte card sees it."""
    found: dict[tuple[str, str], electrolytes.Abnormal] = {}
    for result, key, note in electrolytes.latest_graded(facts):
        graded = electrolytes.assess(result, key)
        if graded is not None:
            found[(_family(result.analyte), graded.direction)] = graded
    return found


def _applies(facts: PatientFacts) -> Finding | None:
    labs = abnormal_electrolytes(facts)
    items: list[Implicated] = []
    seen: set[str] = set()
    for effect in EFFECTS:
        meds = facts.medications(effect.drug_class)
        for med in meds:
            if med.ingredient in seen:
                continue  # a drug in two classes, or on both a statement and a request: listed once
            related = tuple(labs[lab] for lab in effect.labs if lab in labs)
            if effect.needs_lab and not related:
                continue
            seen.add(med.ingredient)
            dates = [m.date for m in meds if m.ingredient == med.ingredient and m.date is not None]
            items.append(Implicated(med, effect, related, min(dates) if dates else None))
    if not items:
        return None
    items.sort(key=lambda i: (not i.related, i.medication.ingredient))
    return Finding(tuple(items))


def _lab_text(a: electrolytes.Abnormal) -> str:
    return (f"{a.direction} {card_text.ANALYTE_NAMES[a.result.analyte].lower()} {card_text.value_text(a.result)} "
            f"({a.result.day.isoformat()})")


def taken_text(since: datetime | None, now: datetime) -> str:
    """How long a drug has been taken, as a clinician says it: "started 2 weeks ago", "taken for 4 years" ("" when
    the record has no usable date)."""
    if since is None or since > now:
        return ""
    days = (now.date() - since.date()).days
    duration = card_text.duration_text(since, now)
    if days == 0:
        return "started today"
    return f"started {duration} ago" if days < 61 else f"taken for {duration}"


def _named(item: Implicated, now: datetime) -> str:
    taken = taken_text(item.since, now)
    return f"{item.medication.ingredient} ({taken})" if taken else item.medication.ingredient


def _summary(finding: Finding, now: datetime) -> str:
    names = [i.medication.ingredient for i in finding.items]
    if finding.with_lab:
        first = finding.with_lab[0]
        named = _named(first, now)
        text = f"{named[:1].upper() + named[1:]} may explain {_lab_text(first.related[0])}"
        others = [n for n in names if n != first.medication.ingredient]
        return text + (f"; also on {', '.join(others)}" if others else "")
    symptoms = list(dict.fromkeys(i.effect.symptom for i in finding.items))
    return f"On {', '.join(names)}: can cause or worsen {' and '.join(symptoms)} at night - review the need"


def _relations(finding: Finding, facts: PatientFacts) -> list[str]:
    """How this card relates to the others (clinical relations only), one line per lab abnormality."""
    by_lab: dict[tuple[str, str], tuple[electrolytes.Abnormal, list[str]]] = {}
    for item in finding.with_lab:
        for a in item.related:
            taken = taken_text(item.since, facts.now)
            by_lab.setdefault((a.result.analyte, a.direction), (a, []))[1].append(
                item.medication.ingredient + (f", {taken}" if taken else ""))
    lines = []
    for (analyte, direction), (a, names) in by_lab.items():
        also = sorted({m.ingredient for c in electrolytes.diuretic_explains(a) for m in facts.medications(c)})
        text = (f"{direction.capitalize()} {card_text.ANALYTE_NAMES[analyte].lower()} may be explained by "
                f"{'; '.join(names)} "
                "(see the *Electrolyte imbalance* card)")
        if also:
            text += f"; it is also typical of {', '.join(also)} (see the *Diuretic effect* card)"
        lines.append(text + ".")
    rls_drugs = [i.medication.ingredient for i in finding.items if i.effect.worsens_rls]
    rls_card = restless_legs.card_kind(facts) if rls_drugs else None
    if rls_card is not None:
        # Point to the RLS card only where it shows whenever this card does (both possible causes, or it actionable).
        see = rls_card is CardKind.ACTIONABLE or kind_of(finding) is CardKind.POSSIBLE_CAUSE
        lines.append(f"Restless legs or iron deficiency is on record: {', '.join(rls_drugs)} can worsen it"
                     + (" (see the *Restless legs syndrome* card)." if see else "."))
    return lines


def _suggestions(finding: Finding, facts: PatientFacts) -> list[Suggestion]:
    """One lab suggestion per chart: none when the card that owns those labs is on the chart (the electrolyte card
    carries the panel whenever it fires, the restless-legs card the iron studies it needs); otherwise the same label
    and codes as the other cards that offer it, so that an EHR can merge them."""
    if any(i.effect.labs for i in finding.items):
        if electrolytes.fires(facts):
            return []
        return [card_text.electrolyte_panel(facts.patient_id, "Drug-related electrolyte effect")]
    if restless_legs.card_kind(facts) is not None:
        return []
    return [card_text.order_suggestion(restless_legs.IRON_STUDIES, facts.patient_id,
                                       card_text.lab_orders(*restless_legs.IRON_STUDY_ORDERS),
                                       reason="Restless legs symptoms on an RLS-aggravating drug (AASM 2024)")]


# An SSRI or SNRI that may explain a low sodium: the SIADH work-up and what each source says about the drug.
SODIUM_STEPS = {
    "ssri": "{drugs} with a low sodium: SSRIs cause SIAD (European hyponatraemia guideline 2014; the work-up is on "
            "the *Electrolyte imbalance* card) - weigh another drug with the prescriber.",
    "snri": "{drugs} with a low sodium: SIADH is a labelled effect of SNRIs (the work-up is on the *Electrolyte "
            "imbalance* card); the labels advise considering stopping it if the hyponatraemia is symptomatic (SNRI "
            "labels, Hyponatremia).",
}


def next_steps(finding: Finding) -> list[str]:
    """The general step, then one step per drug class present naming only the patient's drugs of that class."""
    steps = ["Review each drug's indication and dose with its prescriber; do not stop it automatically."]
    by_effect: dict[DrugEffect, list[str]] = {}
    for item in finding.items:
        by_effect.setdefault(item.effect, []).append(item.medication.ingredient)
    low_sodium: dict[str, list[str]] = {}
    for item in finding.with_lab:
        if item.effect.drug_class in SODIUM_STEPS and any(a.family == "sodium" and a.direction == "low"
                                                          for a in item.related):
            low_sodium.setdefault(item.effect.drug_class, []).append(item.medication.ingredient)
    for effect, drugs in by_effect.items():
        # A drug that may explain a low sodium gets the sodium step; the class's general review step is left out.
        rest = [d for d in drugs if d not in low_sodium.get(effect.drug_class, ())]
        if rest:
            steps.append(effect.step(rest))
    for drug_class, names in low_sodium.items():
        joined = ", ".join(names)
        steps.append(SODIUM_STEPS[drug_class].replace("{drugs}", joined[:1].upper() + joined[1:]))
    if finding.with_lab:
        steps.append("Correct the related electrolyte abnormality and recheck it.")
    properties = list(dict.fromkeys(e.rls_property for e in by_effect if e.worsens_rls and e.rls_property))
    if properties:
        steps.append(f"If restless legs: consider an alternative without a {' or '.join(properties)} effect, and "
                     "check iron studies (AASM 2024).")
    return steps


def _card(finding: Finding, facts: PatientFacts) -> Card:
    # A drug that explains a lab abnormality is as urgent as that abnormality (a mild one is info), at most a warning:
    # the electrolyte card carries a critical value.
    worst = max((a.severity for i in finding.with_lab for a in i.related), key=electrolytes.SEVERITY_RANK.__getitem__,
                default=None)
    indicator = Indicator.INFO if worst in (None, "mild") else Indicator.WARNING
    rows = ["| Drug | Class | Effect on the legs | Related result | Source |", "|---|---|---|---|---|"]
    for item in finding.items:
        related = "; ".join(_lab_text(a) for a in item.related) or "-"
        rows.append(f"| {item.medication.display} | {item.effect.label} | {item.effect.mechanism} | {related} | "
                    f"{item.effect.source} |")
    symptoms = list(dict.fromkeys(i.effect.symptom for i in finding.items))
    single = finding.items[0].medication.ingredient
    these = single[:1].upper() + single[1:] if len(finding.items) == 1 else "These drugs"
    if finding.with_lab:
        # Lead with what the card acts on - the drug that may explain an abnormal value - then the class's other leg
        # symptoms (a low-potassium card does not open on restless legs).
        lab_drugs = ", ".join(dict.fromkeys(i.medication.ingredient for i in finding.with_lab))
        lows = dict.fromkeys(f"{a.direction} {card_text.ANALYTE_NAMES[a.result.analyte].lower()}"
                             for i in finding.with_lab for a in i.related)
        opening = (f"{lab_drugs[:1].upper() + lab_drugs[1:]} may explain the {' and '.join(lows)} below, itself a "
                   "cause of cramps and weakness.")
        other = [s for s in symptoms if not s.startswith("cramps")]
        if other:
            opening += (f" {these} can also cause or worsen {' or '.join(other)}, which patients describe as leg pain "
                        "at night.")
    else:
        opening = (f"{these} can cause or worsen {' or '.join(symptoms)}, which patients describe as leg pain at "
                   "night.")
    parts = [opening,
             card_text.bullets("Medications", (card_text.medication_line(i.medication, facts.now)[2:]
                                               for i in finding.items)),
             "\n".join(rows)]
    relations = _relations(finding, facts)
    if relations:
        parts.append("**Related:** " + " ".join(relations))
    parts.append(card_text.bullets("Next steps", next_steps(finding)))
    keys = list(dict.fromkeys(k for i in finding.items for k in i.effect.guideline_keys))
    if finding.with_lab:
        keys.append("ctcae-v5")
    return replace(card_text.make_card(rule=RULE, indicator=indicator, summary_text=_summary(finding, facts.now),
                                       detail="\n\n".join(parts), guideline_keys=tuple(dict.fromkeys(keys)),
                                       suggestions=_suggestions(finding, facts), facts=facts),
                   kind=kind_of(finding))


RULE = Rule(
    id="medication-effect", version="1.5.0", topic=Topic.MEDICATION_EFFECT, hooks=frozenset({PATIENT_VIEW}),
    needs=("patient", "observations", "medications", "medicationRequests"), applies=_applies, card=_card,
    analytes=("potassium", "magnesium", "sodium"), drug_classes=tuple(e.drug_class for e in EFFECTS),
    summary="Active non-diuretic, non-statin drug known to cause cramps, neuropathy or restless legs.",
    fires_when="active beta-2 agonist, vincristine, antipsychotic, metoclopramide, sedating antihistamine, SSRI, SNRI "
               f"or mirtazapine; or a PPI with low magnesium. Warning with a related moderate or worse low K/Mg/Na "
               f"within {LAB_WINDOW.value:g} days (low Na: SSRI, SNRI, vincristine; info when mild)",
    quiet_when="none of these drug classes active (a PPI only counts with low magnesium)",
    advice="Review each drug's indication and dose with its prescriber (no automatic stop), with one step per drug "
           "class present (e.g. the oncology team decides about vincristine), saying how long each drug has been "
           "taken; correct and recheck a related low potassium, magnesium or sodium; an SSRI or SNRI with a low "
           "sodium: SIAD named as the likely mechanism, stopping considered if symptomatic; "
           "with restless legs, an alternative without the aggravating effect and iron studies. The lab order is "
           "suggested here only when the electrolyte (or restless-legs) card that carries it is not on the chart.",
    actionable_when=f"a drug the card links to an abnormal value: beta-2 agonist + low K or Mg, SSRI/SNRI/vincristine "
                    f"+ low Na, PPI + low Mg (latest result within {LAB_WINDOW.value:g} days, mild included)",
    possible_cause_when="a drug class alone, with no linked abnormal value (e.g. an SSRI or an antipsychotic that can "
                        "worsen restless legs, a beta-2 agonist with normal electrolytes, vincristine neuropathy)",
    references=("albuterol-label", "bodenhamer-1992", "aasm-rls-2024", "asco-cipn-2020", "fda-ppi-2011",
                "hyponatraemia-2014", "snri-labels-hyponatremia", "ctcae-v5"),
)
