"""Poor circulation: chronic venous insufficiency, varicose veins, or diabetic peripheral neuropathy.

Fires when: an active diagnosis of chronic venous insufficiency (I87.2), varicose veins of the legs (the ICD-10-CM
  I83 codes of the value set, painful I83.81x and I83.9x included), or diabetic peripheral neuropathy (SNOMED CT /
  E10.4x, E11.4x codes) - by code or, last resort, by text when the Condition has no ICD-10-CM or SNOMED CT coding.
  Info.
Notes (only when the data are present): with diabetic neuropathy, the latest HbA1c and vitamin B12 within the note
  window, HbA1c against the ADA diabetic range and B12 against the BSH 2014 cut-off (cards/knowledge/data/
  circulation.json). Metformin is not named: "B12 on metformin" needs a verified metformin code, which the
  terminology data do not hold yet.
Quiet when: none of these diagnoses is active.
Also says: venous pain eases with elevation while arterial rest pain worsens with it (see the PAD card when PAD is
  on record).
Needs: conditions, observations (HbA1c, B12).
References: SVS/AVF/AVLS varicose vein guideline 2022 (duplex ultrasound, compression); ADA Standards of Care 2025,
  section 12 (annual monofilament and one other sensory test) and section 2 (HbA1c >= 6.5 %); BSH cobalamin and
  folate guideline 2014 (serum B12 cut-off).
"""
from __future__ import annotations

from dataclasses import dataclass

from cards import card_text
from cards.facts import ConditionMatch, LabResult, PatientFacts
from cards.knowledge import threshold
from cards.model import Card, Indicator, Suggestion
from cards.rule import PATIENT_VIEW, Rule
from cards.rules import peripheral_artery_disease as pad
from cards.topics import Topic

NOTE_WINDOW = threshold("circulation.lab-lookback")
NOTE_LOOKBACK = NOTE_WINDOW.days
WINDOW_TEXT = f"{NOTE_WINDOW.value * 12 / 365:g} months"
HBA1C_DIABETES = threshold("circulation.hba1c-diabetes")
B12_LOW = threshold("circulation.b12-low")

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
        parts.insert(1 if finding.venous else 0, "Diabetic peripheral neuropathy causes burning, tingling or numb "
                                                  "feet and legs, typically worse at night.")
        rows = []
        cut = f"{HBA1C_DIABETES.value:g}%"
        if finding.hba1c is not None:
            rows.append((finding.hba1c, "-", f"diabetic range (>= {cut})" if HBA1C_DIABETES.met(
                finding.hba1c.value_in("%")) else f"below {cut}"))
        if finding.b12 is not None:
            low = B12_LOW.met(finding.b12.value_in("pg/mL"))
            rows.append((finding.b12, card_text.range_text(finding.b12, (B12_LOW.value, None)),
                         f"low (< {B12_LOW.value:g} pg/mL, BSH 2014): B12 deficiency also causes neuropathy" if low
                         else "adequate"))
        if rows:
            parts.append(card_text.lab_table(rows, facts.now))
        steps += ["Annual 10-g monofilament plus one other sensory test; foot care; glycaemic control "
                  "(ADA 2025, section 12)."]
        if finding.b12 is None:
            steps.append(f"No vitamin B12 in {WINDOW_TEXT}: B12 deficiency is a treatable cause of neuropathy.")
            suggestions.append(card_text.order_suggestion("Order vitamin B12", facts.patient_id,
                                                          card_text.lab_orders("b12"),
                                                          reason="Peripheral neuropathy"))
        if finding.hba1c is None:
            suggestions.append(card_text.order_suggestion("Order HbA1c", facts.patient_id,
                                                          card_text.lab_orders("hba1c"),
                                                          reason="Diabetic neuropathy: glycaemic control"))
        related.append("Neuropathy can mimic or cause restless legs.")
        keys.append("ada-2025")
        if finding.b12 is not None:
            keys.append("bsh-cobalamin-2014")
    if related:
        parts.append(card_text.bullets("Related", related))
    parts.append(card_text.bullets("Next steps", steps))
    return card_text.make_card(rule=RULE, indicator=Indicator.INFO, summary_text=_summary(finding),
                               detail="\n\n".join(parts), guideline_keys=tuple(keys), suggestions=suggestions,
                               facts=facts)


RULE = Rule(
    id="poor-circulation", version="1.1.0", topic=Topic.POOR_CIRCULATION, hooks=frozenset({PATIENT_VIEW}),
    needs=("patient", "observations", "conditions"), applies=_applies, card=_card, analytes=("hba1c", "b12"),
    valuesets=VENOUS + (NEUROPATHY,),
    summary="Active chronic venous insufficiency, varicose veins or diabetic peripheral neuropathy; info.",
    fires_when="active venous insufficiency, varicose veins or diabetic neuropathy diagnosis (code, or text as a "
               "last resort)",
    quiet_when="none of these diagnoses active; a Condition coded in ICD-10-CM or SNOMED CT outside the value sets "
               "does not match by its text",
    advice="Venous disease: venous duplex ultrasound if not done, compression and leg elevation. Diabetic neuropathy: "
           "annual 10-g monofilament plus one other sensory test, foot care and glycaemic control; vitamin B12 "
           f"(a treatable cause of neuropathy) and HbA1c when none exists within {WINDOW_TEXT}.",
    references=("svs-venous-2022", "ada-2025", "bsh-cobalamin-2014"),
)
