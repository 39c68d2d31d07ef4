"""Poor circulation: chronic venous insufficiency, varicose veins, or diabetic peripheral neuropathy.

Fires when: an active diagnosis of chronic venous insufficiency (I87.2), varicose veins of the legs (I83.92,
  I83.93), or diabetic peripheral neuropathy (SNOMED / E10.4x, E11.4x codes) - by code or, last resort, by text. Info.
Notes (only when the data are present and the codes verified): with diabetic neuropathy, the latest HbA1c (LOINC
  4548-4 [VSAC]) and vitamin B12 (LOINC 2132-9 [NLM]) within NOTE_LOOKBACK, and a B12 below B12_LOW. Metformin is
  not named: no verified metformin code exists in clinical-reference.md, so "B12 on metformin" is left out.
Quiet when: none of these diagnoses is active.
Also says: venous pain eases with elevation while arterial rest pain worsens with it (see the PAD card when PAD is
  on record).
Needs: conditions, observations (HbA1c, B12).
References: SVS/AVF/AVLS varicose vein guideline 2022; ADA Standards of Care 2025 §12 (neuropathy: annual
  monofilament, B12); clinical-reference.md §5.1 row J.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from cards import card_text
from cards.facts import ConditionMatch, LabResult, PatientFacts
from cards.model import Card, Indicator, Suggestion
from cards.rule import PATIENT_VIEW, Rule
from cards.rules import peripheral_artery_disease as pad
from cards.topics import Topic

NOTE_LOOKBACK = timedelta(days=365)  # source: clinical-reference.md §6.5 - 12-month window for non-urgent labs
B12_LOW = 200.0  # source: clinical-reference.md §1.4 - B12 < 200 pg/mL deficient (common practice, UNVERIFIED)
HBA1C_DIABETES = 6.5  # source: ADA Standards of Care 2025 §2 - HbA1c >= 6.5 % diabetic range

VENOUS = ("cond-venous-insufficiency", "cond-varicose-veins")
NEUROPATHY = "cond-diabetic-neuropathy"


@dataclass(frozen=True)
class Finding:
    venous: tuple[ConditionMatch, ...]
    neuropathy: tuple[ConditionMatch, ...]
    hba1c: LabResult | None
    b12: LabResult | None
    pad_on_record: bool


def _applies(facts: PatientFacts) -> Finding | None:
    venous = tuple(c for vs in VENOUS for c in facts.conditions(vs))
    neuropathy = tuple(facts.conditions(NEUROPATHY))
    if not venous and not neuropathy:
        return None
    hba1c = facts.latest("hba1c", NOTE_LOOKBACK) if neuropathy else None
    b12 = facts.latest("b12", NOTE_LOOKBACK) if neuropathy else None
    return Finding(venous, neuropathy, hba1c, b12, pad.RULE.applies(facts) is not None)


def _summary(finding: Finding) -> str:
    names = [c.display for c in finding.venous + finding.neuropathy]
    first = (finding.venous + finding.neuropathy)[0]
    code = f" ({first.code})" if first.code else ""
    more = f" and {len(names) - 1} more" if len(names) > 1 else ""
    if finding.venous:
        return f"{first.display}{code}{more}: venous leg pain, eased by elevation and compression"
    return f"{first.display}{code}{more}: burning or tingling legs, worse at night"


def _card(finding: Finding, facts: PatientFacts) -> Card:
    parts = [card_text.bullets("Diagnoses", (card_text.condition_line(c, facts.now)
                                             for c in finding.venous + finding.neuropathy))]
    steps: list[str] = []
    suggestions: list[Suggestion] = []
    related: list[str] = []
    keys: list[str] = []
    if finding.venous:
        parts.insert(0, "Venous insufficiency and varicose veins cause aching, heaviness and night cramps, worse "
                        "after standing and eased by leg elevation and compression.")
        steps += ["Venous duplex ultrasound if not done; compression and leg elevation (SVS/AVF/AVLS 2022)."]
        suggestions.append(card_text.order_suggestion("Order venous duplex ultrasound", facts.patient_id,
                                                      card_text.lab_orders("venous-duplex"),
                                                      reason="Chronic venous disease of the legs"))
        related.append("Venous pain eases with elevation; arterial rest pain worsens with it"
                       + (" (see the *Peripheral artery disease* card)." if finding.pad_on_record else "."))
        keys.append("svs-venous-2022")
    if finding.neuropathy:
        parts.insert(1 if finding.venous else 0, "Diabetic peripheral neuropathy causes burning, tingling or numb feet and legs, typically "
                        "worse at night.")
        rows = []
        if finding.hba1c is not None:
            rows.append((finding.hba1c, "-", "diabetic range (>= 6.5%)" if finding.hba1c.value_in("%") >= HBA1C_DIABETES
                         else "below 6.5%"))
        if finding.b12 is not None:
            rows.append((finding.b12, card_text.range_text(finding.b12, (B12_LOW, None)),
                         "low: B12 deficiency also causes neuropathy" if finding.b12.value_in("pg/mL") < B12_LOW else "adequate"))
        if rows:
            parts.append(card_text.lab_table(rows, facts.now))
        steps += ["Annual 10-g monofilament plus one other sensory test; foot care; glycaemic control (ADA 2025 §12)."]
        if finding.b12 is None:
            steps.append("No vitamin B12 in 12 months: B12 deficiency is a treatable cause of neuropathy.")
            suggestions.append(card_text.order_suggestion("Order vitamin B12", facts.patient_id,
                                                          card_text.lab_orders("b12"),
                                                          reason="Peripheral neuropathy"))
        if finding.hba1c is None:
            suggestions.append(card_text.order_suggestion("Order HbA1c", facts.patient_id,
                                                          card_text.lab_orders("hba1c"),
                                                          reason="Diabetic neuropathy: glycaemic control"))
        related.append("Neuropathy can mimic or cause restless legs.")
        keys.append("ada-2025")
    if related:
        parts.append(card_text.bullets("Related", related))
    parts.append(card_text.bullets("Next steps", steps))
    return card_text.make_card(rule=RULE, indicator=Indicator.INFO, summary_text=_summary(finding),
                               detail="\n\n".join(parts), guideline_keys=tuple(keys), suggestions=suggestions,
                               facts=facts)


RULE = Rule(
    id="poor-circulation", version="1.0.0", topic=Topic.POOR_CIRCULATION, hooks=frozenset({PATIENT_VIEW}),
    needs=("patient", "observations", "conditions"), applies=_applies, card=_card, analytes=("hba1c", "b12"),
    valuesets=VENOUS + (NEUROPATHY,),
    summary="Active chronic venous insufficiency, varicose veins or diabetic peripheral neuropathy; info.",
    fires_when="active venous insufficiency, varicose veins or diabetic neuropathy diagnosis (code, or text as a "
               "last resort)",
    quiet_when="none of these diagnoses active",
    references=("svs-venous-2022", "ada-2025"),
)
