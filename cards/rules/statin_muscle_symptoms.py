"""Statin-associated muscle symptoms (SAMS): an active statin, graded by CK, a rhabdomyolysis diagnosis and the
interacting drugs of the statin labels.

Fires when: an active statin (any product mapping to a statin ingredient).
Critical: an active rhabdomyolysis diagnosis (`cond-rhabdomyolysis`: ICD-10-CM M62.82, SNOMED CT 240131006), or the
  latest CK within the CK window above {statin.ck-critical-multiple:value} (the lab's upper limit): stop the statin,
  check for rhabdomyolysis.
Warning: CK above {statin.ck-stop-multiple:value} (consider stopping, repeat CK); an interaction the statin's US label
  calls contraindicated or advises avoiding, or a labelled maximum dose (cards/knowledge/data/interactions/statin.json)
  that the statin dose exceeds or that cannot be read; a recorded statin myopathy diagnosis; simvastatin
  {statin.simvastatin-restricted-dose:value} on record for less than {statin.simvastatin-80-established:value} (FDA
  2011: {statin.simvastatin-restricted-dose:value} only for patients who have taken it for
  {statin.simvastatin-80-established:value} or more without muscle injury; with no start date on record the card says
  the duration is unknown, at the grade the rest of the chart gives).
Info: a statin alone; CK above the upper limit but at most {statin.ck-stop-multiple:value} (usually continue, NLA 2014);
  a "caution" pair or a dose within the labelled maximum (listed on the card).
Quiet when: no active statin.
Kind: actionable with rhabdomyolysis on record, a CK above the upper limit, or a contraindicated, avoided or
  dose-capped pair the dose exceeds (or cannot show it respects), or simvastatin
  {statin.simvastatin-restricted-dose:value} started less than {statin.simvastatin-80-established:value} ago; a statin
  alone, a "caution" pair, a dose within its cap or a statin myopathy on record is a possible cause.
Thresholds and windows: cards/knowledge/data/thresholds/statin.json (CK categories of the EAS 2015 consensus, Table 1;
  default upper limit from the NIH Clinical Center ranges); interactions: the statin labels, per row.
Suggestions: only the tests the text asks for and none with a result within the CK window (CK, TSH, creatinine;
  with a stop, creatinine and urine myoglobin, and CK only when none is recent).
Needs: medications (+ medicationRequests), observations (CK, TSH, creatinine), conditions.
References: EAS SAMS consensus 2015 (Table 1, CK categories); 2018 AHA/ACC cholesterol guideline, section 5 (statin
  safety: CK with severe symptoms, rechallenge); NLA Statin Muscle Safety Task Force 2014 (CK <=
  {statin.ck-stop-multiple:value}: continue); US labels of simvastatin (2023), lovastatin (Mevacor 2014), atorvastatin
  (2022), rosuvastatin and pravastatin, each cited only for its own statin; FDA Drug Safety Communications 2011
  (simvastatin, {statin.simvastatin-restricted-dose:value} restriction) and 2012 (protease inhibitors); Abu Mellal et
  al. 2019 (azithromycin the macrolide least likely to raise statin levels).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from cards import card_text, guidelines
from cards.facts import LabResult, MedicationUse, PatientFacts
from cards.knowledge import Threshold, interactions as labels, threshold
from cards.model import Card, CardKind, Indicator
from cards.rule import PATIENT_VIEW, Rule
from cards.topics import Topic

CK_WINDOW = threshold("statin.ck-lookback")
LOOKBACK = CK_WINDOW.days
DEFAULT_CK_ULN = threshold("statin.ck-default-uln").value
CK_ABOVE_ULN = threshold("statin.ck-above-uln")
CK_STOP = threshold("statin.ck-stop-multiple")
CK_CRITICAL = threshold("statin.ck-critical-multiple")
SIMVA_RESTRICTED = threshold("statin.simvastatin-restricted-dose")
SIMVA_ESTABLISHED = threshold("statin.simvastatin-80-established")

RHABDO_VALUESET = "cond-rhabdomyolysis"
# Besides CK, the tests for muscle symptoms on a statin (2018 AHA/ACC, section 5: hypothyroidism and kidney
# function raise the risk); one done within the CK window is not suggested again.
RECHECK_LABS = ("tsh", "creatinine")
PAD_VALUESETS = ("cond-pad", "cond-diabetic-angiopathy")  # the PAD diagnoses of the peripheral-artery-disease rule
# Statins not metabolised by CYP3A4 (FDA 2011): offered in place of a CYP3A4-dependent statin, each within its own
# labelled limits with the same interacting drug (e.g. rosuvastatin <= 5 mg with cyclosporine).
NON_CYP3A4_STATINS = ("pravastatin", "rosuvastatin")
SERIOUS = ("contraindicated", "exceeds", "avoid", "dose-unknown")  # make the card a warning, in this order
STATUS_ORDER = {status: index for index, status in enumerate((*SERIOUS, "caution", "within"))}


@dataclass(frozen=True)
class Interaction:
    """A statin the patient takes (or a draft) with an interacting drug, and what its label says of the pair."""

    statin: MedicationUse
    other: MedicationUse
    row: labels.StatinInteraction
    dose: labels.Dose

    @property
    def kind(self) -> str:
        """contraindicated, avoid, exceeds (dose above the labelled maximum), dose-unknown (a cap, dose not
        readable), within (a cap the dose respects) or caution."""
        if self.row.kind != "dose-cap":
            return self.row.kind
        if self.dose.mg is None:
            return "dose-unknown"
        return "exceeds" if self.row.max_mg is not None and self.dose.mg > self.row.max_mg else "within"

    @property
    def serious(self) -> bool:
        return self.kind in SERIOUS

    @property
    def dosed_statin(self) -> str:
        """The statin with its daily dose when the dose matters and was read ("simvastatin 40 mg")."""
        if self.row.kind == "dose-cap" and self.dose.mg is not None:
            return f"{self.statin.ingredient} {self.dose.mg:g} mg"
        return self.statin.ingredient

    @property
    def verdict(self) -> str:
        """The label's word on the pair, for summaries and lines ("contraindicated", "exceeds the labelled ...")."""
        cap = f"{self.row.max_mg:g}" if self.row.max_mg is not None else ""
        return {
            "contraindicated": "contraindicated",
            "avoid": "the label advises avoiding the combination" + (f" (if used, at most {cap} mg a day)"
                                                                      if cap else ""),
            "exceeds": f"exceeds the labelled maximum of {cap} mg a day",
            "dose-unknown": f"labelled maximum {cap} mg a day - the dose could not be read",
            "within": f"within the labelled maximum of {cap} mg a day",
            "caution": "caution: weigh benefit and risk, watch for muscle symptoms",
        }[self.kind]

    @property
    def pair(self) -> str:
        """Both drugs ("Simvastatin 40 mg with amlodipine")."""
        return f"{_cap(self.dosed_statin)} with {self.other.ingredient}"

    @property
    def reason(self) -> str:
        """One line: both drugs, the verdict and its source label (after a dash: a label name has its own
        brackets, "Zocor (simvastatin) US label 2023")."""
        return f"{self.pair}: {self.verdict} - {self.row.label}"

    @property
    def step(self) -> str:
        """The next step for this pair: the safer choices (the verdict is in the summary and the drug list)."""
        if self.serious:
            return f"{self.pair}: {alternative_text(self)}."
        return f"{self.pair}: weigh benefit and risk and watch for muscle symptoms, as the {self.row.label} advises."


@dataclass(frozen=True)
class RestrictedDose:
    """Simvastatin at the FDA-restricted dose (80 mg): the earliest record at that dose, and whether it has been
    taken for 12 months or more (None when no record at that dose carries a date)."""

    med: MedicationUse
    mg: float
    since: datetime | None
    established: bool | None

    def line(self, now: datetime) -> str:
        """What the chart says of how long it has been taken, and the FDA restriction."""
        rule = (f"the FDA restricts simvastatin {SIMVA_RESTRICTED.value:g} mg to patients who have taken it for 12 "
                f"months or more without muscle injury and advises not to start it, even from a lower dose (FDA "
                f"2011)")
        if self.since is None:
            return (f"Simvastatin {self.mg:g} mg with no start date on record, so how long it has been taken is "
                    f"unknown: {rule}; confirm the duration")
        when = f"{self.since.date().isoformat()} ({card_text.duration_text(self.since, now)})"
        if self.established:
            return f"Simvastatin {self.mg:g} mg on record since {when}: {rule}; continue only without muscle injury"
        return (f"Simvastatin {self.mg:g} mg on record only since {when}, under 12 months: {rule}; if more LDL "
                "lowering is needed, use another LDL-lowering treatment instead")


def restricted_dose(statins: list[MedicationUse], now: datetime) -> RestrictedDose | None:
    """The earliest current simvastatin record at the restricted daily dose (80 mg), if any."""
    at_dose = [(m, dose.mg) for m in statins if m.ingredient == "simvastatin"
               for dose in [labels.daily_dose(m)] if dose.mg is not None and SIMVA_RESTRICTED.met(dose.mg)]
    if not at_dose:
        return None
    dated = [(m, mg) for m, mg in at_dose if m.date is not None]
    if not dated:
        return RestrictedDose(at_dose[0][0], at_dose[0][1], None, None)
    med, mg = min(dated, key=lambda item: item[0].date or now)
    since = med.date or now
    return RestrictedDose(med, mg, since, SIMVA_ESTABLISHED.met((now - since).days))


@dataclass(frozen=True)
class Finding:
    statins: tuple[MedicationUse, ...]
    ck: LabResult | None
    ck_uln: float
    interactions: tuple[Interaction, ...]
    myopathy: tuple[str, ...]
    rhabdomyolysis: tuple[str, ...] = ()
    pad: bool = False
    restricted_dose: RestrictedDose | None = None
    # Of TSH and creatinine, those with a result within the CK window (not suggested again)
    recent_labs: tuple[str, ...] = ()

    @property
    def new_restricted_dose(self) -> bool:
        """Simvastatin 80 mg on record for less than 12 months (FDA 2011: not to be started)."""
        return self.restricted_dose is not None and self.restricted_dose.established is False

    @property
    def ck_multiple(self) -> float | None:
        return self.ck.value / self.ck_uln if self.ck else None

    @property
    def stop(self) -> bool:
        """The card advises stopping the statin: rhabdomyolysis on record or CK above the critical multiple."""
        multiple = self.ck_multiple
        return bool(self.rhabdomyolysis) or (multiple is not None and CK_CRITICAL.met(multiple))


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def interactions(statins: list[MedicationUse], others: list[MedicationUse]) -> list[Interaction]:
    """Statin-drug pairs the labels name (every kind; used by the order-time checks too), most serious first."""
    found = []
    for statin in statins:
        for other in others:
            row = labels.lookup(statin.ingredient, other.ingredient)
            if row is not None:
                found.append(Interaction(statin, other, row, labels.daily_dose(statin)))
    found.sort(key=lambda i: STATUS_ORDER[i.kind])
    unique: dict[tuple[str, str], Interaction] = {}
    for item in found:  # one line per pair: the most serious reading (a drug ordered twice at two doses)
        unique.setdefault((item.statin.ingredient, item.other.ingredient), item)
    return list(unique.values())


def alternatives(statin: str, others: list[str]) -> list[tuple[str, float | None, float | None]]:
    """Non-CYP3A4 statins usable with every drug in `others` by their own labels: (statin, labelled cap or None,
    labelled starting dose with that drug or None)."""
    out = []
    for candidate in NON_CYP3A4_STATINS:
        if candidate == statin:
            continue
        rows = [r for r in (labels.lookup(candidate, o) for o in others) if r is not None]
        if any(r.kind in ("contraindicated", "avoid") for r in rows):
            continue
        caps = [r.max_mg for r in rows if r.kind == "dose-cap" and r.max_mg is not None]
        starts = [r.start_mg for r in rows if r.kind == "dose-cap" and r.start_mg is not None]
        out.append((candidate, min(caps) if caps else None, min(starts) if starts else None))
    return out


def alternative_text(item: Interaction) -> str:
    """The safer choices for this pair: another statin within its own labels, suspending the statin for a short
    anti-infective course, or another antibiotic."""
    table = labels.table()
    choices = []
    if item.statin.ingredient not in NON_CYP3A4_STATINS or item.kind in ("exceeds", "dose-unknown"):
        alts = alternatives(item.statin.ingredient, [item.other.ingredient])
        if alts:
            choices.append("switch to " + " or ".join(
                f"{name} ({f'start at {start:g} mg, ' if start else ''}at most {cap:g} mg a day with "
                f"{item.other.ingredient})" if cap else name
                for name, cap, start in alts))
    if item.kind in ("exceeds", "dose-unknown") and item.row.max_mg is not None:
        choices.insert(0, f"keep {item.statin.ingredient} at {item.row.max_mg:g} mg a day or less")
    suspend = table.suspend_source_for(item.statin.ingredient, item.other.ingredient)
    if suspend is not None and item.kind in ("contraindicated", "avoid"):
        # Only where the statin's own label says so (a lovastatin card cites the lovastatin label).
        choices.insert(0, f"suspend {item.statin.ingredient} for the {item.other.ingredient} course, as the "
                          f"{guidelines.get(suspend[0]).label} advises ({suspend[1].split(':')[0]})")
    if item.other.ingredient in table.antibiotic_drugs:
        choices.append(f"treat the infection with another antibiotic such as {table.antibiotic_name}, the macrolide "
                       f"least likely to raise statin levels ({guidelines.get(table.antibiotic_source[0]).label})")
    if not choices:
        choices.append(f"review the need for {item.other.ingredient}")
    return "; or ".join(choices)


def step_sources(item: Interaction) -> list[str]:
    """The source keys `alternative_text` cites beyond the pair's own label: the statin's own suspension source and
    the source for another antibiotic."""
    if not item.serious:
        return []
    table = labels.table()
    suspend = table.suspend_source_for(item.statin.ingredient, item.other.ingredient)
    out = [suspend[0]] if suspend is not None and item.kind in ("contraindicated", "avoid") else []
    return out + ([table.antibiotic_source[0]] if item.other.ingredient in table.antibiotic_drugs else [])


def ck_upper_limit(ck: LabResult | None) -> float:
    """The lab's upper limit of this CK, else the default (NIH Clinical Center)."""
    return ck.ref_high if ck is not None and ck.ref_high else DEFAULT_CK_ULN


def stop_advised(facts: PatientFacts) -> bool:
    """True when this chart's statin card advises stopping the statin (an active rhabdomyolysis diagnosis, or CK
    above the critical multiple of the upper limit within the CK window). Other cards (peripheral artery disease)
    read it so that no card tells the clinician to keep a statin the statin card says to stop; the statin card is
    then critical and actionable, so a card that names it names a card that is always shown."""
    if not facts.medications("statin"):
        return False
    if facts.conditions(RHABDO_VALUESET):
        return True
    ck = facts.latest("ck", LOOKBACK)
    return ck is not None and CK_CRITICAL.met(ck.value / ck_upper_limit(ck))


def _applies(facts: PatientFacts) -> Finding | None:
    statins = facts.medications("statin")
    if not statins:
        return None
    ck = facts.latest("ck", LOOKBACK)
    found = interactions(statins, [m for m in facts.medications() if "statin" not in m.classes])
    rhabdo = tuple(dict.fromkeys(c.display for c in facts.conditions(RHABDO_VALUESET)))
    myopathy = tuple(d for d in dict.fromkeys(c.display for c in facts.conditions("cond-statin-myopathy"))
                     if d not in rhabdo)
    pad = any(facts.conditions(vs) for vs in PAD_VALUESETS)
    recent = tuple(a for a in RECHECK_LABS if facts.latest(a, LOOKBACK) is not None)
    return Finding(tuple(statins), ck, ck_upper_limit(ck), tuple(found), myopathy, rhabdo, pad,
                   restricted_dose(statins, facts.now), recent)


def kind_of(finding: Finding) -> CardKind:
    """Actionable for a critical finding (rhabdomyolysis), an abnormal CK linked to the statin (a mild rise
    included: an abnormal value), and a label contraindication, avoidance or dose cap the dose exceeds or cannot be
    shown to respect. A possible cause otherwise: the statin class alone, a "caution" pair, a dose within its cap, and
    a statin myopathy on record - a known intolerance, often a deliberate rechallenge (2018 AHA/ACC, section 5), with
    no abnormal value on the card."""
    multiple = finding.ck_multiple
    if (finding.stop or (multiple is not None and CK_ABOVE_ULN.met(multiple))
            or any(i.serious for i in finding.interactions) or finding.new_restricted_dose):
        return CardKind.ACTIONABLE
    return CardKind.POSSIBLE_CAUSE


def _x_uln(item: Threshold) -> str:
    return f"{item.value:g} x ULN"


def _summary(finding: Finding, names: str) -> str:
    multiple = finding.ck_multiple
    ck = finding.ck
    ck_text = (f"CK {card_text.fmt_value(ck.value)} U/L ({multiple:.1f} x ULN, {ck.day.isoformat()})"
               if ck is not None and multiple is not None else "")
    serious = [i for i in finding.interactions if i.serious]
    if finding.rhabdomyolysis:
        return f"On {names} with rhabdomyolysis on record: stop the statin"
    if finding.stop:
        return f"On {names} with {ck_text}: stop the statin, look for rhabdomyolysis"
    if serious:
        first = serious[0]
        head = f"{first.pair}: {first.verdict}"
        return head if len(first.reason) >= card_text.MAX_SUMMARY else first.reason
    dose = finding.restricted_dose
    if dose is not None and dose.since is not None and not dose.established:
        return (f"Simvastatin {dose.mg:g} mg since {dose.since.date().isoformat()}: FDA allows "
                f"{SIMVA_RESTRICTED.value:g} mg only after 12 months on it without muscle injury")
    if multiple is not None and CK_STOP.met(multiple):
        return f"On {names} with {ck_text} - statin muscle injury?"
    if multiple is not None and CK_ABOVE_ULN.met(multiple):
        return f"On {names} with {ck_text}: mild rise, the statin can usually continue"
    if finding.myopathy:
        return f"On {names} with statin muscle symptoms on record ({finding.myopathy[0]})"
    if ck_text:
        return f"On {names} with a normal {ck_text}: statins can cause leg cramps"
    return f"On {names}: statins can cause leg muscle pain and cramps - consider CK if symptomatic"


def _to_order(finding: Finding) -> list[str]:
    """The tests the card suggests (LAB_ORDERS keys): with a stop, the rhabdomyolysis work-up (CK only when none is
    within the CK window); otherwise CK, TSH and creatinine, each only when none is within the CK window - a test
    just done is not ordered again."""
    if finding.stop:
        return (["ck"] if finding.ck is None else []) + ["creatinine", "urine-myoglobin"]
    return [a for a in ("ck", *RECHECK_LABS)
            if (finding.ck is None if a == "ck" else a not in finding.recent_labs)]


def _names(keys: list[str]) -> str:
    names = [{"ck": "CK", "tsh": "TSH", "creatinine": "creatinine", "urine-myoglobin": "urine myoglobin"}[k]
             for k in keys]
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)


def _steps(finding: Finding, now: datetime) -> list[str]:
    multiple = finding.ck_multiple
    steps = []
    if finding.stop:
        why = ("rhabdomyolysis on record" if finding.rhabdomyolysis
               else f"CK > {_x_uln(CK_CRITICAL)}")
        follow = "" if finding.ck is None else "; repeat CK until it falls"
        steps.append(f"{_cap(why)}: stop the statin now; check {_names(_to_order(finding))} (rhabdomyolysis)"
                     f"{follow} (2018 AHA/ACC, section 5; EAS 2015).")
        steps.append("Restart no statin until CK and kidney function have recovered; then decide on lipid lowering "
                     "again - a non-statin, or another statin at a low dose only after review (2018 AHA/ACC, "
                     "section 5).")
        for item in finding.interactions:
            if item.serious:
                steps.append(f"Likely contributor: {item.reason}.")
        if finding.pad:
            steps.append("PAD is on the problem list: its lipid lowering is planned again once the muscle injury "
                         "has resolved.")
        return steps
    for item in finding.interactions:
        if item.serious or item.kind == "caution":
            steps.append(item.step)
    if finding.restricted_dose is not None and not finding.restricted_dose.established:
        steps.append(finding.restricted_dose.line(now) + ".")
    if multiple is not None and CK_STOP.met(multiple):
        steps.append(f"CK > {_x_uln(CK_STOP)}: consider stopping the statin and repeat CK in 2-6 weeks; once CK is "
                     "back to normal, rechallenge at a lower dose or with another statin (EAS 2015; NLA 2014).")
    elif multiple is not None and CK_ABOVE_ULN.met(multiple):
        steps.append(f"CK above the upper limit but at most {_x_uln(CK_STOP)}: the statin can usually be continued "
                     "(NLA 2014); exercise, injury and hypothyroidism also raise CK.")
    missing = _to_order(finding)
    if missing:
        steps.append(f"If muscle symptoms: check {_names(missing)}; untreated hypothyroidism raises the risk.")
    else:
        steps.append(f"CK, TSH and creatinine are on file from the last {CK_WINDOW.value:g} days: repeat CK only if "
                     "muscle symptoms start or change.")
    if not (multiple is not None and CK_STOP.met(multiple)):
        steps.append("If symptoms are intolerable: rechallenge, lower the dose or switch statin, then consider a "
                     "non-statin (2018 AHA/ACC, section 5).")
    if finding.pad:
        # A PAD code alone makes a possible-cause PAD card: point to it only from a possible-cause card, which shows
        # exactly where it does.
        see = (" (see the *Peripheral artery disease* card)" if kind_of(finding) is CardKind.POSSIBLE_CAUSE else "")
        steps.append(f"PAD is on the problem list: weigh the statin's benefit before stopping it{see}.")
    return steps


def _card(finding: Finding, facts: PatientFacts) -> Card:
    names = ", ".join(sorted({m.ingredient for m in finding.statins}))
    multiple = finding.ck_multiple
    if finding.stop:
        indicator = Indicator.CRITICAL
    elif (multiple is not None and CK_STOP.met(multiple)) or finding.myopathy or any(
            i.serious for i in finding.interactions) or finding.new_restricted_dose:
        indicator = Indicator.WARNING
    else:
        indicator = Indicator.INFO
    parts = ["Statin-associated muscle symptoms are typically symmetric aches or cramps of the thighs, buttocks "
             "and calves, starting weeks to months after a statin is started or its dose raised.",
             "**Statins:**\n" + "\n".join(card_text.medication_line(m, facts.now)
                                      for m in card_text.one_per_ingredient(finding.statins))]
    if finding.ck is not None:
        ck_range = card_text.range_text(finding.ck, (None, DEFAULT_CK_ULN))
        assessment = f"{multiple:.1f} x ULN" if multiple is not None else "-"
        parts.append(card_text.lab_table([(finding.ck, ck_range, assessment)], facts.now))
    else:
        parts.append(f"No CK result in the last {CK_WINDOW.value:g} days.")
    if finding.interactions:
        parts.append("**Interacting drugs (statin labels):**\n" + "\n".join(
            f"- {i.other.display} with {i.dosed_statin}"
            + (f" ({i.dose.how})" if i.row.kind == "dose-cap" else "") + f": {i.verdict}. Source: {i.row.label}, "
            f"{i.row.where}" for i in finding.interactions))
    if finding.rhabdomyolysis:
        parts.append("**Recorded diagnosis:** " + "; ".join(finding.rhabdomyolysis))
    if finding.myopathy:
        parts.append("**Recorded diagnosis:** " + "; ".join(finding.myopathy))
    parts.append("**Next steps:**\n" + "\n".join(f"- {s}" for s in _steps(finding, facts.now)))
    ck_high = multiple is not None and CK_ABOVE_ULN.met(multiple)
    orders = _to_order(finding)
    # Only the tests the text asks for, and none done within the CK window (a CK of 13 days ago is not re-ordered).
    suggestions = [card_text.order_suggestion(
        f"Order {_names(orders)}", facts.patient_id, card_text.lab_orders(*orders),
        reason=("Rhabdomyolysis work-up on " if finding.stop else "Muscle symptoms on ") + names,
        recommended=(ck_high or finding.stop) or None)] if orders else []
    sources = tuple(dict.fromkeys(i.row.source for i in finding.interactions))
    # In the stop branch the steps name no alternative, so no alternative's source is cited.
    extra = () if finding.stop else tuple(k for i in finding.interactions for k in step_sources(i))
    keys = tuple(dict.fromkeys(("aha-acc-cholesterol-2018", "eas-sams-2015", "nla-2014") + sources + extra + (
        ("fda-simvastatin-2011",) if finding.restricted_dose is not None or any(
            i.statin.ingredient == "simvastatin" and i.serious for i in finding.interactions) else ())))
    return replace(card_text.make_card(rule=RULE, indicator=indicator, summary_text=_summary(finding, names),
                                       detail="\n\n".join(parts), guideline_keys=keys, suggestions=suggestions,
                                       facts=facts),
                   kind=kind_of(finding))


RULE = Rule(
    id="statin-muscle-symptoms", version="1.4.0", topic=Topic.STATIN_MUSCLE_SYMPTOMS,
    hooks=frozenset({PATIENT_VIEW}), needs=("patient", "observations", "medications", "medicationRequests",
                                            "conditions"),
    applies=_applies, card=_card, analytes=("ck",),
    valuesets=("cond-statin-myopathy", RHABDO_VALUESET) + PAD_VALUESETS,
    drug_classes=("statin", "fibrate", "strong-cyp3a4-inhibitor"),
    summary=f"Active statin; critical with rhabdomyolysis on record or CK above {_x_uln(CK_CRITICAL)}; warning above "
            f"{_x_uln(CK_STOP)}, or with a drug its US label contraindicates, advises avoiding or dose-limits "
            f"(statin interaction table), or simvastatin {SIMVA_RESTRICTED.value:g} mg started less than "
            f"{SIMVA_ESTABLISHED.amount} ago (FDA 2011).",
    fires_when="active statin",
    quiet_when="no active statin",
    advice=f"Rhabdomyolysis or CK above {_x_uln(CK_CRITICAL)}: stop the statin, check creatinine and urine myoglobin, "
           f"no rechallenge advice (suggested: creatinine, urine myoglobin, CK only if none is recent). Above "
           f"{_x_uln(CK_STOP)} consider stopping and repeat CK; at most "
           f"{_x_uln(CK_STOP)} usually continue. A contraindicated or avoided pair, or a dose above the labelled "
           "maximum (read from the product strength and dosage), names both drugs and a safer choice: a statin not "
           "metabolised by CYP3A4 within its own label limits, suspending the statin for a short anti-infective "
           "course where its own label says so (simvastatin, lovastatin), or another antibiotic (azithromycin). "
           f"Simvastatin {SIMVA_RESTRICTED.value:g} mg on record for less than {SIMVA_ESTABLISHED.amount}: the FDA "
           "restriction and another LDL-lowering treatment. CK, TSH and creatinine are suggested only when none is "
           f"within {CK_WINDOW.value:g} days.",
    actionable_when=f"rhabdomyolysis on record; CK within {CK_WINDOW.value:g} days above the upper limit (critical "
                    f"above {_x_uln(CK_CRITICAL)}); a pair the statin's label contraindicates or advises avoiding, or "
                    "a labelled maximum dose that the dose exceeds or that cannot be read; simvastatin "
                    f"{SIMVA_RESTRICTED.value:g} mg on record for less than {SIMVA_ESTABLISHED.amount}",
    possible_cause_when="the statin alone (statins can cause leg muscle pain: CK if symptomatic); a 'caution' pair or "
                        "a dose within its labelled maximum; a statin myopathy on record with CK normal or not "
                        "measured",
    references=("aha-acc-cholesterol-2018", "eas-sams-2015", "nla-2014", "fda-simvastatin-2011", "simvastatin-label",
                "lovastatin-label", "atorvastatin-label", "rosuvastatin-label", "pravastatin-label",
                "fda-statin-protease-2012", "statin-macrolide-review-2019"),
)
