"""Electrolyte imbalance: potassium, magnesium, calcium or sodium out of range, graded by direction and severity.

Fires when: the newest result within LOOKBACK ({electrolytes.lookback:value}) of potassium, magnesium, sodium or calcium
  is out of range. Calcium: ionized calcium when it is at least as recent as the total calcium; else a calcium the lab
  corrected; else total calcium, corrected for albumin (Payne 1973) only when an albumin from the same day is below
  {calcium.correct-below-albumin:value}. Out of range: the lab's own reference range when it applies to the patient,
  else the lab's flag (L/H/LL/HH), else the default range (cards/knowledge/data/thresholds/electrolytes.json). A
  censored value ("<2.0") counts when every value it allows is out of range; a result that cannot be read is graded by
  its flag, or named on the card as unreadable.
Severity: critical when the lab flags LL/HH/AA or the value passes the critical threshold (CTCAE v5.0 grade 4;
  potassium {potassium.critical-high}, UK Kidney Association 2020 "severe"); warning when it passes the moderate
  threshold (CTCAE grade 2-3; potassium {potassium.moderate-high}, UKKA "moderate"; sodium {sodium.moderate-low},
  European guideline 2014 "moderate"); info for a mild abnormality - except a potassium {potassium.mra-reduce} on
  spironolactone or eplerenone, at least a warning: a dose change of the culprit is due (ESC 2021 heart failure
  guideline). Each threshold is in the knowledge data with its source.
Advises, by direction: low K/Mg/Ca/Na - cause, replacement and the cramp link; high K - an emergency at
  {potassium.critical-high} (ECG now), the potassium-raising drugs on the list named, never replacement; on
  spironolactone or eplerenone (ESC 2021) halve it above {potassium.mra-reduce:value} and stop it above
  {potassium.mra-stop:value} (never "do not give a potassium-sparing diuretic" to a patient on one), an indicated ACE
  inhibitor/ARB kept below {potassium.moderate-high:value} (KDIGO 2024); high Ca - PTH/PTHrP, weakness rather than
  cramps; high Na - water deficit; high Mg - supplements and kidney function.
Not repeated: a moderate or worse potassium, magnesium or sodium older than {electrolytes.lookback:value} (within
  {electrolytes.history:value}) with no result of that analyte since is shown as info, to be repeated (it must not
  vanish when it leaves the window).
Sodium and glucose: a low sodium with a same-day glucose above {sodium.glucose-correction-above:value} is graded
  corrected for it ({sodium.glucose-correction}, Hillier 1999).
Quiet when: every newest result is in range, or there are no results within LOOKBACK (nor a moderate or worse one
  within {electrolytes.history:value}).
Kind: always actionable - every card is an abnormal value, and a "not repeated" one is moderate or worse and unacted
  on; its cross-references name only cards that carry the same abnormality and are themselves always shown.
Needs: observations (potassium, magnesium, calcium, albumin, sodium); medications (the drugs that explain the
  abnormality: diuretics, potassium-raising drugs, and the drug classes of cards/drug_effects.py).
References: CTCAE v5.0 (2017); European hyponatraemia guideline 2014; UK Kidney Association hyperkalaemia 2020;
  Payne 1973 (corrected calcium); Wermers 2007 (thiazide-associated hypercalcaemia); Hillier 1999 (glucose);
  KDIGO 2024 (potassium on RAS inhibitors); ESC 2021 heart failure guideline (MRA practical guidance: potassium
  {potassium.mra-reduce} halve, {potassium.mra-stop} stop).
Suggestion: one, "Order basic metabolic panel and magnesium" (with albumin and ionized calcium for a calcium), the
  same label and codes as the diuretic and medication cards, which leave theirs out when this card fires.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Union

from cards import card_text, drug_effects
from cards.facts import LabResult, PatientFacts, UnreadableResult
from cards.knowledge import Threshold, threshold
from cards.model import Card, Indicator
from cards.rule import PATIENT_VIEW, Rule
from cards.topics import Topic

Reading = Union[LabResult, UnreadableResult]

LOOKBACK = threshold("electrolytes.lookback").days
HISTORY = threshold("electrolytes.history").days

# Grading family of each analyte key (total and corrected calcium share CTCAE's corrected-calcium grades).
FAMILY = {"potassium": "potassium", "sodium": "sodium", "magnesium": "magnesium", "calcium-total": "calcium",
          "calcium-corrected": "calcium", "calcium-ionized": "calcium-ionized"}
KEYS = ("potassium", "sodium", "magnesium", "calcium", "calcium-ionized")
DEFAULT_LOW: dict[str, Threshold] = {
    "potassium": threshold("potassium.default-low"), "sodium": threshold("sodium.default-low"),
    "magnesium": threshold("magnesium.default-low"), "calcium": threshold("calcium.default-low"),
    "calcium-ionized": threshold("calcium-ionized.default-low")}
DEFAULT_HIGH: dict[str, Threshold] = {
    "potassium": threshold("potassium.default-high"), "sodium": threshold("sodium.default-high"),
    "magnesium": threshold("magnesium.default-high"), "calcium": threshold("calcium.default-high"),
    "calcium-ionized": threshold("calcium-ionized.default-high")}
MODERATE: dict[tuple[str, str], Threshold] = {
    ("potassium", "low"): threshold("potassium.moderate-low"),
    ("potassium", "high"): threshold("potassium.moderate-high"),
    ("sodium", "low"): threshold("sodium.moderate-low"), ("sodium", "high"): threshold("sodium.moderate-high"),
    ("magnesium", "low"): threshold("magnesium.moderate-low"),
    ("magnesium", "high"): threshold("magnesium.moderate-high"),
    ("calcium", "low"): threshold("calcium.moderate-low"), ("calcium", "high"): threshold("calcium.moderate-high"),
    ("calcium-ionized", "low"): threshold("calcium-ionized.moderate-low"),
    ("calcium-ionized", "high"): threshold("calcium-ionized.moderate-high"),
}
CRITICAL: dict[tuple[str, str], Threshold] = {
    ("potassium", "low"): threshold("potassium.critical-low"),
    ("potassium", "high"): threshold("potassium.critical-high"),
    ("sodium", "low"): threshold("sodium.critical-low"), ("sodium", "high"): threshold("sodium.critical-high"),
    ("magnesium", "low"): threshold("magnesium.critical-low"),
    ("magnesium", "high"): threshold("magnesium.critical-high"),
    ("calcium", "low"): threshold("calcium.critical-low"), ("calcium", "high"): threshold("calcium.critical-high"),
    ("calcium-ionized", "low"): threshold("calcium-ionized.critical-low"),
    ("calcium-ionized", "high"): threshold("calcium-ionized.critical-high"),
}
SODIUM_PROFOUND = threshold("sodium.profound-low")
MRA_REDUCE = threshold("potassium.mra-reduce")  # above it on an MRA: halve the MRA (ESC 2021)
MRA_STOP = threshold("potassium.mra-stop")  # above it on an MRA: stop the MRA (ESC 2021)
SODIUM_MAX_CORRECTION = threshold("sodium.max-correction-24h")
GLUCOSE_CORRECTION = threshold("sodium.glucose-correction")
GLUCOSE_CORRECTION_ABOVE = threshold("sodium.glucose-correction-above")
ALBUMIN_CORRECT_BELOW = threshold("calcium.correct-below-albumin")
CALCIUM_PER_ALBUMIN = threshold("calcium.per-albumin")
THIAZIDE_MAX_CALCIUM = {"calcium": threshold("thiazide.max-calcium"),
                        "calcium-ionized": threshold("thiazide.max-calcium-ionized")}

CRITICAL_FLAGS = frozenset({"LL", "HH", "AA"})
LOW_FLAGS = frozenset({"L", "LL", "LU"})
HIGH_FLAGS = frozenset({"H", "HH", "HU"})
ABNORMAL_FLAGS = LOW_FLAGS | HIGH_FLAGS | frozenset({"A", "AA"})

ANALYTES = ("potassium", "magnesium", "sodium", "calcium-total", "calcium-ionized", "calcium-corrected", "albumin",
            "glucose")

SEVERITY_INDICATOR = {"mild": Indicator.INFO, "moderate": Indicator.WARNING, "critical": Indicator.CRITICAL}
SEVERITY_RANK = {"mild": 0, "moderate": 1, "critical": 2}


@dataclass(frozen=True)
class Abnormal:
    result: Reading
    direction: str  # "low" | "high" | "abnormal"
    critical: bool
    range_used: str
    note: str = ""
    severity: str = "moderate"  # "mild" | "moderate" | "critical"
    stale: bool = False  # older than LOOKBACK and not repeated since (shown as info, to be repeated)

    @property
    def family(self) -> str:
        return FAMILY.get(self.result.analyte, self.result.analyte)

    @property
    def indicator(self) -> Indicator:
        return Indicator.INFO if self.stale else SEVERITY_INDICATOR[self.severity]


@dataclass(frozen=True)
class Finding:
    abnormal: tuple[Abnormal, ...]
    normal: tuple[LabResult, ...]
    unreadable: tuple[UnreadableResult, ...] = ()


def beyond(result: LabResult, op: str, limit: float) -> bool:
    """Whether every value `result` allows (a censored one included) is `op` `limit` ("<", "<=", ">", ">=")."""
    value, comparator = result.value, result.comparator
    if op in ("<", "<="):
        if comparator in (">", ">="):
            return False
        strict = op == "<" and comparator != "<"
        return value < limit if strict else value <= limit
    if comparator in ("<", "<="):
        return False
    strict = op == ">" and comparator != ">"
    return value > limit if strict else value >= limit


def assess(result: Reading, key: str | None = None) -> Abnormal | None:
    """Grade one result: None when in range (or not gradable). Lab range first, then lab flag, then default range."""
    family = FAMILY.get(key or result.analyte, key or result.analyte)
    flags = result.interpretation
    direction: str | None = None
    if isinstance(result, UnreadableResult):
        direction = ("low" if flags & LOW_FLAGS else "high" if flags & HIGH_FLAGS
                     else "abnormal" if flags & ABNORMAL_FLAGS else None)
        if direction is None:
            return None
        severity = "critical" if flags & CRITICAL_FLAGS else "moderate"
        return Abnormal(result, direction, severity == "critical", "lab flag (value not readable)", severity=severity)
    if result.ref_low is not None or result.ref_high is not None:
        range_used = card_text.range_text(result)
        if result.ref_low is not None and beyond(result, "<", result.ref_low):
            direction = "low"
        elif result.ref_high is not None and beyond(result, ">", result.ref_high):
            direction = "high"
    elif flags & ABNORMAL_FLAGS or "N" in flags:
        range_used = "lab flag"
        direction = ("low" if flags & LOW_FLAGS else "high" if flags & HIGH_FLAGS
                     else "abnormal" if flags & ABNORMAL_FLAGS else None)
        by_value = _default_direction(result, family)
        if direction in ("low", "high") and by_value in ("low", "high") and by_value != direction:
            # A flag that says the opposite of the number (H on 3.2 mmol/L): trust neither, say so.
            return Abnormal(result, "abnormal", False, "lab flag", severity="moderate",
                            note=f"the lab flag {'/'.join(sorted(flags & (LOW_FLAGS | HIGH_FLAGS)))} disagrees with "
                                 f"the value: check the result with the lab")
    else:
        low, high = DEFAULT_LOW.get(family), DEFAULT_HIGH.get(family)
        range_used = card_text.range_text(result, (low.value if low else None, high.value if high else None))
        if low is not None and beyond(result, low.compare, low.value):
            direction = "low"
        elif high is not None and beyond(result, high.compare, high.value):
            direction = "high"
    # A value past a critical threshold is abnormal whatever range the lab sent.
    for side in ("low", "high"):
        crit = CRITICAL.get((family, side))
        if direction is None and crit is not None and beyond(result, crit.compare, crit.value):
            direction = side
    if direction is None:
        return None
    crit = CRITICAL.get((family, direction))
    moderate = MODERATE.get((family, direction))
    if flags & CRITICAL_FLAGS or (crit is not None and beyond(result, crit.compare, crit.value)):
        severity = "critical"
    elif direction == "abnormal" or (moderate is not None and beyond(result, moderate.compare, moderate.value)):
        severity = "moderate"
    elif moderate is None:
        severity = "moderate"
    else:
        severity = "mild"
    return Abnormal(result, direction, severity == "critical", range_used, severity=severity)


def _default_direction(result: LabResult, family: str) -> str | None:
    low, high = DEFAULT_LOW.get(family), DEFAULT_HIGH.get(family)
    if low is not None and beyond(result, low.compare, low.value):
        return "low"
    if high is not None and beyond(result, high.compare, high.value):
        return "high"
    return None


def calcium(facts: PatientFacts) -> tuple[Reading, str, str] | None:
    """The calcium to grade: (result, grading key, how it was chosen). Ionized > lab-corrected > total."""
    total = facts.latest_any("calcium-total", LOOKBACK)
    ionized = facts.latest("calcium-ionized", LOOKBACK)
    reported_corrected = facts.latest("calcium-corrected", LOOKBACK)
    if ionized is not None and (total is None or ionized.day >= total.day):
        return ionized, "calcium-ionized", "ionized calcium (measured; used before total calcium)"
    if reported_corrected is not None and (total is None or reported_corrected.day >= total.day):
        return reported_corrected, "calcium-corrected", "corrected for albumin by the lab"
    if total is None:
        return None
    if isinstance(total, UnreadableResult):
        return total, "calcium-total", ""
    albumin = next((a for a in facts.results("albumin", LOOKBACK) if a.day == total.day), None)
    if albumin is None:
        return total, "calcium-total", "total calcium, not corrected: no albumin from the same day"
    albumin_g_dl = albumin.value_in("g/dL")
    if not ALBUMIN_CORRECT_BELOW.met(albumin_g_dl):
        return total, "calcium-total", (f"total calcium; albumin {card_text.fmt_value(albumin_g_dl)} g/dL is not low, "
                                        "so no correction")
    corrected_value = total.value_in("mg/dL") + CALCIUM_PER_ALBUMIN.value * (
        ALBUMIN_CORRECT_BELOW.value - albumin_g_dl)
    corrected = replace(total, analyte="calcium-corrected", value=corrected_value, unit="mg/dL", converted=True,
                        original=f"total {card_text.fmt_value(total.value_in('mg/dL'))} mg/dL, "
                                 f"albumin {card_text.fmt_value(albumin_g_dl)} g/dL")
    return corrected, "calcium-corrected", ("corrected for albumin (Payne 1973): an estimate, unreliable in kidney "
                                            "failure and critical illness; ionized calcium confirms")


def sodium(facts: PatientFacts) -> tuple[Reading, str, str] | None:
    """The newest sodium; a low one corrected for a same-day glucose above 200 mg/dL (Hillier 1999)."""
    result = facts.latest_any("sodium", LOOKBACK)
    if not isinstance(result, LabResult):
        return (result, "sodium", "") if result is not None else None
    glucose = next(iter(facts.results_on("glucose", result.day)), None)
    if glucose is None or not GLUCOSE_CORRECTION_ABOVE.met(glucose.value_in("mg/dL")):
        return result, "sodium", ""
    measured = result.value_in("mmol/L")
    if assess(result, "sodium") is None or measured >= DEFAULT_HIGH["sodium"].value:
        return result, "sodium", ""  # only a low sodium is explained by glucose
    glucose_mg_dl = glucose.value_in("mg/dL")
    corrected = measured + GLUCOSE_CORRECTION.value * (glucose_mg_dl - 100) / 100
    shown = replace(result, value=corrected, converted=True,
                    original=f"measured {card_text.fmt_value(measured, 0)} mmol/L with glucose "
                             f"{card_text.fmt_value(glucose_mg_dl, 0)} mg/dL")
    return shown, "sodium", "corrected for the same-day glucose (Hillier 1999): high glucose lowers measured sodium"


def latest_graded(facts: PatientFacts) -> list[tuple[Reading, str, str]]:
    graded: list[tuple[Reading, str, str]] = []
    for analyte in ("potassium", "magnesium"):
        result = facts.latest_any(analyte, LOOKBACK)
        if result is not None:
            graded.append((result, analyte, ""))
    na = sodium(facts)
    if na is not None:
        graded.append(na)
    ca = calcium(facts)
    if ca is not None:
        graded.append(ca)
    return graded


def _not_repeated(facts: PatientFacts) -> list[Abnormal]:
    """Moderate or worse abnormalities older than LOOKBACK (within HISTORY) with no result of that analyte since."""
    found = []
    for analyte in ("potassium", "magnesium", "sodium"):
        if facts.latest_any(analyte, LOOKBACK) is not None:
            continue
        old = facts.latest(analyte, HISTORY)
        graded = assess(old, analyte) if old is not None else None
        if graded is not None and graded.severity != "mild" and graded.direction != "abnormal":
            found.append(replace(graded, stale=True, note="older than 90 days, not repeated since"))
    return found


def fires(facts: PatientFacts) -> bool:
    """Whether this chart has an electrolyte card (always shown: it is actionable), which then carries the chart's
    electrolyte-panel suggestion."""
    return _applies(facts) is not None


def _applies(facts: PatientFacts) -> Finding | None:
    abnormal: list[Abnormal] = []
    normal: list[LabResult] = []
    unreadable: list[UnreadableResult] = []
    for result, key, note in latest_graded(facts):
        graded = assess(result, key)
        if graded is not None:
            abnormal.append(replace(graded, note="; ".join(n for n in (note, graded.note) if n)))
        elif isinstance(result, UnreadableResult):
            unreadable.append(result)
        else:
            normal.append(result)
    abnormal += _not_repeated(facts)
    if not abnormal:
        return None
    abnormal.sort(key=lambda a: (a.stale, -SEVERITY_RANK[a.severity], KEYS.index(a.family) if a.family in KEYS
                                 else 9))
    return Finding(tuple(abnormal), tuple(normal), tuple(unreadable))


# Drug classes that explain an abnormality, by (family, direction): standard pharmacology, as summarised in the
# hyperkalaemia guideline's list of potassium-raising drugs (UK Kidney Association 2020) and the drug labels.
DIURETIC_LINKS: dict[tuple[str, str], tuple[str, ...]] = {
    ("potassium", "low"): ("loop-diuretic", "thiazide-diuretic"),
    ("magnesium", "low"): ("loop-diuretic", "thiazide-diuretic"),
    ("sodium", "low"): ("thiazide-diuretic",),  # loops lower sodium far less often (European guideline 2014)
    ("calcium", "high"): ("thiazide-diuretic",), ("calcium-ionized", "high"): ("thiazide-diuretic",),
    ("calcium", "low"): ("loop-diuretic",), ("calcium-ionized", "low"): ("loop-diuretic",),
}
POTASSIUM_RAISING = ("ace-inhibitor", "arb", "arni", "mra", "potassium-sparing-diuretic", "trimethoprim", "nsaid",
                     "heparin", "calcineurin-inhibitor", "potassium-supplement")
POTASSIUM_RAISING_TEXT = ("ACE inhibitors, ARBs, sacubitril/valsartan, spironolactone/eplerenone and other "
                          "potassium-sparing diuretics, trimethoprim, NSAIDs, heparins, ciclosporin/tacrolimus, "
                          "potassium supplements")


def diuretic_explains(a: Abnormal) -> tuple[str, ...]:
    """The diuretic classes that can explain abnormality `a` (a thiazide only a mild hypercalcaemia)."""
    classes = DIURETIC_LINKS.get((a.family, a.direction), ())
    ceiling = THIAZIDE_MAX_CALCIUM.get(a.family)
    if a.direction == "high" and ceiling is not None and isinstance(a.result, LabResult):
        value = a.result.value_in(ceiling.unit)
        if not ceiling.met(value) or a.result.comparator in (">", ">="):
            classes = tuple(c for c in classes if c != "thiazide-diuretic")
    elif a.direction == "high" and ceiling is not None:
        classes = ()  # an unreadable value: its size is unknown
    return classes


def _names(facts: PatientFacts, classes: tuple[str, ...]) -> list[str]:
    return sorted({m.ingredient for c in classes for m in facts.medications(c)})


def mra_action(a: Abnormal, facts: PatientFacts) -> tuple[str | None, list[str]]:
    """What the ESC 2021 heart failure guideline says to do with a steroidal MRA (spironolactone, eplerenone: the
    drugs that are both an MRA and a potassium-sparing diuretic) on this high potassium: ("stop" | "halve" | None, the
    MRAs on the list). Only a current, readable potassium; finerenone has its own label rules and is only reviewed."""
    mras = sorted({m.ingredient for m in facts.medications("mra") if "potassium-sparing-diuretic" in m.classes})
    if (a.family, a.direction) != ("potassium", "high") or a.stale or not isinstance(a.result, LabResult) or not mras:
        return None, mras
    if beyond(a.result, MRA_STOP.compare, MRA_STOP.value):
        return "stop", mras
    if beyond(a.result, MRA_REDUCE.compare, MRA_REDUCE.value):
        return "halve", mras
    return None, mras


def _dated_names(facts: PatientFacts, classes: tuple[str, ...]) -> list[str]:
    """The drugs of `classes` with the date of their earliest current record ("enoxaparin (since 2026-09-10)"), so
    that a clinician can tell a long-standing drug from an order that may have ended."""
    since: dict[str, str | None] = {}
    for med in (m for c in classes for m in facts.medications(c)):
        day = med.date.date().isoformat() if med.date else None
        known = since.get(med.ingredient)
        since[med.ingredient] = min(d for d in (known, day) if d) if (known or day) else None
    return [f"{name} (since {day})" if day else name for name, day in sorted(since.items())]


_WHY: dict[tuple[str, str], str] = {
    ("potassium", "low"): "Low potassium causes muscle cramps and weakness and, when severe, arrhythmias.",
    ("potassium", "high"): ("High potassium causes muscle weakness, paraesthesia and dangerous arrhythmias; it is "
                            "not a cause of cramps. A haemolysed or delayed sample can raise it falsely."),
    ("magnesium", "low"): ("Low magnesium causes cramps and makes low potassium and low calcium hard to correct."),
    ("magnesium", "high"): ("High magnesium causes weakness, low reflexes and low blood pressure, usually with "
                            "kidney impairment or magnesium-containing drugs; it is not a cause of cramps."),
    ("calcium", "low"): "Low calcium causes muscle cramps, spasms (tetany) and tingling.",
    ("calcium", "high"): ("High calcium causes weakness, thirst, polyuria, constipation and bone pain rather than "
                          "cramps; most cases are primary hyperparathyroidism or malignancy."),
    ("sodium", "low"): "Low sodium causes cramps, weakness, unsteadiness and confusion.",
    ("sodium", "high"): "High sodium means a water deficit (low intake or losses) and causes weakness and confusion.",
}
_WHY["calcium-ionized", "low"] = _WHY["calcium", "low"]
_WHY["calcium-ionized", "high"] = _WHY["calcium", "high"]

_SUMMARY_TAIL: dict[tuple[str, str], str] = {
    ("potassium", "abnormal"): "check with the lab", ("sodium", "abnormal"): "check with the lab",
    ("magnesium", "abnormal"): "check with the lab", ("calcium", "abnormal"): "check with the lab",
    ("calcium-ionized", "abnormal"): "check with the lab",
    ("potassium", "high"): "not a cramp cause; review K-raising drugs",
    ("calcium", "high"): "check PTH", ("calcium-ionized", "high"): "check PTH",
    ("magnesium", "high"): "check kidney function and supplements",
    ("sodium", "high"): "assess water deficit",
}
DIRECTION_WORDS = {"low": "Low", "high": "High", "abnormal": "Abnormal"}


def _steps(a: Abnormal, facts: PatientFacts, families: set[str]) -> list[str]:
    """Next steps for one abnormality: direction- and severity-specific, never another direction's advice."""
    family, direction, severity = a.family, a.direction, a.severity
    value = card_text.value_text(a.result)
    steps: list[str] = []
    if a.stale:
        return [f"Repeat {card_text.ANALYTE_NAMES[a.result.analyte].lower()} now: the last result "
                f"({card_text.age_text(a.result.date, facts.now)}) was {severity} {direction} and has not been "
                "repeated."]
    if isinstance(a.result, UnreadableResult):
        name = card_text.ANALYTE_NAMES[a.result.analyte]
        steps.append(f"{name} flagged {'critical ' if severity == 'critical' else ''}{direction} but not reportable "
                     f"(sent {a.result.sent}): repeat it urgently on a fresh sample (haemolysis raises potassium "
                     "falsely)." + (" 12-lead ECG now if the patient is at risk (kidney impairment, "
                                    "potassium-raising drugs)." if (family, direction) == ("potassium", "high")
                                   else ""))
        if (family, direction) == ("potassium", "high"):
            steps.append("Do not give potassium supplements; review the potassium-raising drugs on the list.")
        return steps
    if (family, direction) == ("potassium", "high"):
        if severity == "critical":
            crit = CRITICAL[family, direction]
            steps.append(f"Potassium {value} ({crit.text}: severe hyperkalaemia) is an emergency: 12-lead ECG now and "
                         "start the acute hyperkalaemia treatment pathway now (UK Kidney Association 2020).")
        elif severity == "moderate":
            steps.append(f"Potassium {MODERATE[family, direction].text}: 12-lead ECG now and repeat potassium today "
                         "(UK Kidney Association 2020).")
        else:
            steps.append("Repeat potassium on a fresh, promptly analysed sample with creatinine/eGFR.")
        action, mras = mra_action(a, facts)
        if action == "stop":
            steps.append(f"Stop {', '.join(mras)} now: potassium "
                         f"{MRA_STOP.compare} {MRA_STOP.value:.1f} mmol/L on a mineralocorticoid receptor antagonist "
                         "(ESC 2021 heart failure guideline).")
        elif action == "halve":
            steps.append(f"Halve the dose of {', '.join(mras)} and recheck potassium and creatinine closely: potassium "
                         f"{MRA_REDUCE.compare} {MRA_REDUCE.value:.1f} mmol/L on a mineralocorticoid receptor "
                         f"antagonist; stop it if potassium rises above {MRA_STOP.value:.1f} mmol/L (ESC 2021 heart "
                         "failure guideline).")
        raisers = [r for r in _dated_names(facts, POTASSIUM_RAISING) if r.split(" (")[0] not in mras]
        other = "other " if mras else ""
        ras = _names(facts, ("ace-inhibitor", "arb", "arni"))
        if raisers and severity == "mild" and ras:
            steps.append(f"{(other + 'potassium').capitalize()}-raising drugs on the list: {', '.join(raisers)}. "
                         f"Keep {', '.join(ras)} if indicated while potassium is below "
                         f"{MODERATE[family, direction].value:.1f} mmol/L and manage the potassium (KDIGO 2024): "
                         "stop NSAIDs, review diet, repeat.")
        elif raisers:
            steps.append(f"Review the {other}potassium-raising drugs on the list: {', '.join(raisers)} - confirm each "
                         "is still taken, then reduce or hold as appropriate.")
        elif not mras:
            steps.append(f"Look for potassium-raising drugs ({POTASSIUM_RAISING_TEXT}) and kidney impairment.")
        if facts.medications("potassium-sparing-diuretic") or facts.medications("mra"):
            steps.append("Do not give potassium supplements (stop any).")
        else:
            steps.append("Do not give potassium supplements (stop any) or start a potassium-sparing diuretic or "
                         "mineralocorticoid receptor antagonist.")
    elif (family, direction) == ("potassium", "low"):
        if severity == "critical":
            steps.append(f"Potassium {CRITICAL[family, direction].text} is critical: ECG now and urgent "
                         "replacement with monitoring.")
        elif severity == "moderate":
            steps.append(f"Potassium {MODERATE[family, direction].text}: ECG and same-day review.")
        steps.append("Repeat potassium with magnesium to confirm.")
        if "magnesium" not in families:
            steps.append("Check magnesium: low potassium does not correct while magnesium is low.")
        steps.append("Look for the cause: diuretics, beta-2 agonists, vomiting or diarrhoea; replace potassium "
                     "(clinician decision).")
    elif (family, direction) == ("magnesium", "low"):
        if severity == "critical":
            steps.append(f"Magnesium {CRITICAL[family, direction].text} is critical: ECG and urgent replacement "
                         "with monitoring.")
        steps.append("Repeat magnesium with potassium and calcium.")
        steps.append("Look for the cause: long-term proton-pump inhibitor, diuretics, alcohol, diarrhoea; replace "
                     "magnesium (clinician decision).")
    elif (family, direction) == ("magnesium", "high"):
        if severity == "critical":
            steps.append(f"Magnesium {CRITICAL[family, direction].text} is critical: ECG and same-day review.")
        steps.append("Stop magnesium-containing supplements, antacids and laxatives; check creatinine/eGFR.")
    elif direction == "low" and family in ("calcium", "calcium-ionized"):
        if severity == "critical":
            steps.append(f"Calcium {CRITICAL[family, direction].text} is critical: ECG (QT) and same-day review.")
        if family == "calcium":
            steps.append("Confirm with an ionized calcium (or an albumin from the same draw).")
        steps.append("Check magnesium, phosphate, creatinine, PTH and 25-OH vitamin D.")
    elif direction == "high" and family in ("calcium", "calcium-ionized"):
        if severity == "critical":
            steps.append(f"Calcium {CRITICAL[family, direction].text} is critical: same-day assessment (fluids, "
                         "ECG).")
        if family == "calcium":
            steps.append("Repeat calcium with albumin, or an ionized calcium.")
        steps.append("Check PTH; if PTH is low or suppressed, PTHrP and a search for malignancy.")
        steps.append("Stop calcium and vitamin D supplements.")
        thiazides = _names(facts, ("thiazide-diuretic",))
        if thiazides:
            steps.append(f"Hold {', '.join(thiazides)} while calcium is high and recheck: a thiazide raises calcium "
                         "and can unmask primary hyperparathyroidism (Wermers 2007).")
    elif (family, direction) == ("sodium", "low"):
        if severity == "critical" or (isinstance(a.result, LabResult) and beyond(a.result, SODIUM_PROFOUND.compare,
                                                                                 SODIUM_PROFOUND.value)):
            steps.append(f"Sodium {SODIUM_PROFOUND.text} (profound): same-day assessment of symptoms; raise sodium "
                         f"by no more than {SODIUM_MAX_CORRECTION.value:g} mmol/L in the first 24 h "
                         "(European hyponatraemia guideline 2014).")
        steps.append("Repeat sodium with serum osmolality, urine sodium and urine osmolality.")
        steps.append("Review sodium-lowering drugs (thiazides, SSRIs, SNRIs, carbamazepine, vincristine) and fluid intake.")
    elif (family, direction) == ("sodium", "high"):
        if severity == "critical":
            steps.append(f"Sodium {CRITICAL[family, direction].text} is critical: same-day assessment; lower sodium "
                         "slowly.")
        steps.append("Assess fluid intake, losses and volume status; repeat sodium.")
    else:
        steps.append("Repeat the test and review the result with the lab.")
    return steps


def _part(a: Abnormal) -> str:
    name = card_text.ANALYTE_NAMES[a.result.analyte].lower()
    return f"{DIRECTION_WORDS[a.direction].lower()} {name} {card_text.value_text(a.result)}"


def _card(finding: Finding, facts: PatientFacts) -> Card:
    first = finding.abnormal[0]
    indicator = first.indicator
    # A high potassium on spironolactone or eplerenone that calls for a dose change (ESC 2021: halve above 5.5 mmol/L)
    # is at least a warning, though the UK Kidney Association grades 5.5-5.9 mmol/L mild: the culprit is on board.
    mra = {a: mra_action(a, facts) for a in finding.abnormal}
    mra_due = next(((a, action, names) for a, (action, names) in mra.items() if action), None)
    if mra_due is not None and indicator is Indicator.INFO:
        indicator = Indicator.WARNING
    parts = "; ".join(_part(a) for a in finding.abnormal)
    day = first.result.day.isoformat()
    tails = {_SUMMARY_TAIL.get((a.family, a.direction), "can cause night leg cramps") for a in finding.abnormal}
    if first.stale:
        prefix, tail = "", "not repeated since - recheck"
    elif first.severity == "critical":
        prefix = "Critical: "
        tail = ("ECG now, emergency" if (first.family, first.direction) == ("potassium", "high")
                else "same-day review")
    else:
        prefix = ""
        tail = tails.pop() if len(tails) == 1 else "several findings, see details"
        if mra_due is not None and mra_due[0] is first:  # the tail speaks of the first finding named
            _, action, names = mra_due
            tail = f"on {', '.join(names)}: " + ("stop it, ECG now" if action == "stop"
                                                  else "halve the dose, recheck")
    summary = f"{prefix}{parts} ({day}) - {tail}"
    summary = summary[0].upper() + summary[1:]
    rows = [(a.result, a.range_used, f"**{a.severity}** {a.direction}" + (f"; {a.note}" if a.note else "")
             + (f"; on an MRA: {mra[a][0]} it (ESC 2021)" if mra[a][0] else ""))
            for a in finding.abnormal]
    rows += [(r, card_text.range_text(r, _default(r)), "in range") for r in finding.normal]
    rows += [(u, "-", "could not be read") for u in finding.unreadable]
    families = {a.family for a in finding.abnormal}
    why = []
    for a in finding.abnormal:
        text = _WHY.get((a.family, a.direction))
        if text and text not in why:
            why.append(text)
    related = []
    for a in finding.abnormal:
        name = card_text.ANALYTE_NAMES[a.result.analyte]
        diuretics = _names(facts, diuretic_explains(a))
        if diuretics:
            # The diuretic card lists a current abnormality, and a potassium never repeated; a stale magnesium or
            # sodium is not on it, so the pointer would lead nowhere.
            see = " (see the *Diuretic effect* card)" if not a.stale or a.family == "potassium" else ""
            related.append(f"{DIRECTION_WORDS[a.direction]} {name.lower()} may be explained by {', '.join(diuretics)}"
                           f"{see}.")
        elif (a.family, a.direction) in (("calcium", "high"), ("calcium-ionized", "high")) and _names(
                facts, ("thiazide-diuretic",)):
            related.append(f"A thiazide causes only mild hypercalcaemia (corrected calcium "
                           f"{THIAZIDE_MAX_CALCIUM['calcium'].text}); this value points to another cause.")
        if (a.family, a.direction) == ("potassium", "high"):
            raisers = _dated_names(facts, POTASSIUM_RAISING)
            if raisers:
                related.append(f"Potassium-raising drugs on the list: {', '.join(raisers)}.")
        family = "calcium" if a.family.startswith("calcium") else a.family
        others = sorted({m.ingredient for e in drug_effects.EFFECTS if (family, a.direction) in e.labs
                         for m in facts.medications(e.drug_class)})
        if others:
            # The medication card links a drug to a current abnormality only (then it is always shown); with a stale
            # one it is a possible-cause card, or none (a PPI), so the pointer is left out.
            see = "" if a.stale else " (see the *Medication side effect* card)"
            also = " also" if diuretics else ""
            related.append(f"{DIRECTION_WORDS[a.direction]} {name.lower()} may{also} be explained by "
                           f"{', '.join(others)}{see}.")
    steps: list[str] = []
    for a in finding.abnormal:
        steps += [s for s in _steps(a, facts, families) if s not in steps]
    detail = "\n\n".join(p for p in (
        " ".join(why),
        card_text.lab_table(rows, facts.now),
        card_text.bullets("Related", related),
        card_text.bullets("Next steps", steps),
    ) if p)
    # One lab suggestion for the chart: the diuretic and medication cards leave theirs out when this card fires.
    reason = f"Confirm {first.direction} {first.result.analyte}"
    recommended = first.severity != "critical" or None
    if any(a.family.startswith("calcium") for a in finding.abnormal):
        suggestion = card_text.order_suggestion(
            "Order basic metabolic panel, magnesium, albumin and ionized calcium", facts.patient_id,
            card_text.lab_orders("bmp", "magnesium", "albumin", "calcium-ionized"), reason=reason,
            recommended=recommended)
    else:
        suggestion = card_text.electrolyte_panel(facts.patient_id, reason, recommended)
    keys = ["ctcae-v5"]
    if "potassium" in families and any(a.direction == "high" for a in finding.abnormal if a.family == "potassium"):
        keys.insert(0, "hyperkalaemia-2020")
    if "sodium" in families:
        keys.append("hyponatraemia-2014")
    if any(a.note.startswith("corrected for albumin (Payne") for a in finding.abnormal):
        keys.append("payne-1973")
    if any("Hillier 1999" in a.note for a in finding.abnormal):
        keys.append("hillier-1999")
    if any("KDIGO 2024" in s for s in steps):
        keys.append("kdigo-ckd-2024")
    if any("ESC 2021 heart failure guideline" in s for s in steps):
        keys.insert(1 if keys[0] == "hyperkalaemia-2020" else 0, "esc-hf-2021")
    if any("Wermers 2007" in s for s in steps):
        keys.append("wermers-2007")
    return card_text.make_card(rule=RULE, indicator=indicator, summary_text=summary, detail=detail,
                               guideline_keys=tuple(dict.fromkeys(keys)), suggestions=[suggestion], facts=facts)


def _default(result: LabResult) -> tuple[float | None, float | None] | None:
    family = FAMILY.get(result.analyte)
    if family is None:
        return None
    return DEFAULT_LOW[family].value, DEFAULT_HIGH[family].value


RULE = Rule(
    id="electrolyte-imbalance", version="2.3.0", topic=Topic.ELECTROLYTE_IMBALANCE, hooks=frozenset({PATIENT_VIEW}),
    needs=("patient", "observations", "medications", "medicationRequests"), applies=_applies, card=_card,
    analytes=ANALYTES,
    summary="Newest potassium, magnesium, calcium or sodium out of range, graded by direction and severity.",
    fires_when="newest K, Mg, Na (a low one corrected for a same-day glucose {sodium.glucose-correction-above}) or Ca "
               "(ionized, lab-corrected, or total corrected for albumin {calcium.correct-below-albumin}) within "
               "{electrolytes.lookback:value} is outside the lab's applicable range, flagged L/H/LL/HH, or outside the "
               "default range; or a moderate or worse K/Mg/Na within {electrolytes.history:value} was never repeated "
               "(info)",
    quiet_when="every newest value in range; no results within {electrolytes.lookback:value} (and no moderate or worse "
               "one within {electrolytes.history:value})",
    advice="Direction-specific: low K/Mg/Ca/Na - confirm, find the cause, replace; K {potassium.moderate-high} - "
           "12-lead ECG now, K {potassium.critical-high} - the emergency pathway, the potassium-raising drugs on the "
           "list named and no supplements; on spironolactone or eplerenone halve it at K {potassium.mra-reduce} and "
           "stop it at K {potassium.mra-stop} (ESC 2021; the card is then at least a warning); high calcium - PTH "
           "(PTHrP if suppressed); profound low sodium - slow correction.",
    actionable_when="every finding: an out-of-range K, Mg, Na or Ca within {electrolytes.lookback:value} (mild "
                    "included), or a moderate or worse K, Mg or Na within {electrolytes.history:value} never repeated "
                    "(an abnormal value nobody has acted on)",
    possible_cause_when="never",
    references=("ctcae-v5", "hyponatraemia-2014", "hyperkalaemia-2020", "payne-1973", "wermers-2007", "hillier-1999",
                "kdigo-ckd-2024", "esc-hf-2021"),
)
