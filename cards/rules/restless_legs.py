"""Restless legs syndrome: an RLS diagnosis, or iron deficiency by the AASM 2024 RLS thresholds.

Numbers and windows: cards/knowledge/data/thresholds/rls.json, named below by their ids.
Fires when: an active RLS diagnosis (incl. RLS in pregnancy); or iron deficiency in the latest results within the
  iron window - ferritin {rls.ferritin-iron-therapy} or transferrin saturation {rls.tsat-iron-therapy} (TSAT reported,
  or iron / TIBC as a percentage from the same day). These thresholds apply even inside the lab's normal range (AASM
  2024, good practice statement 1).
Warning: RLS diagnosis with ferritin {rls.ferritin-iron-therapy} or TSAT {rls.tsat-iron-therapy}; or, without an RLS
  diagnosis, iron deficiency in the general sense (ferritin {rls.ferritin-iron-deficiency}, a product choice, or TSAT
  {rls.tsat-iron-therapy}).
Info: RLS diagnosis without iron deficiency (or without iron studies: iron studies are suggested); RLS with ferritin
  {rls.ferritin-iron-therapy:value}-{rls.ferritin-iv-iron-only:value}, where AASM 2024 suggests IV iron only ("IV iron
  may help"); or, without an RLS diagnosis, ferritin
  {rls.ferritin-iron-deficiency:value}-{rls.ferritin-iron-therapy:value} - low only by the RLS treatment threshold. Iron
  deficiency is a cause of RLS symptoms, not a diagnosis of RLS: without a diagnosis the card asks about RLS symptoms
  and never calls it RLS.
Iron deficiency whose cause must be found: ferritin {rls.ferritin-iron-deficiency} (or iron-deficiency anaemia on the
  problem list), with or without RLS, leads with the cause - check haemoglobin; in a man or a postmenopausal woman (by
  age {rls.postmenopausal-age} when nothing better is recorded) the AGA 2020 guideline recommends bidirectional
  endoscopy for iron deficiency anaemia, in a premenopausal woman it suggests it (a shared decision). It stays on the
  restless-legs topic: this rule is the only one that reads iron studies, and the topic codes are fixed.
Treatment named with an RLS diagnosis: the first-line class, alpha-2-delta ligands (gabapentin enacarbil, gabapentin,
  pregabalin; AASM 2024 strong recommendation); an active dopamine agonist (pramipexole, ropinirole, rotigotine) is
  flagged for augmentation review (AASM 2024 suggests against their standard use); iron studies are repeated to
  follow iron therapy only when an iron supplement is on record.
Already on oral iron (RLS with ferritin {rls.ferritin-iron-therapy} or TSAT {rls.tsat-iron-therapy}): never "iron
  therapy" again. Iron studies drawn on it (the supplement started on or before them) that are still low point to IV
  iron when oral iron has failed or is not tolerated (AASM 2024: IV ferric carboxymaltose, strong recommendation) - no
  repeat suggested; iron studies that predate it (or an undated supplement) are repeated first, then IV iron if still
  low. The {rls.ferritin-iron-therapy:value}-{rls.ferritin-iv-iron-only:value} "IV iron only" range is named only when
  the ferritin is in it.
Secondary RLS: a current pregnancy (dated within {rls.pregnancy-current:value}: a pregnancy lasts at most ~42 weeks) or
  CKD G5 / dialysis (coded, or eGFR {rls.egfr-kidney-failure} within the iron window) names the RLS secondary. An older
  pregnancy is shown as not current, an undated one is mentioned ("if she is pregnant now"). Other CKD stages are
  mentioned, not labelled secondary: the AASM 2024 secondary-RLS recommendations address end-stage kidney disease on
  dialysis, and KDIGO G5 (eGFR {rls.egfr-kidney-failure}) is where the evidence is.
Also named: active RLS-aggravating drugs (antipsychotics, metoclopramide, sedating antihistamines, SSRIs/SNRIs,
  mirtazapine: cards.drug_effects), an active iron supplement (ferritin may already be rising), diabetic neuropathy
  (an RLS mimic).
Quiet when: no active RLS diagnosis and ferritin > {rls.ferritin-iron-therapy:value} and TSAT >=
  {rls.tsat-iron-therapy:value} (or no iron studies).
Kind: actionable with an iron value that calls for treatment or a work-up (RLS with ferritin {rls.ferritin-iron-therapy}
  or TSAT {rls.tsat-iron-therapy}; without RLS, ferritin {rls.ferritin-iron-deficiency} or TSAT
  {rls.tsat-iron-therapy}); otherwise - RLS with adequate or missing iron studies, a dopamine agonist to review for
  augmentation, ferritin {rls.ferritin-iron-deficiency:value}-{rls.ferritin-iron-therapy:value} without RLS - a possible
  cause.
Needs: patient (sex, age), conditions, observations (ferritin, TSAT, iron, TIBC, eGFR), medications.
References: AASM RLS/PLMD guideline 2024 (Winkelman, J Clin Sleep Med 2025;21(1):137-152); AGA iron deficiency anaemia
  guideline 2020 (Ko, Gastroenterology 2020;159:1085-1094); KDIGO CKD 2024 (G5 {rls.egfr-kidney-failure}).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from cards import card_text
from cards.drug_effects import BY_CLASS, RLS_AGGRAVATING
from cards.facts import ConditionMatch, LabResult, MedicationUse, PatientFacts
from cards.knowledge import threshold
from cards.model import Card, CardKind, Indicator, Suggestion
from cards.rule import PATIENT_VIEW, Rule
from cards.topics import Topic

IRON_WINDOW = threshold("rls.iron-lookback")
IRON_LOOKBACK = IRON_WINDOW.days
WINDOW_TEXT = f"{IRON_WINDOW.value * 12 / 365:g} months"
FERRITIN_RLS = threshold("rls.ferritin-iron-therapy")
TSAT_RLS = threshold("rls.tsat-iron-therapy")
FERRITIN_IV_ONLY = threshold("rls.ferritin-iv-iron-only")  # up to it: IV iron only
FERRITIN_DEFICIENT = threshold("rls.ferritin-iron-deficiency")  # iron deficiency in general
POSTMENOPAUSAL_AGE = threshold("rls.postmenopausal-age")  # when nothing better is recorded
PREGNANCY_CURRENT = threshold("rls.pregnancy-current")  # a pregnancy dated within it is current
EGFR_KIDNEY_FAILURE = threshold("rls.egfr-kidney-failure")  # CKD G5
TSAT_PER_IRON_TIBC = threshold("rls.tsat-from-iron-tibc").value  # percent
FERRITIN_TEXT = f"{FERRITIN_RLS.compare} {FERRITIN_RLS.value:g} ng/mL"
TSAT_TEXT = f"{TSAT_RLS.compare} {TSAT_RLS.value:g}%"
IV_RANGE_TEXT = f"{FERRITIN_RLS.value:g}-{FERRITIN_IV_ONLY.value:g} ng/mL"

RLS_VALUESETS = ("cond-rls", "cond-rls-pregnancy")
# The iron-studies suggestion, shared with the medication card (same label and codes, so that an EHR can merge them).
IRON_STUDIES = "Order iron studies (ferritin, iron, TIBC, transferrin saturation)"
IRON_STUDY_ORDERS = ("ferritin", "iron", "tibc", "tsat")
FIRST_LINE = "alpha2delta-ligand"
DOPAMINE_AGONIST = "dopamine-agonist"


@dataclass(frozen=True)
class Finding:
    rls: tuple[ConditionMatch, ...]
    ferritin: LabResult | None
    tsat: LabResult | None
    tsat_calculated: bool
    pregnancy: tuple[ConditionMatch, ...]  # current: dated within PREGNANCY_CURRENT (pregnancy or RLS in pregnancy)
    pregnancy_undated: tuple[ConditionMatch, ...]
    pregnancy_past: tuple[ConditionMatch, ...]
    kidney_failure: tuple[str, ...]
    ckd: tuple[ConditionMatch, ...]
    aggravating: tuple[MedicationUse, ...]
    iron_supplements: tuple[MedicationUse, ...]
    neuropathy: tuple[ConditionMatch, ...]
    iron_deficiency_anaemia: tuple[ConditionMatch, ...]
    dopamine_agonists: tuple[MedicationUse, ...] = ()
    first_line: tuple[MedicationUse, ...] = ()
    who: str | None = None  # "a man of 60", "a woman of 76 (postmenopausal by age)", ...
    menopause: str | None = None  # "man", "postmenopausal", "premenopausal", or None (sex or age unknown)

    @property
    def ferritin_low(self) -> bool:
        return ferritin_low(self.ferritin)

    @property
    def tsat_low(self) -> bool:
        return tsat_low(self.tsat)

    @property
    def iron_deficient(self) -> bool:
        return self.ferritin_low or self.tsat_low

    @property
    def absolute(self) -> bool:
        """Ferritin below the general iron-deficiency cut-off (30 ng/mL)."""
        return self.ferritin is not None and FERRITIN_DEFICIENT.met(self.ferritin.value_in("ng/mL"))

    @property
    def find_cause(self) -> bool:
        """Iron deficiency in the general sense, whose cause must be found (not only a cause of RLS)."""
        return self.absolute or bool(self.iron_deficiency_anaemia)

    @property
    def iv_iron_range(self) -> bool:
        """RLS with ferritin 75-100 ng/mL and no deficiency by TSAT: AASM 2024 suggests IV iron only."""
        return (bool(self.rls) and not self.iron_deficient and self.ferritin is not None
                and FERRITIN_IV_ONLY.met(self.ferritin.value_in("ng/mL")))

    @property
    def secondary(self) -> tuple[str, ...]:
        causes = []
        if self.pregnancy:
            causes.append("pregnancy")
        if self.kidney_failure:
            causes.append("CKD G5 / dialysis")
        return tuple(causes)


def ferritin_low(result: LabResult | None) -> bool:
    """Ferritin at or below the AASM 2024 iron-therapy cut-off (even inside the lab's range)."""
    return result is not None and FERRITIN_RLS.met(result.value_in("ng/mL"))


def tsat_low(result: LabResult | None) -> bool:
    """Transferrin saturation below the AASM 2024 iron-therapy cut-off."""
    return result is not None and TSAT_RLS.met(result.value_in("%"))


def transferrin_saturation(facts: PatientFacts) -> tuple[LabResult | None, bool]:
    """Reported TSAT, else iron / TIBC x 100 from the same day (never from different draws)."""
    reported = facts.latest("tsat", IRON_LOOKBACK)
    iron = facts.latest("iron", IRON_LOOKBACK)
    if iron is not None and (reported is None or iron.day > reported.day):
        tibc = next((t for t in facts.results("tibc", IRON_LOOKBACK) if t.day == iron.day), None)
        if tibc is not None and tibc.value_in("ug/dL") > 0:
            value = iron.value_in("ug/dL") / tibc.value_in("ug/dL") * TSAT_PER_IRON_TIBC
            calculated = LabResult(analyte="tsat", value=value, unit="%", date=iron.date, code="",
                                   display="Transferrin saturation (calculated)", observation_id=None,
                                   original=f"iron {card_text.fmt_value(iron.value_in('ug/dL'))} / TIBC "
                                            f"{card_text.fmt_value(tibc.value_in('ug/dL'))} ug/dL")
            return calculated, True
    return reported, False


def rls_conditions(facts: PatientFacts) -> tuple[ConditionMatch, ...]:
    """Active RLS diagnoses, one per Condition: SNOMED 1052284009 (RLS in pregnancy) is in both value sets and must
    not be listed twice; its RLS-in-pregnancy match is kept (it says more)."""
    found: dict[object, ConditionMatch] = {}
    for vs in RLS_VALUESETS:
        for c in facts.conditions(vs):
            found[c.condition_id or (c.display, c.code, c.date)] = c
    return tuple(found.values())


def _pregnancy(facts: PatientFacts, rls: tuple[ConditionMatch, ...]) -> tuple[tuple[ConditionMatch, ...], ...]:
    """(current, undated, past) pregnancy entries, RLS-in-pregnancy codes included: only a current one is a cause."""
    current, undated, past = [], [], []
    for c in list(facts.conditions("cond-pregnancy")) + [c for c in rls if c.valueset == "cond-rls-pregnancy"]:
        if c.date is None:
            undated.append(c)
        elif facts.now - c.date <= PREGNANCY_CURRENT.days:
            current.append(c)
        else:
            past.append(c)
    return tuple(current), tuple(undated), tuple(past)


def _population(facts: PatientFacts, pregnant_now: bool) -> tuple[str | None, str | None]:
    """Who the patient is for the AGA 2020 recommendations: (text, "man" / "postmenopausal" / "premenopausal")."""
    age = facts.age_years
    of_age = f" of {age}" if age is not None else ""
    if facts.sex == "male":
        return f"a man{of_age}", "man"
    if facts.sex != "female":
        return None, None
    if pregnant_now:
        return f"a pregnant woman{of_age}", "premenopausal"
    if age is None:
        return "a woman (age unknown)", None
    if POSTMENOPAUSAL_AGE.met(age):
        return f"a woman of {age} (postmenopausal by age)", "postmenopausal"
    return f"a woman of {age}", "premenopausal"


def _kidney_failure(facts: PatientFacts) -> tuple[str, ...]:
    found = [c.display for c in facts.conditions("cond-ckd-g5-dialysis")]
    egfr = facts.latest("egfr", IRON_LOOKBACK)
    if egfr is not None and EGFR_KIDNEY_FAILURE.met(egfr.value):  # eGFR has one unit (mL/min/1.73 m2)
        found.append(f"eGFR {card_text.fmt_value(egfr.value)} ({egfr.day.isoformat()})")
    return tuple(found)


def _applies(facts: PatientFacts) -> Finding | None:
    rls = rls_conditions(facts)
    ferritin = facts.latest("ferritin", IRON_LOOKBACK)
    tsat, calculated = transferrin_saturation(facts)
    if not rls and not (ferritin_low(ferritin) or tsat_low(tsat)):
        return None
    current, undated, past = _pregnancy(facts, rls)
    who, menopause = _population(facts, bool(current))
    g5_ids = {c.condition_id for c in facts.conditions("cond-ckd-g5-dialysis")}
    return Finding(
        rls=rls, ferritin=ferritin, tsat=tsat, tsat_calculated=calculated,
        pregnancy=current, pregnancy_undated=undated, pregnancy_past=past, kidney_failure=_kidney_failure(facts),
        ckd=tuple(c for c in facts.conditions("cond-ckd") if c.condition_id is None or c.condition_id not in g5_ids),
        aggravating=tuple(m for c in RLS_AGGRAVATING for m in facts.medications(c)),
        iron_supplements=tuple(facts.medications("iron-supplement")),
        neuropathy=tuple(facts.conditions("cond-diabetic-neuropathy")),
        iron_deficiency_anaemia=tuple(facts.conditions("cond-iron-deficiency-anemia")),
        dopamine_agonists=tuple(card_text.one_per_ingredient(facts.medications(DOPAMINE_AGONIST))),
        first_line=tuple(card_text.one_per_ingredient(facts.medications(FIRST_LINE))),
        who=who, menopause=menopause,
    )


def grade(finding: Finding) -> Indicator:
    if finding.rls:
        return Indicator.WARNING if finding.iron_deficient else Indicator.INFO
    return Indicator.WARNING if finding.absolute or finding.tsat_low else Indicator.INFO


def kind_of(finding: Finding) -> CardKind:
    """Actionable with an abnormal iron value the card acts on: RLS with iron below the AASM 2024 treatment
    thresholds, or iron deficiency in the general sense (ferritin < 30 ng/mL, TSAT < 20 %), whose cause must be found.
    A possible cause otherwise: RLS with adequate or missing iron studies (iron studies suggested), ferritin 75-100
    with RLS (IV iron an option), a dopamine agonist to review for augmentation - which is judged from the symptom
    history, so it belongs where the chart records leg symptoms - and ferritin 30-75 without RLS (low only by the
    RLS threshold)."""
    if finding.rls:
        actionable = finding.iron_deficient
    else:
        actionable = finding.absolute or finding.tsat_low
    return CardKind.ACTIONABLE if actionable else CardKind.POSSIBLE_CAUSE


def card_kind(facts: PatientFacts) -> CardKind | None:
    """The kind of this chart's RLS card, None when it does not fire (for other cards' cross-references)."""
    finding = _applies(facts)
    return kind_of(finding) if finding is not None else None


def _ferritin_text(finding: Finding) -> str:
    assert finding.ferritin is not None
    return (f"ferritin {card_text.fmt_value(finding.ferritin.value_in('ng/mL'))} ng/mL "
            f"({finding.ferritin.day.isoformat()})")


def iron_timing(finding: Finding) -> str:
    """Whether the iron studies were drawn on the iron supplement ("on": every supplement started on or before the
    newest ferritin/TSAT), or may predate it ("before": a supplement started after them, or its start unknown)."""
    drawn = [r.date for r in (finding.ferritin, finding.tsat) if r is not None]
    starts = [m.date for m in finding.iron_supplements]
    if not drawn or not starts or any(d is None for d in starts):
        return "before"
    return "on" if max(d for d in starts if d is not None) <= min(drawn) else "before"


def _iron_text(finding: Finding) -> str:
    shown = []
    if finding.ferritin_low and finding.ferritin is not None:
        shown.append(_ferritin_text(finding))
    if finding.tsat_low and finding.tsat is not None:
        shown.append(f"TSAT {card_text.fmt_value(finding.tsat.value_in('%'))}% ({finding.tsat.day.isoformat()})")
    return " and ".join(shown)


def _cause_short(finding: Finding) -> str:
    if finding.menopause == "premenopausal":
        return "find the cause (haemoglobin, menstrual loss, diet)"
    return "find the cause (haemoglobin, GI evaluation; AGA 2020)"


def _summary(finding: Finding) -> str:
    drugs = sorted({m.ingredient for m in finding.aggravating})
    if not finding.rls:
        iron = _iron_text(finding)
        iron = iron[:1].upper() + iron[1:]
        if finding.find_cause:
            who = f" in {finding.who.split(' (')[0]}" if finding.who else ""
            return f"{iron}: iron deficiency{who} - {_cause_short(finding)}"
        kind = "iron deficiency" if grade(finding) is Indicator.WARNING else \
            f"below the RLS iron target ({FERRITIN_RLS.compare} {FERRITIN_RLS.value:g})"
        return f"{iron}: {kind} - a treatable cause of restless legs; ask about symptoms"
    name = "Secondary restless legs (" + ", ".join(finding.secondary) + ")" if finding.secondary else "Restless legs"
    agonists = ", ".join(m.ingredient for m in finding.dopamine_agonists)
    if finding.iron_deficient and finding.iron_supplements:
        text = (f"{name} with {_iron_text(finding)} " + ("despite oral iron: consider IV iron (AASM 2024)"
                                                          if iron_timing(finding) == "on"
                                                          else "now on oral iron: repeat iron studies (AASM 2024)"))
        if finding.find_cause:
            text += "; find the cause of the iron deficiency"
    elif finding.iron_deficient:
        text = f"{name} with {_iron_text(finding)}: iron therapy (AASM 2024)"
        if finding.find_cause:
            text += "; find the cause of the iron deficiency"
    elif finding.iv_iron_range:
        text = f"{name} with {_ferritin_text(finding)}: IV iron may help (AASM 2024)"
    elif finding.ferritin is None and finding.tsat is None:
        text = f"{name} on the problem list, no iron studies in {WINDOW_TEXT} - check ferritin and TSAT"
    elif finding.ferritin is None:
        text = f"{name}: TSAT adequate, no ferritin in {WINDOW_TEXT} - check ferritin"
    elif agonists:
        return card_text.summary(f"{name} on {agonists} (dopamine agonist): review for augmentation (AASM 2024)")
    elif drugs:
        text = f"{name}: iron studies adequate; {', '.join(drugs)} can worsen RLS - review"
    else:
        text = f"{name} on the problem list; ferritin and TSAT above the AASM 2024 iron-therapy thresholds"
    with_agonist = f"{text}; {agonists}: review for augmentation"
    return with_agonist if agonists and len(with_agonist) < card_text.MAX_SUMMARY else text


def _assess_ferritin(result: LabResult, rls: bool) -> str:
    value = result.value_in("ng/mL")
    if FERRITIN_DEFICIENT.met(value):
        return f"absolute iron deficiency ({FERRITIN_DEFICIENT.compare} {FERRITIN_DEFICIENT.value:g})"
    if FERRITIN_RLS.met(value):
        return f"low for RLS ({FERRITIN_RLS.compare} {FERRITIN_RLS.value:g}, AASM 2024)"
    if rls and FERRITIN_IV_ONLY.met(value):
        return f"{IV_RANGE_TEXT}: IV iron only (AASM 2024)"
    return "above the RLS iron-therapy thresholds"


def _evidence(finding: Finding, facts: PatientFacts) -> list[str]:
    parts = []
    if finding.rls:
        parts.append(card_text.bullets("Diagnosis", (card_text.condition_line(c, facts.now) for c in finding.rls)))
    rows = []
    if finding.ferritin is not None:
        rows.append((finding.ferritin, f"{FERRITIN_TEXT} treat (AASM 2024)",
                     _assess_ferritin(finding.ferritin, bool(finding.rls))))
    if finding.tsat is not None:
        note = "calculated from iron/TIBC of the same day; " if finding.tsat_calculated else ""
        rows.append((finding.tsat, f"{TSAT_TEXT} treat (AASM 2024)",
                     note + (f"low for RLS ({TSAT_TEXT})" if finding.tsat_low else "adequate")))
    if rows:
        parts.append(card_text.lab_table(rows, facts.now) + "\n\nAASM thresholds apply even inside the lab's "
                     "normal range.")
    else:
        parts.append(f"No ferritin or transferrin saturation in the last {WINDOW_TEXT}.")
    context = []
    if finding.secondary:
        causes = []
        if finding.pregnancy:
            # The cause is named once; the record is added only where it says more than "pregnancy".
            records = []
            for c in finding.pregnancy:
                said = [c.display] if c.display.strip().lower() != "pregnancy" else []
                said += [f"recorded {c.date.date().isoformat()}"] if c.date else []
                records.append(" ".join(said))
            records = [r for r in dict.fromkeys(records) if r]
            causes.append("current pregnancy" + (f" ({'; '.join(records)})" if records else ""))
        if finding.kidney_failure:
            causes.append("CKD G5 / dialysis (" + "; ".join(finding.kidney_failure) + ")")
        context.append("Secondary RLS: " + ", ".join(causes) + ".")
    for c in finding.pregnancy_undated:
        context.append(f"{c.display} on the problem list without a date: if she is pregnant now, the RLS is "
                       "secondary (it usually resolves after delivery).")
    for c in finding.pregnancy_past:
        assert c.date is not None
        years = (facts.now - c.date).days // 365
        ago = f"{years} year{'s' if years > 1 else ''} ago" if years else "over 10 months ago"
        context.append(f"{c.display} dated {c.date.date().isoformat()} ({ago}): not a current pregnancy, so not "
                       "counted as a cause.")
    if finding.ckd and not finding.kidney_failure:
        context.append("CKD on the problem list (" + "; ".join(c.display for c in finding.ckd) + "): RLS is more "
                       "common in CKD; the AASM 2024 secondary-RLS advice addresses kidney failure on dialysis.")
    # The medication card lists every aggravating drug; point to it only from a possible-cause card, which shows
    # exactly where it does (an actionable RLS card can show on a chart where the medication card is withheld).
    see = " (see the *Medication side effect* card)" if kind_of(finding) is CardKind.POSSIBLE_CAUSE else ""
    for med in finding.aggravating:
        context.append(f"{med.display} ({med.ingredient}) can worsen RLS{see}.")
    timing = iron_timing(finding)
    for med in finding.iron_supplements:
        if timing == "on":
            context.append(f"On {med.display} since {med.date.date().isoformat() if med.date else '?'}: the iron "
                           "studies above were drawn on it.")
        else:
            context.append(f"On {med.display}: the iron studies above may predate it - ferritin may already be "
                           "rising.")
    if finding.rls:
        for med in finding.first_line:
            context.append(f"On {med.display} ({med.ingredient}): an alpha-2-delta ligand, the first-line class "
                           "(AASM 2024).")
    for c in finding.neuropathy:
        context.append(f"{c.display}: neuropathy can cause or mimic RLS.")
    for c in finding.iron_deficiency_anaemia:
        context.append(f"{c.display} on the problem list supports iron deficiency.")
    if context:
        parts.append(card_text.bullets("Related", context))
    return parts


def aggravating_step(drugs: tuple[MedicationUse, ...]) -> str:
    """The review step naming only the aggravating drugs this patient takes, with their classes."""
    named = dict.fromkeys(f"{m.ingredient} ({BY_CLASS[c].label})" for m in drugs for c in RLS_AGGRAVATING
                          if c in m.classes)
    return f"Review the drugs that can worsen RLS (AASM 2024): {', '.join(named)}."


def cause_step(finding: Finding) -> str:
    """Iron deficiency is a finding whose cause must be found (AGA 2020), by sex and menopausal status."""
    who = f" in {finding.who}" if finding.who else ""
    start = f"Iron deficiency{who}: find the cause - check haemoglobin (blood count); ask about blood loss"
    if finding.menopause == "premenopausal":
        return (start + " (menstrual, GI), diet and pregnancy. With iron deficiency anaemia, AGA 2020 suggests "
                "bidirectional endoscopy over iron alone (conditional: a shared decision).")
    if finding.menopause is None:
        return (start + " (GI symptoms, NSAIDs, anticoagulants) and diet. With iron deficiency anaemia, AGA 2020 "
                "recommends bidirectional endoscopy in men and postmenopausal women (strong) and suggests it in "
                "premenopausal women.")
    return (start + " (GI symptoms, NSAIDs, anticoagulants) and diet. With iron deficiency anaemia, AGA 2020 "
            "recommends bidirectional endoscopy - upper endoscopy and colonoscopy (strong recommendation).")


def _steps(finding: Finding) -> list[str]:
    steps = []
    if finding.find_cause:
        steps.append(cause_step(finding))
    if finding.rls and finding.iron_deficient and finding.iron_supplements and iron_timing(finding) == "on":
        steps.append(f"Already on oral iron and still below the AASM 2024 target (ferritin {FERRITIN_TEXT} or TSAT "
                     f"{TSAT_TEXT}): check adherence and tolerance; if oral iron has failed or is not tolerated, "
                     "consider IV iron (AASM 2024: IV ferric carboxymaltose, strong recommendation).")
    elif finding.rls and finding.iron_deficient and finding.iron_supplements:
        starts = [m.date for m in finding.iron_supplements if m.date is not None]
        lead = (f"Oral iron started {max(starts).date().isoformat()}, after these iron studies"
                if len(starts) == len(finding.iron_supplements) else "On oral iron (start date not recorded)")
        steps.append(f"{lead}: repeat iron studies to see whether it has raised them; if ferritin stays "
                     f"{FERRITIN_TEXT} or TSAT {TSAT_TEXT} on oral iron, or it is not tolerated, consider IV iron "
                     "(AASM 2024: IV ferric carboxymaltose, strong recommendation).")
    elif finding.rls and finding.iron_deficient:
        step = f"Ferritin {FERRITIN_TEXT} or TSAT {TSAT_TEXT}: oral or IV iron (AASM 2024)"
        if finding.ferritin is not None and not finding.ferritin_low and FERRITIN_IV_ONLY.met(
                finding.ferritin.value_in("ng/mL")):
            step += f"; with ferritin {IV_RANGE_TEXT}, IV iron only"
        steps.append(step + ".")
    elif finding.find_cause:
        steps.append(f"Replace iron while the cause is sought. If restless legs are confirmed, AASM 2024 advises iron "
                     f"at ferritin {FERRITIN_TEXT} or TSAT {TSAT_TEXT}.")
    elif finding.iron_deficient:
        steps.append(f"If restless legs are confirmed: oral or IV iron at ferritin {FERRITIN_TEXT} or TSAT "
                     f"{TSAT_TEXT} (AASM 2024).")
    elif finding.iv_iron_range:
        steps.append(f"Ferritin {IV_RANGE_TEXT}: AASM 2024 suggests IV iron only (e.g. ferric carboxymaltose), not "
                     "oral iron.")
    if not finding.rls:
        steps.append("Ask about restless legs symptoms (urge to move, worse at rest and at night, eased by moving).")
    if finding.aggravating:
        steps.append(aggravating_step(finding.aggravating))
    for med in finding.dopamine_agonists if finding.rls else ():
        steps.append(f"{med.ingredient[:1].upper()}{med.ingredient[1:]} (dopamine agonist): review for augmentation "
                     "- symptoms earlier in the day, spreading to the arms, more intense, or needing more drug. AASM "
                     "2024 suggests against standard use of dopamine agonists; if augmented, switch under review to "
                     "an alpha-2-delta ligand (do not stop abruptly).")
    if finding.rls and (finding.pregnancy or finding.pregnancy_undated):
        steps.append("If she is pregnant: the AASM 2024 drug recommendations do not address pregnancy - iron when "
                     "low and non-drug measures first; any RLS drug with obstetric advice.")
    elif finding.rls and not finding.first_line and not finding.dopamine_agonists:
        steps.append("If symptoms need daily drug treatment: an alpha-2-delta ligand - gabapentin enacarbil, "
                     "gabapentin or pregabalin - is first-line (AASM 2024, strong recommendation); dopamine agonists "
                     "are not for standard use (augmentation).")
    if finding.ferritin is None or finding.tsat is None or (finding.iron_supplements and iron_timing(finding) != "on"):
        steps.append("Iron studies: a morning draw, no iron supplement or food in the 24 hours before (AASM 2024).")
    return steps


def _suggestions(finding: Finding, facts: PatientFacts) -> list[Suggestion]:
    iron_studies = card_text.lab_orders(*IRON_STUDY_ORDERS)
    reason = "Restless legs / iron deficiency (AASM 2024)"
    out = []
    if finding.ferritin is None or finding.tsat is None:
        out.append(card_text.order_suggestion(IRON_STUDIES, facts.patient_id, iron_studies, reason=reason,
                                              recommended=bool(finding.rls) or None))
    elif finding.iron_supplements and iron_timing(finding) != "on":
        # Iron studies drawn on oral iron already answer the question (IV iron if still low): no repeat suggested.
        out.append(card_text.order_suggestion("Repeat iron studies to follow iron therapy", facts.patient_id,
                                              iron_studies, reason=reason))
    if finding.find_cause:
        out.append(card_text.order_suggestion("Order haemoglobin (complete blood count)", facts.patient_id,
                                              card_text.lab_orders("hemoglobin"),
                                              reason="Iron deficiency: find the cause (AGA 2020)"))
    return out


def _card(finding: Finding, facts: PatientFacts) -> Card:
    parts = ["Restless legs: an urge to move the legs, starting or worse at rest and in the evening or night, "
             "relieved by moving. Iron deficiency is its most treatable cause."]
    if finding.find_cause and not finding.rls:
        parts = ["Iron deficiency is a finding whose cause must be found (blood loss, often from the gut, or poor "
                 "intake or absorption); it is also a treatable cause of restless legs."]
    parts += _evidence(finding, facts)
    parts.append(card_text.bullets("Next steps", _steps(finding)))
    keys = ("aasm-rls-2024",) + (("aga-ida-2020",) if finding.find_cause else ()) \
        + (("kdigo-ckd-2024",) if finding.kidney_failure else ())
    return replace(card_text.make_card(rule=RULE, indicator=grade(finding), summary_text=_summary(finding),
                                       detail="\n\n".join(p for p in parts if p), guideline_keys=keys,
                                       suggestions=_suggestions(finding, facts), facts=facts),
                   kind=kind_of(finding))


RULE = Rule(
    id="restless-legs", version="1.4.0", topic=Topic.RESTLESS_LEGS, hooks=frozenset({PATIENT_VIEW}),
    needs=("patient", "observations", "medications", "medicationRequests", "conditions"),
    applies=_applies, card=_card, analytes=("ferritin", "tsat", "iron", "tibc", "egfr"),
    valuesets=RLS_VALUESETS + ("cond-pregnancy", "cond-ckd", "cond-ckd-g5-dialysis", "cond-diabetic-neuropathy",
                               "cond-iron-deficiency-anemia"),
    drug_classes=RLS_AGGRAVATING + ("iron-supplement", DOPAMINE_AGONIST, FIRST_LINE),
    summary=f"RLS diagnosis, or ferritin {FERRITIN_TEXT} / TSAT {TSAT_TEXT} (AASM 2024); iron deficiency's cause, "
            "secondary RLS, first-line and aggravating drugs named.",
    fires_when=f"active RLS diagnosis; or latest ferritin within {WINDOW_TEXT} {FERRITIN_TEXT} or TSAT {TSAT_TEXT} "
               "(even inside the lab range). Warning: RLS + iron deficiency, or ferritin "
               f"{FERRITIN_DEFICIENT.compare} {FERRITIN_DEFICIENT.value:g} / TSAT {TSAT_TEXT} without RLS",
    quiet_when=f"no RLS diagnosis and ferritin > {FERRITIN_RLS.value:g} ng/mL and TSAT >= {TSAT_RLS.value:g}% (or no "
               f"iron studies within {WINDOW_TEXT})",
    advice=f"Ferritin {FERRITIN_TEXT} or TSAT {TSAT_TEXT}: oral or IV iron; ferritin {IV_RANGE_TEXT} with RLS: IV "
           f"iron may help (IV only); ferritin {FERRITIN_DEFICIENT.compare} {FERRITIN_DEFICIENT.value:g}: find the "
           "cause (haemoglobin; bidirectional endoscopy for iron deficiency anaemia in men and postmenopausal women, "
           "AGA 2020); first-line drugs are alpha-2-delta ligands; an active dopamine agonist is reviewed for "
           "augmentation; only a current pregnancy makes RLS secondary; iron studies repeated only to follow iron "
           "therapy; RLS still below the iron thresholds on oral iron: IV iron if oral iron failed or is not "
           "tolerated (iron studies repeated first when they predate it); review the RLS-aggravating drugs; without "
           "a diagnosis, ask about RLS symptoms.",
    actionable_when=f"RLS diagnosis with ferritin {FERRITIN_TEXT} or TSAT {TSAT_TEXT} (iron therapy); without RLS, "
                    f"ferritin {FERRITIN_DEFICIENT.compare} {FERRITIN_DEFICIENT.value:g} ng/mL or TSAT {TSAT_TEXT} "
                    "(iron deficiency: find the cause)",
    possible_cause_when=f"RLS diagnosis with iron studies above the thresholds or missing (iron studies suggested), "
                        f"ferritin {IV_RANGE_TEXT} (IV iron may help), or a dopamine agonist to review for "
                        f"augmentation; without RLS, ferritin {FERRITIN_DEFICIENT.value:g}-{FERRITIN_RLS.value:g} "
                        f"ng/mL with TSAT {TSAT_RLS.value:g}% or more (low only by the RLS threshold, also with iron "
                        "deficiency anaemia already on the problem list)",
    references=("aasm-rls-2024", "aga-ida-2020", "kdigo-ckd-2024"),
)
