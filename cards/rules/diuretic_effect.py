"""Diuretic effect: an active loop or thiazide diuretic with an electrolyte change it explains, or unmonitored.

Fires when: an active loop or thiazide(-like) diuretic AND either
  - an abnormality of the newest result within {electrolytes.lookback:value} that the class explains: low K, low Mg
    (both classes); low Na (thiazides; loops rarely, so not named); low Ca (loops); high Ca (thiazides, and only a mild
    one: corrected calcium {thiazide.max-calcium} or ionized {thiazide.max-calcium-ionized} - above that the thiazide is
    not offered as the explanation), or
  - a monitoring gap: no readable potassium since a diuretic was started (once {diuretic.first-check-after:value} have
    passed since the start), or, for a stable user (started over {diuretic.stable-monitoring:value} ago, or start
    unknown), none within {diuretic.stable-monitoring:value}; or the newest potassium within
    {electrolytes.lookback:value} exists but cannot be read (and carries no flag); or the last potassium (older than
    {electrolytes.lookback:value}, within {diuretic.stable-monitoring:value}) was abnormal in the way the diuretic
    explains (a low one) and has not been repeated. A potassium that cannot be read does not count as monitored: the
    card names it, with its date and what was sent.
Indicator: warning for a moderate or worse abnormality, info for a mild one or a monitoring gap only.
Advises: for an abnormality, the class-specific step (replace K/Mg or add a potassium-sparing agent for low K/Mg;
  review the thiazide for low Na; PTH if a mild high Ca persists); for a gap, monitoring only (a basic metabolic
  panel and magnesium), never supplements. The panel suggestion ("Order basic metabolic panel and magnesium", the
  same label and codes as the electrolyte and medication cards) is on this card only when the chart has no
  electrolyte card; otherwise the step points to that card, which carries it (one lab suggestion per chart).
Quiet when: no active loop/thiazide diuretic; or its typical electrolytes are in range and a potassium was measured
  since the start / within {diuretic.stable-monitoring:value}; or a diuretic started less than
  {diuretic.first-check-after:value} ago.
Needs: medications (+ medicationRequests), observations (potassium, magnesium, sodium, calcium, albumin).
Kind: actionable (shown on every chart open) with an abnormal value the card links to the diuretic, or a moderate or
  worse low potassium never repeated; a possible cause (shown with leg-symptom context) for a monitoring gap alone.
References: European hyponatraemia guideline 2014 (thiazide-induced hyponatraemia); Wermers 2007 (thiazide-associated
  hypercalcaemia is mild); CTCAE v5.0 (2017) for the grades.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from cards import card_text
from cards.facts import LabResult, MedicationUse, PatientFacts, UnreadableResult
from cards.knowledge import threshold
from cards.model import Card, CardKind, Indicator
from cards.rule import PATIENT_VIEW, Rule
from cards.rules import electrolyte_imbalance as electrolytes
from cards.topics import Topic

LOOKBACK = electrolytes.LOOKBACK
FIRST_CHECK_AFTER = threshold("diuretic.first-check-after").days
STABLE_MONITORING = threshold("diuretic.stable-monitoring").days

DIURETIC_CLASSES = ("loop-diuretic", "thiazide-diuretic")
CLASS_NAMES = {"loop-diuretic": "loop diuretic", "thiazide-diuretic": "thiazide"}
MONITORED = ("potassium",)  # what loop and thiazide diuretics lose; a panel brings sodium and creatinine with it


@dataclass(frozen=True)
class Gap:
    """No readable potassium when one was due."""

    since: datetime | None  # the diuretic's start when the check was due after it; None: the 12-month window
    ingredient: str | None
    last_readable: datetime | None
    unreadable: tuple[UnreadableResult, ...] = ()
    newest_unreadable: bool = False
    abnormal_not_repeated: electrolytes.Abnormal | None = None


@dataclass(frozen=True)
class Finding:
    diuretics: tuple[MedicationUse, ...]
    abnormal: tuple[tuple[electrolytes.Abnormal, tuple[str, ...]], ...]  # (abnormality, implicated classes)
    gap: Gap | None

    @property
    def monitoring_gap(self) -> bool:
        return self.gap is not None


def _starts(diuretics: tuple[MedicationUse, ...]) -> dict[str, datetime | None]:
    """Each diuretic ingredient's start: the earliest date of its current uses (None when no use carries one)."""
    starts: dict[str, datetime | None] = {}
    for med in diuretics:
        known = [d for d in (starts.get(med.ingredient), med.date) if d is not None]
        starts[med.ingredient] = min(known) if known else None
    return starts


def _last_readable(facts: PatientFacts) -> datetime | None:
    found = [r.date for r in (facts.latest(a, STABLE_MONITORING) for a in MONITORED) if r is not None]
    return max(found) if found else None


def _gap(facts: PatientFacts, diuretics: tuple[MedicationUse, ...]) -> Gap | None:
    last = _last_readable(facts)
    newest = facts.latest_any("potassium", LOOKBACK)
    if newest is None:
        old = facts.latest("potassium", STABLE_MONITORING)
        graded = electrolytes.assess(old, "potassium") if old is not None else None
        classes = {c for m in diuretics for c in m.classes}
        if old is not None and graded is not None and set(electrolytes.diuretic_explains(graded)) & classes:
            # An abnormal potassium that was never repeated is not monitoring (a K of 3.1 ten months ago).
            return Gap(None, None, old.date, (), abnormal_not_repeated=graded)
    if isinstance(newest, UnreadableResult):
        # The newest potassium exists but cannot be read: the diuretic is effectively unmonitored, whatever its
        # start date (a result with a low or high flag is graded by electrolyte-imbalance instead).
        return Gap(None, None, last, (newest,), newest_unreadable=True)
    unreadable = tuple(u for a in MONITORED for u in facts.unreadable(a, STABLE_MONITORING))
    stable_window_start = facts.now - STABLE_MONITORING
    due: list[tuple[datetime, str]] = []
    stable = False
    for ingredient, start in sorted(_starts(diuretics).items()):
        if start is None or start < stable_window_start:
            stable = True
        elif facts.now - start >= FIRST_CHECK_AFTER:
            due.append((start, ingredient))
    for start, ingredient in sorted(due, reverse=True):  # the newest start first: the most recent change
        if last is None or last < start:
            return Gap(start, ingredient, last, tuple(u for u in unreadable if u.date >= start))
    if stable and last is None:
        return Gap(None, None, None, unreadable)
    return None


def _applies(facts: PatientFacts) -> Finding | None:
    diuretics = tuple(m for c in DIURETIC_CLASSES for m in facts.medications(c))
    if not diuretics:
        return None
    classes = {c for m in diuretics for c in m.classes if c in DIURETIC_CLASSES}
    abnormal = []
    for result, key, note in electrolytes.latest_graded(facts):
        graded = electrolytes.assess(result, key)
        if graded is None:
            continue
        implicated = tuple(sorted(c for c in electrolytes.diuretic_explains(graded) if c in classes))
        if implicated:
            abnormal.append((graded, implicated))
    gap = _gap(facts, diuretics)
    if not abnormal and gap is None:
        return None
    return Finding(diuretics, tuple(abnormal), gap)


def kind_of(finding: Finding) -> CardKind:
    """Actionable with an abnormal value linked to the diuretic: a current one (mild included), or a low potassium
    never repeated that is moderate or worse (the electrolyte card's "not repeated" bar: still unacted on, and shown
    there too); a monitoring gap alone - no potassium when due, an unreadable one, a mild low one never repeated - is
    a possible cause."""
    stale = finding.gap.abnormal_not_repeated if finding.gap is not None else None
    if finding.abnormal or (stale is not None and stale.severity != "mild"):
        return CardKind.ACTIONABLE
    return CardKind.POSSIBLE_CAUSE


def card_kind(facts: PatientFacts) -> CardKind | None:
    """The kind of this chart's diuretic card, None when it does not fire (for other cards' cross-references)."""
    finding = _applies(facts)
    return kind_of(finding) if finding is not None else None


def _gap_text(gap: Gap, facts: PatientFacts) -> tuple[str, str]:
    """(summary part, evidence sentence) for a monitoring gap."""
    if gap.abnormal_not_repeated is not None:
        a = gap.abnormal_not_repeated
        value = card_text.value_text(a.result)
        return (f"last potassium {value} ({a.result.day.isoformat()}) was {a.direction}, not repeated",
                f"The last potassium, {value} on {card_text.age_text(a.result.date, facts.now)}, was {a.direction} "
                "and has not been repeated: recheck it.")
    if gap.newest_unreadable:
        u = gap.unreadable[0]
        evidence = (f"The newest potassium, {card_text.age_text(u.date, facts.now)}, exists but could not be read "
                    f"(sent {u.sent}): read the lab's comment, or repeat it")
        if gap.last_readable is not None:
            evidence += f"; the last readable potassium is from {card_text.age_text(gap.last_readable, facts.now)}"
        return f"newest potassium ({u.day.isoformat()}) could not be read", evidence + "."
    if gap.since is not None:
        summary = f"no potassium since {gap.ingredient} was started ({gap.since.date().isoformat()})"
        evidence = (f"{str(gap.ingredient).capitalize()} was started on {gap.since.date().isoformat()}; electrolytes "
                    f"are due about 2-4 weeks after a start and no readable potassium has been reported since")
    else:
        summary = "no potassium in 12 months"
        evidence = "No readable potassium result in the last 12 months"
    if gap.last_readable is not None:
        evidence += f" (last: {card_text.age_text(gap.last_readable, facts.now)})"
    evidence += "."
    for u in gap.unreadable:
        evidence += (f" A {card_text.ANALYTE_NAMES[u.analyte].lower()} result of {u.day.isoformat()} exists but could "
                     f"not be read (sent {u.sent}).")
    return summary, evidence


def _steps(finding: Finding, facts: PatientFacts) -> list[str]:
    steps = ["Check a basic metabolic panel (potassium, sodium, creatinine) and magnesium"
             + (" (the order is on the *Electrolyte imbalance* card)." if electrolytes.fires(facts) else ".")]
    kinds = {(a.family, a.direction) for a, _ in finding.abnormal}
    potassium = next((a for a in (electrolytes.assess(r, k) for r, k, _ in electrolytes.latest_graded(facts)
                                  if k == "potassium") if a is not None), None)
    k_high = potassium is not None and potassium.direction == "high"
    on_k_sparing = bool(facts.medications("potassium-sparing-diuretic") or facts.medications("mra"))
    if ("potassium", "low") in kinds:
        extra = "" if on_k_sparing else " or add a potassium-sparing agent"
        steps.append(f"Review the diuretic's dose and need; if low potassium persists, replace it{extra} (clinician "
                     "decision).")
    if ("magnesium", "low") in kinds:
        steps.append("Replace magnesium if it stays low (clinician decision)."
                     + (" Potassium is high: no potassium replacement and no potassium-sparing agent." if k_high
                        else ""))
    if any(a.severity == "critical" for a, _ in finding.abnormal):
        steps.append("The value is more than a diuretic usually causes: look for other causes too (vomiting, "
                     "diarrhoea, other drugs, hormonal causes) - see the electrolyte card.")
    if ("sodium", "low") in kinds:
        steps.append("Review the diuretic (thiazides are the usual culprit of drug-induced hyponatraemia); repeat sodium "
                     "after stopping or reducing it (clinician decision).")
    if {("calcium", "high"), ("calcium-ionized", "high")} & kinds:
        steps.append("Repeat calcium; if it stays high, check PTH - a thiazide can unmask primary "
                     "hyperparathyroidism.")
    if {("calcium", "low"), ("calcium-ionized", "low")} & kinds:
        steps.append("Check magnesium, PTH and 25-OH vitamin D.")
    if finding.gap is not None and not finding.abnormal:
        steps.append("Repeat the panel after any dose increase; a stable user needs it about yearly.")
    return steps


def _card(finding: Finding, facts: PatientFacts) -> Card:
    names = sorted({m.ingredient for m in finding.diuretics})
    drug_text = ", ".join(names)
    lines = [card_text.medication_line(m, facts.now) for m in card_text.one_per_ingredient(finding.diuretics)]
    parts: list[str] = []
    if finding.abnormal:
        worst = max((a for a, _ in finding.abnormal), key=lambda a: electrolytes.SEVERITY_RANK[a.severity])
        indicator = Indicator.INFO if worst.severity == "mild" else Indicator.WARNING
        effects = "; ".join(f"{electrolytes.DIRECTION_WORDS[a.direction].lower()} "
                            f"{card_text.ANALYTE_NAMES[a.result.analyte].lower()} {card_text.value_text(a.result)}"
                            for a, _ in finding.abnormal)
        implicated = {c for _, classes in finding.abnormal for c in classes}
        culprits = ", ".join(sorted({m.ingredient for m in finding.diuretics if m.classes & implicated}))
        summary = f"{culprits.capitalize()} may explain {effects} - a cause of night leg cramps"
        rows: list[tuple[LabResult | UnreadableResult, str, str]] = [
            (a.result, a.range_used, f"{a.severity} {a.direction}; typical of "
             + " and ".join(CLASS_NAMES[c] for c in classes)) for a, classes in finding.abnormal]
        parts.append(card_text.lab_table(rows, facts.now))
        if finding.gap is not None:
            parts.append(_gap_text(finding.gap, facts)[1])
    else:
        assert finding.gap is not None
        indicator = Indicator.INFO
        gap_summary, evidence = _gap_text(finding.gap, facts)
        summary = f"On {drug_text}: {gap_summary} - check electrolytes"
        parts.append(evidence)
    detail = "\n\n".join([
        "Loop and thiazide diuretics lower potassium and magnesium; thiazides also lower sodium and can raise calcium "
        "a little, loops lower calcium. Low potassium, magnesium, sodium or calcium causes muscle cramps, often at "
        "night.",
        "**Diuretics:**\n" + "\n".join(lines),
        *parts,
        card_text.bullets("Next steps", _steps(finding, facts)),
    ])
    # One panel suggestion per chart: the electrolyte card carries it when it fires (always shown); otherwise this
    # card does, with the same label and codes as every other card that offers it.
    suggestions = [] if electrolytes.fires(facts) else [
        card_text.electrolyte_panel(facts.patient_id, f"Electrolyte monitoring on {drug_text}", recommended=True)]
    keys = ["hyponatraemia-2014", "ctcae-v5"]
    if any(a.family.startswith("calcium") and a.direction == "high" for a, _ in finding.abnormal):
        keys.insert(0, "wermers-2007")
    return replace(card_text.make_card(rule=RULE, indicator=indicator, summary_text=summary, detail=detail,
                                       guideline_keys=tuple(keys), suggestions=suggestions, facts=facts),
                   kind=kind_of(finding))


RULE = Rule(
    id="diuretic-effect", version="2.3.0", topic=Topic.DIURETIC_EFFECT, hooks=frozenset({PATIENT_VIEW}),
    needs=("patient", "observations", "medications", "medicationRequests"), applies=_applies, card=_card,
    analytes=electrolytes.ANALYTES, drug_classes=DIURETIC_CLASSES,
    summary="Active loop/thiazide diuretic with an electrolyte change it explains, or no potassium when due.",
    fires_when="active loop or thiazide diuretic AND (low K, low Mg, low Na, low Ca with a loop, mild high Ca "
               "({thiazide.max-calcium}) with a thiazide; or no readable potassium since a start more than "
               "{diuretic.first-check-after:value} ago, or none in {diuretic.stable-monitoring:value} for a stable "
               "user)",
    quiet_when="no active loop/thiazide diuretic; or electrolytes in range and potassium measured when due; or a start "
               "less than {diuretic.first-check-after:value} ago; or a hypercalcaemia above "
               "{thiazide.max-calcium:value} (the electrolyte card points elsewhere)",
    advice="Abnormality: review the diuretic and the class-specific step (replace K/Mg or a potassium-sparing agent; "
           "review a thiazide for low sodium; PTH for a persistent mild high calcium). Gap: a basic metabolic panel "
           "and magnesium, no supplements. The panel order is suggested here only when no electrolyte card is on "
           "the chart (which then carries it).",
    actionable_when="an abnormal K, Mg, Na or Ca within {electrolytes.lookback:value} that the diuretic explains (mild "
                    "included); or the last potassium (older than {electrolytes.lookback:value}, within "
                    "{diuretic.stable-monitoring:value}) moderately or severely low and never repeated",
    possible_cause_when="a monitoring gap alone: no readable potassium since a start or in "
                        "{diuretic.stable-monitoring:value}, the newest potassium unreadable, or a mildly low "
                        "potassium never repeated",
    references=("hyponatraemia-2014", "wermers-2007", "ctcae-v5"),
)
