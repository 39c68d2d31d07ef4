"""PatientFacts: everything a rule sees, built from raw FHIR R4 JSON.

The only module that imports fhir.resources. Performance by design: Observations arrive as the projection of
cards/projection.py (decoded so by the web layer, or projected here from whole dicts) and are pre-filtered with
attribute look-ups (code, status, date); other resources arrive as dicts. Only the resources a rule actually reads -
the newest usable result per analyte, medications that match a known drug, conditions that match a value set - are
validated with fhir.resources.R4B. Validating every resource of a heavy prefetch would cost 20-30x the JSON parse
itself.

How results are read (docs/clinical-basis.md, "How results are read"): final/amended/corrected only; the lab's own
reference range when it applies to this patient (type normal or absent; appliesTo absent or naming the whole
population, the patient's sex or age group; an age range containing the patient's age); interpretation flags; censored
values ("<2.5", comparator "<") kept with their comparator; a result that exists but cannot be read is kept as an
UnreadableResult so that a card can name it instead of saying "no result".
"""
from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from datetime import date as CalendarDate  # LabResult has a field named `date`
from decimal import Decimal
from typing import Any, Callable, Iterable, Iterator, Sequence, cast, overload

import orjson
from cards.knowledge import threshold
from cards.projection import UNSET, Resource, as_dict, of_dict
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.observation import ObservationComponent, ObservationReferenceRange
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.reference import Reference
from pydantic import ValidationError
from terminology import analytes as lab_analytes
from terminology import drugs, units, valuesets
from terminology.systems import ICD10CM, V3_INTERPRETATION

log = logging.getLogger(__name__)

# FHIR R4 ObservationStatus: only these statuses are results (preliminary, registered, cancelled and
# entered-in-error are not).
RESULT_STATUSES = frozenset({"final", "amended", "corrected"})
# FHIR R4 MedicationStatementStatus / MedicationRequestStatus: current medications.
STATEMENT_ACTIVE = frozenset({"active", "intended"})
REQUEST_ACTIVE = frozenset({"active"})
# Every intent that is an order (or a plan) for the patient; proposals and options are not.
REQUEST_INTENTS = frozenset({"order", "plan", "original-order", "reflex-order", "filler-order", "instance-order"})
# FHIR R4 condition-clinical / condition-ver-status codes.
CONDITION_ACTIVE = frozenset({"active", "recurrence", "relapse"})
CONDITION_EXCLUDED_VERIFICATION = frozenset({"refuted", "entered-in-error"})
# A result dated more than a day in the future is a data error (clock skew of a day is tolerated).
FUTURE_TOLERANCE = timedelta(days=1)

# The oldest result a rule may read: just past the longest lookback any rule uses (ABI and iron studies, 12 months;
# cards/knowledge). The FHIR fallback searches the same window (registry.FALLBACK_LOOKBACK). Results
# older than this (and a 2-day margin for time zones) keep only their date, for notes such as "last potassium
# 2024-03-01"; their resource is let go in the pre-filter. results() and results_on() refuse to look further back,
# so a rule cannot silently read less than it asks for.
READ_WINDOW = timedelta(days=400)
_KEEP_MARGIN = timedelta(days=2)
# Analytes read further back than READ_WINDOW: an abnormal ABI never expires (PAD does not resolve), so the PAD and
# poor-circulation rules show an old one as old instead of dropping it (cards/knowledge pad.abi-history). Only the
# few ABI resources of a chart are kept that long; the FHIR fallback search is still bounded by READ_WINDOW.
LONG_READ_WINDOWS: dict[str, timedelta] = {"abi": threshold("pad.abi-history").days}
# ABI plausibility gate: a ratio outside (0, 3] is a data error, not a measurement.
ABI_PLAUSIBLE = (0.0, 3.0)
# Validation covers exactly the elements a rule reads, each with its fhir.resources R4B datatype model (Quantity,
# CodeableConcept, Observation.referenceRange/component, Reference): not meta, identifier, performer, note,
# narrative and the like, which no rule reads. Why: fhir.resources (fhir_core) validates every nested element in
# Python; a whole ~1 kB Observation costs 0.3-1 ms on a 2-core machine, its read elements a third of that, and a
# typical request reads ~40 resources (docs/performance.md). Status codes and dates are checked by this module's
# own readers (fixed code sets, strict ISO parsing). A resource invalid in an element that is read is skipped and
# counted; so is one nested too deeply to validate (RecursionError: fhir_core validates recursively in Python).
INVALID = (ValidationError, ValueError, TypeError, RecursionError)
PATIENT_READS = (("id", "gender", "birthDate", "modifierExtension", "implicitRules"), ())
ABI_TEXT = re.compile(r"ankle.?brachial|\bABI\b|\bAAI\b", re.IGNORECASE)
# FHIR R4 referencerange-meaning: the range that describes "normal" for the patient (type absent means the same).
NORMAL_RANGE_TYPES = frozenset({"normal"})
# SNOMED CT codes of the FHIR R4 example value set ReferenceRangeAppliesTo (http://hl7.org/fhir/ValueSet/
# referencerange-appliesto): male, female, pregnant.
APPLIES_MALE, APPLIES_FEMALE, APPLIES_PREGNANT = "248153007", "248152002", "77386006"
_APPLIES_WORDS = (
    (re.compile(r"\b(?:all|everyone|general|whole population|both sexes|any|normal|reference)\b", re.I), "all"),
    (re.compile(r"\bpregnan", re.I), "pregnant"),
    (re.compile(r"\b(?:female|women|woman|girls?)\b", re.I), "female"),
    (re.compile(r"\b(?:male|men|man|boys?)\b", re.I), "male"),
    (re.compile(r"\b(?:child|children|paediatric|pediatric|neonat\w*|infant\w*|newborn)\b", re.I), "child"),
    (re.compile(r"\badults?\b", re.I), "adult"),
)
_AGE_UNITS = {"a": 1.0, "yr": 1.0, "yrs": 1.0, "year": 1.0, "years": 1.0, "mo": 1 / 12, "month": 1 / 12,
              "months": 1 / 12, "wk": 1 / 52.18, "week": 1 / 52.18, "weeks": 1 / 52.18, "d": 1 / 365.25,
              "day": 1 / 365.25, "days": 1 / 365.25}
ADULT_AGE = 18
# A censored or numeric value sent as text: "<2.5", "> 7.0 mmol/L", "<=0.5", "3.4".
_VALUE_TEXT = re.compile(r"^\s*(<=|>=|<|>|\u2264|\u2265)?\s*([0-9]+(?:[.,][0-9]+)?|[.,][0-9]+)\s*([^\s\d].*)?$")
_COMPARATORS = {"\u2264": "<=", "\u2265": ">="}
# Analytes whose unit is unambiguous when a value comes without one (mmol/L = mEq/L for K and Na; ABI is a ratio).
UNIT_WHEN_ABSENT = {"potassium": "mmol/L", "sodium": "mmol/L", "abi": "{ratio}"}
LEFT = re.compile(r"\bleft\b|\blt\b|\bL\b", re.IGNORECASE)
RIGHT = re.compile(r"\bright\b|\brt\b|\bR\b", re.IGNORECASE)


@dataclass
class DataNotes:
    """What the service could not use, counted by reason (no patient data in here: safe to log)."""

    skipped: Counter[str] = field(default_factory=Counter)
    missing: list[str] = field(default_factory=list)

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    def note_missing(self, text: str) -> None:
        if text not in self.missing:
            self.missing.append(text)


@dataclass(frozen=True)
class LabResult:
    """One usable result, value converted to the analyte's canonical unit."""

    analyte: str
    value: float
    unit: str
    date: datetime
    code: str
    display: str
    observation_id: str | None
    ref_low: float | None = None
    ref_high: float | None = None
    interpretation: frozenset[str] = frozenset()
    original: str = ""
    side: str | None = None
    comparator: str | None = None  # "<", "<=", ">", ">=": the true value lies beyond `value` (censored)
    converted: bool = False  # the lab's unit differed from the canonical one (`original` shows what was sent)

    @property
    def day(self) -> CalendarDate:
        return self.date.date()

    def value_in(self, unit: str) -> float:
        """The value in `unit` (rules compare against thresholds in the unit their source states)."""
        if unit == self.unit:
            return self.value
        return units.from_canonical(self.value, unit, self.analyte)


@dataclass(frozen=True)
class UnreadableResult:
    """A result that exists (final, this patient, a known analyte) but whose value cannot be read or converted.

    Cards name it ("potassium of 2026-11-30 could not be read: sent 'haemolysed'") instead of saying there is no
    result; its interpretation flags still count (an LL flag on an unreadable potassium is a critical finding).
    """

    analyte: str
    date: datetime
    code: str
    display: str
    observation_id: str | None
    sent: str
    interpretation: frozenset[str] = frozenset()

    @property
    def day(self) -> CalendarDate:
        return self.date.date()


@dataclass(frozen=True)
class MedicationUse:
    """A current medication (statement, request or draft order) matched to one ingredient."""

    resource_type: str
    resource_id: str | None
    display: str
    ingredient: str
    classes: frozenset[str]
    matched_by: str
    evidence: str
    date: datetime | None = None
    draft: bool = False
    # What the dose is read from (cards.knowledge.interactions): the product names as sent (concept text, coding
    # displays, and the RxNorm product name of a coded clinical drug), and the first dosage instruction's dose
    # quantity (value, unit) and administrations per day, when given.
    product_names: tuple[str, ...] = ()
    dose: tuple[float, str] | None = None
    per_day: float | None = None

    @property
    def reference(self) -> str | None:
        return f"{self.resource_type}/{self.resource_id}" if self.resource_id else None


@dataclass(frozen=True)
class ConditionMatch:
    condition_id: str | None
    display: str
    valueset: str
    matched_by: str
    code: str | None
    date: datetime | None = None
    # The later of onset and recordedDate: how recently the chart asserted it (a chronic problem re-recorded today
    # is current; cards/relevance.py)
    latest: datetime | None = None


# ---------------------------------------------------------------------------------------------- raw helpers


def parse_fhir_datetime(value: Any) -> datetime | None:
    """FHIR date/dateTime/instant -> aware datetime (UTC when no zone); partial dates -> start of period."""
    if not isinstance(value, str) or not value:
        return None
    try:
        if len(value) == 4:
            parsed = datetime(int(value), 1, 1)
        elif len(value) == 7:
            parsed = datetime(int(value[:4]), int(value[5:7]), 1)
        else:
            parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _raw_effective(resource: dict[str, Any] | Resource) -> datetime | None:
    """§1.1 rule 2: effectiveDateTime, else effectivePeriod.end, else issued."""
    when = parse_fhir_datetime(resource.get("effectiveDateTime"))
    if when is None:
        period = resource.get("effectivePeriod")
        if isinstance(period, dict):
            when = parse_fhir_datetime(period.get("end")) or parse_fhir_datetime(period.get("start"))
    if when is None:
        when = parse_fhir_datetime(resource.get("effectiveInstant")) or parse_fhir_datetime(resource.get("issued"))
    return when


ACUTE_COURSE_CURRENT = threshold("medication.acute-course-current").days
_DURATION_DAYS = {"d": 1.0, "day": 1.0, "days": 1.0, "wk": 7.0, "week": 7.0, "weeks": 7.0, "mo": 30.0, "h": 1 / 24}


def _finished_course(raw: dict[str, Any], now: datetime) -> bool:
    """A short (acute) course whose supply ended, or that was ordered, more than ACUTE_COURSE_CURRENT ago.

    Only courseOfTherapyType "acute" is aged (continuous therapy is re-ordered on its own schedule); the end is the
    dispense validity period's end, else the expected supply (times the repeats) from its start or authoredOn, else
    authoredOn itself. A request that says nothing of this stays current.
    """
    if _status_code(raw.get("courseOfTherapyType")) != "acute":
        return False
    found = raw.get("dispenseRequest")
    dispense: dict[str, Any] = found if isinstance(found, dict) else {}
    period = dispense.get("validityPeriod")
    validity: dict[str, Any] = period if isinstance(period, dict) else {}
    start = parse_fhir_datetime(validity.get("start")) or parse_fhir_datetime(raw.get("authoredOn"))
    end = parse_fhir_datetime(validity.get("end"))
    supply = dispense.get("expectedSupplyDuration")
    if end is None and start is not None and isinstance(supply, dict) and _float(supply.get("value")) is not None:
        per_day = _DURATION_DAYS.get(str(supply.get("code") or supply.get("unit") or "d").strip().lower())
        repeats = dispense.get("numberOfRepeatsAllowed")
        fills = 1 + (repeats if isinstance(repeats, int) and not isinstance(repeats, bool) and repeats > 0 else 0)
        if per_day is not None:
            end = start + timedelta(days=float(supply["value"]) * per_day * fills)
    end = end or start
    return end is not None and now - end > ACUTE_COURSE_CURRENT


def _product_names(codings: list[tuple[str | None, str | None, str | None]], texts: list[str]) -> tuple[str, ...]:
    """The names a product strength can be read from: the texts, the coding displays, and the RxNorm name of a coded
    clinical drug (a coding sent without its display still names its strength)."""
    names = [t for t in texts if t] + [d for _, _, d in codings if d]
    for system, code, _ in codings:
        if code and system and "rxnorm" in system.lower():
            product = drugs.product(code)
            if product is not None:
                names.append(product.display)
    return tuple(dict.fromkeys(names))


_PER_DAY = {"s": 86400.0, "min": 1440.0, "h": 24.0, "d": 1.0, "wk": 1 / 7, "mo": 1 / 30, "a": 1 / 365}


def _dose(raw: dict[str, Any]) -> tuple[tuple[float, str] | None, float | None]:
    """The first dosage instruction's dose quantity (value, unit) and administrations per day (timing.repeat
    frequency / period): MedicationRequest.dosageInstruction, MedicationStatement.dosage."""
    for instruction in _array(raw.get("dosageInstruction")) or _array(raw.get("dosage")):
        if not isinstance(instruction, dict):
            continue
        dose: tuple[float, str] | None = None
        for entry in _array(instruction.get("doseAndRate")):
            quantity = entry.get("doseQuantity") if isinstance(entry, dict) else None
            value = _float(quantity.get("value")) if isinstance(quantity, dict) else None
            if isinstance(quantity, dict) and value is not None and value > 0:
                unit = _text(quantity.get("code")) or _text(quantity.get("unit")) or ""
                dose = (value, unit.strip())
                break
        per_day = None
        timing = instruction.get("timing")
        repeat = timing.get("repeat") if isinstance(timing, dict) else None
        if isinstance(repeat, dict):
            frequency = _float(repeat.get("frequency"))
            frequency = 1.0 if frequency is None and repeat.get("period") is not None else frequency
            period = _float(repeat.get("period"))
            unit_per_day = _PER_DAY.get(str(repeat.get("periodUnit") or ""))
            if frequency and period and unit_per_day:
                per_day = frequency / period * unit_per_day
        return dose, per_day
    return None, None


def _medication_start(raw: dict[str, Any]) -> datetime | None:
    """When a medication use began: a request's authoredOn; a statement's effective start; else when it was asserted."""
    period = raw.get("effectivePeriod")
    return (parse_fhir_datetime(raw.get("authoredOn")) or parse_fhir_datetime(raw.get("effectiveDateTime"))
            or (parse_fhir_datetime(period.get("start")) if isinstance(period, dict) else None)
            or parse_fhir_datetime(raw.get("dateAsserted")))


def _array(value: Any) -> list[Any] | tuple[()]:
    """A raw JSON array element, or nothing: raw reads must survive a number or object where a list belongs."""
    return value if isinstance(value, list) else ()


def _codings(concept: Any) -> Iterator[dict[str, Any]]:
    if isinstance(concept, dict):
        for coding in _array(concept.get("coding")):
            if isinstance(coding, dict):
                yield coding


def _concept_text(concept: Any) -> str:
    if not isinstance(concept, dict):
        return ""
    text = concept.get("text")
    if isinstance(text, str) and text:
        return text
    for coding in _codings(concept):
        if isinstance(coding.get("display"), str):
            return str(coding["display"])
    return ""


def _first_code(concept: Any) -> str | None:
    for coding in _codings(concept):
        if isinstance(coding.get("code"), str):
            return str(coding["code"])
    return None


def _status_code(concept: Any) -> str | None:
    code = _first_code(concept)
    return code.lower() if code else None


def read_elements(raw: dict[str, Any], reads: tuple[tuple[str, ...], tuple[str, ...]]) -> dict[str, Any]:
    """The part of `raw` that is validated: `reads` = (element names, choice-type prefixes such as "value").

    Primitive extensions (``_birthDate``) follow their element, so a value carried only as an extension stays valid.
    """
    names, prefixes = reads
    out = {"resourceType": raw.get("resourceType")}
    for key, value in raw.items():
        name = key[1:] if key[:1] == "_" else key
        if name in names or name.startswith(prefixes):
            out[key] = value
    return out


# (system, code) -> analyte or None, for every coding seen. Every Observation of a heavy patient passes through
# here and most codes repeat (the same few hundred lab and vital codes), so a dict hit replaces the terminology
# look-up (system alias normalisation + index) - a third of the per-resource cost of the pre-filter. Bounded: a
# sender of ever-new local codes only makes it start again.
_ANALYTE_MEMO: dict[tuple[str | None, str], str | None] = {}
_ANALYTE_MEMO_MAX = 50_000


def _analyte_for(system: Any, code: Any) -> str | None:
    """The analyte an Observation coding belongs to (terminology.analytes, memoised); None for a malformed coding."""
    try:
        return _ANALYTE_MEMO[(system, code)]
    except KeyError:
        pass
    except TypeError:  # an unhashable system or code (a list or object): malformed, matches nothing
        return None
    if not isinstance(code, str) or not (system is None or isinstance(system, str)):
        return None
    if len(_ANALYTE_MEMO) >= _ANALYTE_MEMO_MAX:
        _ANALYTE_MEMO.clear()
    found = _ANALYTE_MEMO[(system, code)] = lab_analytes.analyte_for_code(system, code)
    return found


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _text(value: Any) -> str | None:
    """A JSON string element, or None for anything else (a list or object where a code belongs)."""
    return value if isinstance(value, str) else None


def _float(value: Any) -> float | None:
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return float(value)
    return None


class LazyResults(Sequence[LabResult]):
    """Lab results newest first, produced (validated, converted) from `source` only as far as they are read.

    Iterating, indexing, ``len`` and truth testing behave as on a list; ``len`` and slices read everything.
    Each result is produced once and kept, so repeated or nested iteration sees the same objects.
    """

    def __init__(self, source: Iterator[LabResult]) -> None:
        self._source: Iterator[LabResult] | None = source
        self._done: list[LabResult] = []

    def _fill(self, upto: int | None) -> None:
        """Produce results until index `upto` exists (None: all)."""
        while self._source is not None and (upto is None or len(self._done) <= upto):
            try:
                self._done.append(next(self._source))
            except StopIteration:
                self._source = None

    def __iter__(self) -> Iterator[LabResult]:
        index = 0
        while True:
            if index >= len(self._done):
                self._fill(index)
                if index >= len(self._done):
                    return
            yield self._done[index]
            index += 1

    @overload
    def __getitem__(self, index: int) -> LabResult: ...

    @overload
    def __getitem__(self, index: slice) -> list[LabResult]: ...

    def __getitem__(self, index: int | slice) -> LabResult | list[LabResult]:
        self._fill(index if isinstance(index, int) and index >= 0 else None)
        return self._done[index]

    def __len__(self) -> int:
        self._fill(None)
        return len(self._done)

    def __bool__(self) -> bool:
        self._fill(0)
        return bool(self._done)

    def close(self) -> None:
        """Stop producing: what was produced stays readable, the source (and what it refers to) is let go."""
        if self._source is not None:
            close = getattr(self._source, "close", None)
            if close is not None:
                close()
            self._source = None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (LazyResults, list)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable-looking sequence, like list

    def __repr__(self) -> str:
        return f"LazyResults({list(self)!r})"


# The elements the rules read repeat across patients: one laboratory system sends the same potassium code,
# reference range and interpretation flags to every chart, and reports values at a fixed precision (4.1 mmol/L,
# 138 mmol/L, ABI 0.87), so a few hundred distinct quantities cover an analyte. Their validated models are kept for
# the life of the process, bounded. References (resource ids) and the Patient are specific to one chart: memoised
# within one request only. The benchmark rotates patients so that its figures include the misses
# (docs/performance.md).
SHARED_MODELS: frozenset[type[Any]] = frozenset({CodeableConcept, ObservationReferenceRange, Quantity,
                                                 ObservationComponent})
# Entries: ~6 kB each measured (a model and its key), so ~13 MB at most per worker process. 100 different typical
# benchmark patients fill ~800 (mostly quantities); the least recently used entry is dropped first.
SHARED_MEMO_MAX = 2048
SHARED_KEY_MAX = 2048  # length of the key (JSON bytes): a larger element is not kept across requests
_shared_memo: dict[tuple[type[Any], bytes | str], Any] = {}


def _content_key(value: Any) -> bytes | str:
    """The element's content as a memo key: its JSON (5-8x cheaper than repr), repr when it is no JSON value."""
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError: an integer over 64 bits, a non-string key (not from a JSON body)
        return repr(value)


class Validator:
    """Validates an element with its R4B model, once per distinct content.

    Keyed by the model and the element's JSON text, which is exact for JSON values (a different key order only
    costs a second validation). Validated models are only read, never changed, so they can be shared. Memoised
    for one request (one PatientFacts) by default; elements of a SHARED_MODELS type are kept across requests in a
    bounded process-wide memo (least recently used dropped first). Failures are never memoised: an invalid element raises
    every time.
    """

    def __init__(self) -> None:
        self._memo: dict[tuple[type[Any], bytes | str], Any] = {}

    def __call__(self, model: type[Any], value: Any) -> Any:
        key = (model, _content_key(value))
        try:
            return self._memo[key]
        except KeyError:
            pass
        shared = model in SHARED_MODELS and len(key[1]) <= SHARED_KEY_MAX
        if shared:
            try:
                validated = self._memo[key] = _shared_memo.pop(key)
            except KeyError:
                pass
            else:
                _shared_memo[key] = validated  # re-inserted last: most recently used (dicts keep insertion order)
                return validated
        validated = model.model_validate(value)  # raises one of INVALID
        self._memo[key] = validated
        if shared:
            if len(_shared_memo) >= SHARED_MEMO_MAX:
                try:  # the first key is the least recently used; another thread may have dropped it first
                    del _shared_memo[next(iter(_shared_memo))]
                except (KeyError, StopIteration, RuntimeError):
                    pass
            _shared_memo[key] = validated
        return validated


class _ReadObservation:
    """The elements of an Observation that the rules read, each validated with its R4B datatype model."""

    __slots__ = ("valueQuantity", "referenceRange", "interpretation", "component")

    def __init__(self, value: Quantity | None, ranges: list[ObservationReferenceRange],
                 interpretation: list[CodeableConcept], component: list[ObservationComponent]) -> None:
        self.valueQuantity = value
        self.referenceRange = ranges
        self.interpretation = interpretation
        self.component = component

    @classmethod
    def of(cls, raw: dict[str, Any], *, components: bool, validate: Validator) -> _ReadObservation:
        """Raises one of INVALID when a read element is malformed."""
        validate(CodeableConcept, raw.get("code"))
        value = raw.get("valueQuantity")
        return cls(
            validate(Quantity, value) if value is not None else None,
            [validate(ObservationReferenceRange, r) for r in _list(raw.get("referenceRange"))],
            [validate(CodeableConcept, i) for i in _list(raw.get("interpretation"))],
            [validate(ObservationComponent, c) for c in _list(raw.get("component"))] if components else [],
        )


def _list(value: Any) -> list[Any]:
    """A FHIR array element (absent: empty); anything but a list is a schema error."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError("expected an array")
    return value


# ---------------------------------------------------------------------------------------------- the facts


class PatientFacts:
    """All a rule sees. Lazy: a value is validated and converted the first time a rule asks for it."""

    def __init__(self, *, now: datetime, patient_id: str, notes: DataNotes | None = None,
                 encounter_id: str | None = None) -> None:
        self.now = now
        self.patient_id = patient_id
        self.encounter_id = encounter_id  # context.encounterId, when the hook call gave one
        # Encounter id -> its reasonCode concepts (the leg-symptom context reads the current encounter's reasons)
        self.encounter_reasons: dict[str, list[Any]] = {}
        self.notes = notes or DataNotes()
        self.age_years: int | None = None
        self.sex: str | None = None
        self.available: set[str] = set()
        # analyte -> [(date, projected Observation, or None when older than READ_WINDOW)], newest first after the
        # build
        self._obs_candidates: dict[str, list[tuple[datetime, Resource | None]]] = defaultdict(list)
        self._lab_cache: dict[tuple[str, timedelta], LazyResults] = {}
        self._medications: list[MedicationUse] = []
        self._draft_orders: list[MedicationUse] = []
        self._conditions_raw: list[dict[str, Any]] = []
        self._condition_views: list[_ConditionView] | None = None
        self._condition_cache: dict[str, list[ConditionMatch]] = {}
        self._valid_conditions: dict[int, bool] = {}  # id(raw) -> validated; raws live as long as the facts
        self._parsed_obs: dict[int, list[LabResult]] = {}
        self._unreadable_obs: dict[int, UnreadableResult] = {}
        self._validate = Validator()

    def release(self) -> None:
        """Drop the caches once the rules are done (the web layer calls this after evaluating a request).

        A LazyResults not read to its end holds a generator running over this object, and this object holds the
        LazyResults: a reference cycle that keeps every candidate Observation of the request alive until the
        cyclic garbage collector finds it. Released, the request's data is freed by reference counting when the request
        ends, which is what lets the web layer pause the collector during requests (cds_service/gc_pause.py).
        The facts stay usable: anything asked again is recomputed.
        """
        for lazy in self._lab_cache.values():
            lazy.close()
        self._lab_cache.clear()
        self._parsed_obs.clear()
        self._unreadable_obs.clear()
        self._condition_cache.clear()

    # ------------------------------------------------------------------ observations

    def results(self, analyte: str, lookback: timedelta) -> LazyResults:
        """Every usable result for `analyte` within `lookback`, newest first (ABI: one per side).

        A sequence validated as far as it is read: a rule that looks for "the albumin of that day" validates the
        results down to that day, not every albumin of the window (docs/performance.md). ValueError for a lookback
        beyond READ_WINDOW (LONG_READ_WINDOWS for the analytes kept longer): older results are not kept.
        """
        if lookback > LONG_READ_WINDOWS.get(analyte, READ_WINDOW):
            raise ValueError(f"lookback {lookback} is beyond READ_WINDOW ({READ_WINDOW}): older results are not kept")
        key = (analyte, lookback)
        found = self._lab_cache.get(key)
        if found is None:
            found = self._lab_cache[key] = LazyResults(self._results_since(analyte, self.now - lookback))
        return found

    def latest(self, analyte: str, lookback: timedelta) -> LabResult | None:
        """The most recent usable result within `lookback` (invalid or unconvertible results are skipped)."""
        for result in self.results(analyte, lookback):
            return result
        return None

    def _results_since(self, analyte: str, since: datetime) -> Iterator[LabResult]:
        for when, raw in self._obs_candidates.get(analyte, ()):
            if when < since or raw is None:  # raw is None only past READ_WINDOW, which results() refuses
                return  # candidates are sorted newest first
            yield from self._to_results(analyte, when, raw)

    def candidate_days(self, analyte: str, lookback: timedelta) -> set[CalendarDate]:
        """Days within `lookback` on which `analyte` has a result that may be usable (nothing validated yet)."""
        since = self.now - lookback
        return {when.date() for when, _ in self._obs_candidates.get(analyte, ()) if when >= since}

    def results_on(self, analyte: str, day: CalendarDate) -> list[LabResult]:
        """The usable results of `analyte` dated `day`, newest first; only that day's results are validated.

        ValueError for a day before READ_WINDOW (older results are not kept)."""
        if day < (self.now - READ_WINDOW).date():
            raise ValueError(f"{day} is before READ_WINDOW ({READ_WINDOW}): older results are not kept")
        return [result for when, raw in self._obs_candidates.get(analyte, ()) if when.date() == day
                and raw is not None for result in self._to_results(analyte, when, raw)]

    def older_than(self, analyte: str, lookback: timedelta) -> datetime | None:
        """Date of the newest candidate result older than the window (to say 'last seen ... ago')."""
        since = self.now - lookback
        for when, _ in self._obs_candidates.get(analyte, ()):
            if when < since:
                return when
        return None

    def latest_any(self, analyte: str, lookback: timedelta) -> LabResult | UnreadableResult | None:
        """The newest result within `lookback`, readable or not (a card must not call an unreadable one "none")."""
        if lookback > READ_WINDOW:
            raise ValueError(f"lookback {lookback} is beyond READ_WINDOW ({READ_WINDOW}): older results are not kept")
        since = self.now - lookback
        for when, raw in self._obs_candidates.get(analyte, ()):
            if when < since or raw is None:
                return None
            results = self._to_results(analyte, when, raw)
            if results:
                return results[0]
            unreadable = self._unreadable_obs.get(id(raw))
            if unreadable is not None:
                return unreadable
        return None

    def unreadable(self, analyte: str, lookback: timedelta) -> list[UnreadableResult]:
        """Results of `analyte` within `lookback` that exist but could not be read, newest first."""
        if lookback > READ_WINDOW:
            raise ValueError(f"lookback {lookback} is beyond READ_WINDOW ({READ_WINDOW}): older results are not kept")
        since = self.now - lookback
        found: list[UnreadableResult] = []
        for when, raw in self._obs_candidates.get(analyte, ()):
            if when < since or raw is None:
                break
            if not self._to_results(analyte, when, raw) and id(raw) in self._unreadable_obs:
                found.append(self._unreadable_obs[id(raw)])
        return found

    def _to_results(self, analyte: str, when: datetime, candidate: Resource) -> list[LabResult]:
        memo = self._parsed_obs.get(id(candidate))
        if memo is not None:
            return memo
        raw = as_dict(candidate)  # the ~15 results a typical call reads, not the ~250 candidates
        try:
            obs = _ReadObservation.of(raw, components=analyte == "abi", validate=self._validate)
        except INVALID:
            self.notes.skip("observation-invalid")
            log.info("skipped observation: failed FHIR R4 validation", extra={"resource_id": raw.get("id")})
            results: list[LabResult] = []
        else:
            results = self._observation_values(analyte, when, raw, obs, id(candidate))
        self._parsed_obs[id(candidate)] = results
        return results

    def _observation_values(
        self, analyte: str, when: datetime, raw: dict[str, Any], obs: _ReadObservation, key: int
    ) -> list[LabResult]:
        code = self._matched_code(analyte, raw.get("code")) or ""
        display = _concept_text(raw.get("code")) or analyte
        interpretation = frozenset(
            c.code for i in (obs.interpretation or []) for c in (i.coding or [])
            if c.code and (c.system in (None, V3_INTERPRETATION))
        )
        out: list[LabResult] = []
        unreadable: str | None = None
        if obs.valueQuantity is not None:
            qty = obs.valueQuantity
            result, unreadable = self._reading(
                analyte, when, raw, _float(qty.value), qty.comparator, qty.code, qty.unit, obs.referenceRange, code,
                display, interpretation, side=self._side_of(raw) if analyte == "abi" else None)
            if result:
                out.append(result)
        elif analyte == "abi" and obs.component:
            # Validation succeeded, so raw["component"] is a list of objects in the same order as obs.component.
            for comp, comp_raw in zip(obs.component, raw["component"]):
                if comp.valueQuantity is None:
                    continue
                side = self._side_of(comp_raw) or self._side_of(raw)
                q = comp.valueQuantity
                result, _ = self._reading(analyte, when, raw, _float(q.value), q.comparator, q.code, q.unit,
                                          comp.referenceRange or [], code, display, interpretation, side=side)
                if result:
                    out.append(result)
        elif isinstance(raw.get("valueString"), str):
            text = raw["valueString"]
            parsed = _VALUE_TEXT.match(text)
            if parsed:
                comparator = _COMPARATORS.get(parsed.group(1) or "", parsed.group(1))
                number = float(parsed.group(2).replace(",", "."))
                unit = (parsed.group(3) or "").strip() or None
                result, unreadable = self._reading(analyte, when, raw, number, comparator, None, unit,
                                                   obs.referenceRange, code, display, interpretation, side=None,
                                                   sent=text.strip())
                if result:
                    out.append(result)
            else:
                unreadable = f'"{text.strip()[:60]}"'
        else:
            unreadable = _absent_value_text(raw)
        if not out:
            self.notes.skip("observation-unreadable")
            log.info("observation kept as unreadable: no usable value", extra={"resource_id": raw.get("id")})
            self._unreadable_obs[key] = UnreadableResult(
                analyte=analyte, date=when, code=code, display=display, observation_id=_str(raw.get("id")),
                sent=unreadable or "no value", interpretation=interpretation)
        return out

    def _reading(self, analyte: str, when: datetime, raw: dict[str, Any], value: float | None,
                 comparator: str | None, ucum: str | None, shown: str | None, ranges: Any, code: str, display: str,
                 interpretation: frozenset[str], side: str | None,
                 sent: str | None = None) -> tuple[LabResult | None, str | None]:
        """One value as a LabResult in the canonical unit; else (None, what was sent, for the card)."""
        sent_text = sent or f"{(comparator or '')}{_fmt(value) if value is not None else '?'} {shown or ucum or ''}".strip()
        if value is None:
            return None, f"{sent_text} (no number)"
        unit = ucum or shown or self._range_unit(ranges) or UNIT_WHEN_ABSENT.get(analyte)
        canonical: float | None = None
        for candidate in dict.fromkeys(u for u in (unit, shown) if u):
            try:
                canonical = units.to_canonical(value, candidate, analyte)
            except units.UnitConversionError:
                continue
            unit = candidate
            break
        if canonical is None:
            self.notes.skip("observation-unknown-unit")
            return None, f"{sent_text} (unit {'not given' if not (ucum or shown) else 'not recognised'})"
        if analyte == "abi" and not (ABI_PLAUSIBLE[0] < canonical <= ABI_PLAUSIBLE[1]):
            self.notes.skip("observation-implausible")
            return None, f"{sent_text} (implausible)"
        low, high = self._range(ranges, analyte, unit)
        canonical_unit = units.canonical_unit(analyte)
        converted = units.normalize_unit(unit or "") != units.normalize_unit(canonical_unit) and not (
            abs(canonical - value) < 1e-9)
        return LabResult(
            analyte=analyte, value=canonical, unit=canonical_unit, date=when, code=code,
            display=display, observation_id=_str(raw.get("id")), ref_low=low, ref_high=high,
            interpretation=interpretation, original=f"{_fmt(value)} {shown or unit or ''}".strip(), side=side,
            comparator=comparator, converted=converted,
        ), None

    @staticmethod
    def _range_unit(ranges: Any) -> str | None:
        for rr in ranges or []:
            for qty in (rr.low, rr.high):
                if qty is not None and (qty.code or qty.unit):
                    return str(qty.code or qty.unit)
        return None

    def _range(self, ranges: Any, analyte: str, unit: str | None) -> tuple[float | None, float | None]:
        """The lab's own range that applies to this patient (the first one), in canonical units."""
        for rr in ranges or []:
            if not self._range_applies(rr):
                continue
            low = self._range_value(rr.low, analyte, unit)
            high = self._range_value(rr.high, analyte, unit)
            if low is not None or high is not None:
                return low, high
        return None, None

    def _range_applies(self, rr: Any) -> bool:
        """Type normal (or absent); appliesTo absent or naming this patient's population; age containing theirs."""
        if rr.type is not None:
            codes = {c.code for c in rr.type.coding or [] if c.code}
            if codes and not codes & NORMAL_RANGE_TYPES:
                return False
            if not codes and rr.type.text and re.search(r"therap|treat|target|recommend", rr.type.text, re.I):
                return False
        if rr.age is not None and not self._age_in(rr.age):
            return False
        return all(self._population_applies(concept) for concept in rr.appliesTo or [])

    def _age_in(self, age: Any) -> bool:
        """Whether the patient's age (an adult when unknown: the service's scope) lies in the range."""
        years = self.age_years
        for bound, is_low in ((age.low, True), (age.high, False)):
            if bound is None or _float(bound.value) is None:
                continue
            factor = _AGE_UNITS.get(str(bound.code or bound.unit or "a").strip().lower())
            if factor is None:
                return False  # an age unit we cannot read: do not guess
            limit = float(bound.value) * factor
            if years is None:
                if not is_low and limit < ADULT_AGE:
                    return False  # a paediatric range
                continue
            if (years < limit) if is_low else (years > limit):
                return False
        return True

    def _population_applies(self, concept: Any) -> bool:
        codes = {c.code for c in concept.coding or [] if c.code}
        if APPLIES_PREGNANT in codes:
            return False  # the service does not know the pregnancy state at the time of the draw
        if APPLIES_MALE in codes or APPLIES_FEMALE in codes:
            wanted = "male" if APPLIES_MALE in codes else "female"
            return self.sex == wanted
        words = " ".join([concept.text or ""] + [c.display or "" for c in concept.coding or []])
        for pattern, meaning in _APPLIES_WORDS:
            if pattern.search(words):
                if meaning == "all":
                    return True
                if meaning == "pregnant":
                    return False
                if meaning in ("male", "female"):
                    return self.sex == meaning
                if meaning == "child":
                    return self.age_years is not None and self.age_years < ADULT_AGE
                return self.age_years is None or self.age_years >= ADULT_AGE  # adult
        return False  # a population we cannot interpret (a race, a local code): not assumed to be this patient

    @staticmethod
    def _range_value(qty: Any, analyte: str, result_unit: str | None) -> float | None:
        if qty is None or _float(qty.value) is None:
            return None
        try:
            return units.to_canonical(float(qty.value), qty.code or qty.unit or result_unit, analyte)
        except units.UnitConversionError:
            return None

    @staticmethod
    def _matched_code(analyte: str, concept: Any) -> str | None:
        for coding in _codings(concept):
            if _analyte_for(coding.get("system"), coding.get("code")) == analyte:
                return str(coding.get("code"))
        return None

    @staticmethod
    def _side_of(element: dict[str, Any]) -> str | None:
        texts = [_concept_text(element.get("code")), _concept_text(element.get("bodySite"))]
        texts += [str(c.get("display") or "") + " " + str(c.get("code") or "")
                  for c in _codings(element.get("code"))]
        for text in texts:
            if LEFT.search(text):
                return "left"
            if RIGHT.search(text):
                return "right"
        return None

    # ------------------------------------------------------------------ medications

    def medications(self, drug_class: str | None = None, *, ingredient: str | None = None,
                    include_drafts: bool = False) -> list[MedicationUse]:
        meds = self._medications + (self._draft_orders if include_drafts else [])
        return [m for m in meds if (drug_class is None or drug_class in m.classes)
                and (ingredient is None or m.ingredient == ingredient)]

    @property
    def draft_orders(self) -> list[MedicationUse]:
        return list(self._draft_orders)

    # ------------------------------------------------------------------ conditions

    def conditions(self, valueset_slug: str) -> list[ConditionMatch]:
        if valueset_slug not in self._condition_cache:
            vs = valuesets.load(valueset_slug)
            found: list[ConditionMatch] = []
            if self._condition_views is None:
                self._condition_views = [_ConditionView.of(raw) for raw in self._conditions_raw]
            for view in self._condition_views:
                match = view.match(vs)
                if match is not None and self._condition_valid(view.raw):
                    found.append(match)
            self._condition_cache[valueset_slug] = found
        return self._condition_cache[valueset_slug]

    def _condition_valid(self, raw: dict[str, Any]) -> bool:
        """Validated once per resource, however many value sets it matches (rules ask about many)."""
        valid = self._valid_conditions.get(id(raw))
        if valid is None:
            try:
                # Read: code (matched and shown), clinical/verification status (filtered on their codes).
                for element in ("code", "clinicalStatus", "verificationStatus"):
                    if raw.get(element) is not None:
                        self._validate(CodeableConcept, raw[element])
                valid = True
            except INVALID:
                self.notes.skip("condition-invalid")
                valid = False
            self._valid_conditions[id(raw)] = valid
        return valid

    def has_condition(self, valueset_slug: str) -> bool:
        return bool(self.conditions(valueset_slug))


@dataclass(frozen=True)
class _ConditionView:
    """What condition matching reads of one Condition, computed once: rules ask about ~20 value sets per call."""

    raw: dict[str, Any]
    codes: tuple[tuple[Any, str, tuple[str, ...]], ...]  # (system, code as sent, variants to look up)
    text: str
    all_text: str
    when: datetime | None
    latest: datetime | None

    @classmethod
    def of(cls, raw: dict[str, Any]) -> _ConditionView:
        concept = raw.get("code")
        # A system that is not a string is malformed: read as absent (no code match; the text may still match).
        codes = tuple((_str(c.get("system")), c["code"], _code_variants(_str(c.get("system")), c["code"]))
                      for c in _codings(concept) if isinstance(c.get("code"), str))
        text = _concept_text(concept)
        # Only string displays count: an object's repr ("{'x': 'sciatica'}") must not match a value set by its text.
        all_text = " ".join([text] + [_text(c.get("display")) or "" for c in _codings(concept)]).strip()
        onset = parse_fhir_datetime(raw.get("onsetDateTime"))
        recorded = parse_fhir_datetime(raw.get("recordedDate"))
        when = onset or recorded
        latest = max(onset, recorded) if onset and recorded else when
        return cls(raw, codes, text, all_text, when, latest)

    def match(self, vs: Any) -> ConditionMatch | None:
        """By code (any coding, ICD-10-CM with or without the dot), else by text as a last resort."""
        key = (vs.slug, self.codes, self.all_text)  # strings and tuples of strings only (see of())
        how = _MATCH_MEMO.get(key, _UNSEEN)
        if how is _UNSEEN:
            how = self._how(vs)
            if len(_MATCH_MEMO) < _MATCH_MEMO_MAX:
                _MATCH_MEMO[key] = how
        if how is None:
            return None
        kind, code = cast("tuple[str, str | None]", how)  # the memo's sentinel was replaced above
        shown = self.text or ((code or self.all_text) if kind == "code" else self.all_text)
        # An id that is not a string (an object or array sent by a client) is read as absent: rules use the id as a
        # dict key and in sets, so it must be hashable, and a malformed one identifies nothing.
        return ConditionMatch(_str(self.raw.get("id")), shown, vs.slug, kind, code, self.when, self.latest)

    def _how(self, vs: Any) -> tuple[str, str | None] | None:
        """By code; by text only when no coding is in a system whose codes the value set judges (a Condition coded
        M48.02 "Spinal stenosis, cervical region" is not lumbar stenosis because its text says "spinal stenosis")."""
        for _system, code, variants in self.codes:
            if any(vs.contains(_system, variant) for variant in variants):
                return "code", code
        if not vs.text_allowed(system for system, _, _ in self.codes):
            return None
        if self.all_text and vs.matches_text(self.all_text):
            return "text", None
        return None


# Whether a condition's codes and text match a value set depends on nothing else, and the same problem-list
# entries recur across patients (the rules ask ~20 value sets about each): memoised for the process, bounded.
_MATCH_MEMO: dict[tuple[Any, ...], tuple[str, str | None] | None] = {}
_MATCH_MEMO_MAX = 8192
_UNSEEN = object()


def _code_variants(system: Any, code: str) -> tuple[str, ...]:
    """The code as sent, plus for ICD-10-CM the dotted upper-case form: EHR extracts often send "M5416"."""
    if system != ICD10CM:
        return (code,)
    clean = code.strip().upper()
    dotted = clean if "." in clean or len(clean) <= 3 else f"{clean[:3]}.{clean[3:]}"
    return tuple(dict.fromkeys((code, clean, dotted)))


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _absent_value_text(raw: dict[str, Any]) -> str:
    """What an Observation without a numeric value sent instead, for the card ("no value (error)")."""
    concept = raw.get("valueCodeableConcept")
    if isinstance(concept, dict):
        return f'"{_concept_text(concept)[:60]}"' if _concept_text(concept) else "a coded value"
    absent = raw.get("dataAbsentReason")
    if isinstance(absent, dict):
        return f"no value ({_concept_text(absent) or _first_code(absent) or 'reason not given'})"
    return "no numeric value"


# ---------------------------------------------------------------------------------------------- builder


def _learn_concept(key: bytes, concept: dict[str, Any]) -> str | None:
    found = _concept_analyte(concept)
    if len(_CONCEPT_MEMO) >= _CONCEPT_MEMO_MAX:
        _CONCEPT_MEMO.clear()
    _CONCEPT_MEMO[key] = found
    return found


_CONCEPT_MEMO: dict[bytes, str | None] = {}
_CONCEPT_MEMO_MAX = 8192  # distinct code elements (~0.3 kB each with the key); emptied when full


def _concept_analyte(concept: Any) -> str | None:
    codings = concept.get("coding") if isinstance(concept, dict) else None
    if isinstance(codings, list):
        for coding in codings:
            if isinstance(coding, dict):
                analyte = _analyte_for(coding.get("system"), coding.get("code"))
                if analyte:
                    return analyte
    if isinstance(concept, dict) and _abi_text(_concept_text(concept)):
        return "abi"
    return None


_ABI_TEXT_MEMO: dict[str, bool] = {}


def _abi_text(text: str) -> bool:
    """Whether an Observation's text names an ABI; memoised (bounded), as lab texts repeat across a chart."""
    hit = _ABI_TEXT_MEMO.get(text)
    if hit is None:
        hit = bool(ABI_TEXT.search(text))
        if len(_ABI_TEXT_MEMO) < _ANALYTE_MEMO_MAX:
            _ABI_TEXT_MEMO[text] = hit
    return hit




def _instant(candidate: tuple[datetime, Any]) -> float:
    """Sort key of a candidate: its date as a POSIX timestamp, the same order as comparing the aware datetimes.

    Two aware datetimes with different tzinfo objects (a chart's results carry a dozen offsets, each parsed into
    its own object) compare through utcoffset() calls; sorting a typical patient's candidates by the float was
    ~2.4x faster (docs/performance.md). Exact: microseconds of this era fit a double's 53 bits.
    """
    return candidate[0].timestamp()


class _Builder:
    def __init__(self, facts: PatientFacts) -> None:
        self.facts = facts
        self.notes = facts.notes
        self.medication_index: dict[str, dict[str, Any]] = {}
        self.med_resources: list[dict[str, Any]] = []
        self.seen: set[tuple[str, str]] = set()
        self.own_reference = f"Patient/{facts.patient_id}"
        self.future_limit = facts.now + FUTURE_TOLERANCE  # computed once: every candidate result is compared
        self.keep_since = facts.now - READ_WINDOW - _KEEP_MARGIN  # older candidates keep their date only
        self.keep_long_since = {a: facts.now - w - _KEEP_MARGIN for a, w in LONG_READ_WINDOWS.items()}
        self.candidates = facts._obs_candidates

    def add_all(self, resources: Iterable[Any]) -> None:
        """add() each resource; Observations, the common case, are decided here, in this one loop.

        Observations are read as the projection (cards/projection.py): the web layer decodes prefetched ones so,
        and a whole dict (FHIR fallback, a body the projection did not describe, a nested Bundle) is projected
        first, so that both reach the same decisions (tests/test_projected_json.py). Inlined: this loop sees every
        resource sent (5,000 Observations for a heavy patient); the function calls it saves made the pre-filter
        5-9 % slower (docs/performance.md).
        """
        dumps = orjson.dumps
        memo = _CONCEPT_MEMO.get
        unseen = _UNSEEN
        unset = UNSET
        seen = self.seen
        own = self.own_reference
        future = self.future_limit
        keep_since = self.keep_since
        keep_long_since = self.keep_long_since
        candidates = self.candidates
        statuses = RESULT_STATUSES
        fromisoformat = datetime.fromisoformat
        utc = timezone.utc
        analyte: Any
        for resource in resources:
            if type(resource) is not Resource:
                resource = self._projected_observation(resource)
                if resource is None:
                    continue
            elif resource.resourceType != "Observation":
                self.add(as_dict(resource))
                continue
            concept = resource.code
            if type(concept) is dict:
                try:
                    key = dumps(concept)
                except TypeError:  # not a JSON value (an integer over 64 bits): decided without the memo
                    analyte = _concept_analyte(concept)
                else:
                    analyte = memo(key, unseen)
                    if analyte is unseen:
                        analyte = _learn_concept(key, concept)
            else:
                analyte = _concept_analyte(concept)
            if analyte is None:
                continue  # no rule reads it: dropped before any bookkeeping
            rid = resource.id
            if type(rid) is str or isinstance(rid, str):
                seen_key = ("Observation", rid)
                if seen_key in seen:
                    continue
                seen.add(seen_key)
            extension = resource.modifierExtension
            if extension is not unset and extension is not None:
                self.notes.skip("modifier-extension")
                continue
            subject = resource.subject or resource.patient
            if not (type(subject) is dict and subject.get("reference") == own) and self._other_patient(resource):
                self.notes.skip("other-patient")
                continue
            status = resource.status
            if type(status) is not str or status not in statuses:
                self.notes.skip(f"observation-status-{status if isinstance(status, str) else 'missing'}")
                continue
            when = resource.effectiveDateTime
            if type(when) is str and len(when) > 7:  # a full dateTime, the common case: parsed here
                try:
                    when = fromisoformat(when)
                except ValueError:
                    when = None
                else:
                    if when.tzinfo is None:
                        when = when.replace(tzinfo=utc)
            else:
                when = None
            if when is None:
                when = _raw_effective(resource)
                if when is None:
                    self.notes.skip("observation-no-date")
                    continue
            if when > future:
                self.notes.skip("observation-future-date")
                continue
            candidates[analyte].append((when, resource if when >= keep_since or (
                analyte in keep_long_since and when >= keep_long_since[analyte]) else None))

    def _projected_observation(self, resource: Any) -> Resource | None:
        """A whole Observation dict as the projection the pre-filter loop reads; anything else add()ed, None."""
        if isinstance(resource, dict) and resource.get("resourceType") == "Observation":
            return of_dict(resource)
        self.add(resource)
        return None

    def add(self, resource: Any) -> None:
        if type(resource) is Resource:  # a projected Observation (in a nested Bundle)
            self.add_all((resource,))
            return
        if not isinstance(resource, dict):
            self.notes.skip("not-a-resource")
            return
        rtype = resource.get("resourceType")
        if rtype == "Observation":
            self.add_all((resource,))  # projected, then the pre-filter loop: one place decides on Observations
            return
        rid = resource.get("id")
        if isinstance(rid, str):
            key = (str(rtype), rid)
            if key in self.seen:
                return  # duplicates across paged searchsets and overlapping prefetch keys
            self.seen.add(key)
        handler = _HANDLERS.get(rtype) if isinstance(rtype, str) else None
        if handler is None:
            if rtype != "OperationOutcome":
                self.notes.skip("unrelated-resource")
            return
        if resource.get("modifierExtension") is not None:
            # FHIR: a resource with a modifier extension the reader does not understand must not be used as is.
            self.notes.skip("modifier-extension")
            return
        if rtype != "Patient" and self._other_patient(resource):
            self.notes.skip("other-patient")
            return
        handler(self, resource)

    def _other_patient(self, raw: dict[str, Any] | Resource) -> bool:
        """True when subject/patient clearly names another Patient (urn:uuid and missing subjects pass)."""
        ref = raw.get("subject") or raw.get("patient")
        target = ref.get("reference") if isinstance(ref, dict) else None
        if target == self.own_reference:
            return False  # the common case, decided without string surgery (this runs for every resource)
        if not isinstance(target, str) or "Patient/" not in target:
            return False
        return target.rstrip("/").rsplit("Patient/", 1)[1].split("/")[0] != self.facts.patient_id

    def _add_Patient(self, raw: dict[str, Any]) -> None:
        if raw.get("id") not in (None, self.facts.patient_id):
            self.notes.skip("other-patient")
            return
        try:
            patient = Patient.model_validate(read_elements(raw, PATIENT_READS))
        except INVALID:
            self.notes.skip("patient-invalid")
            return
        self.facts.sex = patient.gender
        # A partial birthDate ("1950", "1950-03") is valid FHIR; fhir.resources keeps it as text: read the first
        # day of that year or month.
        born_at = parse_fhir_datetime(raw.get("birthDate")) if patient.birthDate else None
        if born_at is not None:
            born = born_at.date()
            today = self.facts.now.date()
            self.facts.age_years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    def _add_Medication(self, raw: dict[str, Any]) -> None:
        if isinstance(raw.get("id"), str):
            self.medication_index[f"Medication/{raw['id']}"] = raw

    def _add_MedicationStatement(self, raw: dict[str, Any]) -> None:
        if _text(raw.get("status")) not in STATEMENT_ACTIVE:
            self.notes.skip("medication-not-current")
            return
        self.med_resources.append(raw)

    def _add_MedicationRequest(self, raw: dict[str, Any]) -> None:
        if _text(raw.get("status")) not in REQUEST_ACTIVE or _text(raw.get("intent")) not in REQUEST_INTENTS:
            self.notes.skip("medication-not-current")
            return
        if _finished_course(raw, self.facts.now):
            self.notes.skip("medication-course-finished")
            return
        self.med_resources.append(raw)

    def _add_Condition(self, raw: dict[str, Any]) -> None:
        clinical = _status_code(raw.get("clinicalStatus"))
        verification = _status_code(raw.get("verificationStatus"))
        if verification in CONDITION_EXCLUDED_VERIFICATION:
            self.notes.skip("condition-refuted-or-error")
            return
        # A missing clinicalStatus with no abatement is read as current: problem lists in the wild omit it.
        if clinical is None and not any(k.startswith("abatement") for k in raw):
            clinical = "active"
        if clinical not in CONDITION_ACTIVE:
            self.notes.skip("condition-inactive")
            return
        self.facts._conditions_raw.append(raw)

    def _add_Encounter(self, raw: dict[str, Any]) -> None:
        """Only the reasons of an Encounter are read (cards/relevance.py), and not of one entered in error."""
        rid = raw.get("id")
        if not isinstance(rid, str) or _text(raw.get("status")) == "entered-in-error":
            self.notes.skip("encounter-unusable")
            return
        # Kept as {"coding": [objects], "text": str | None}: a reader may iterate the codings whatever was sent.
        self.facts.encounter_reasons[rid] = [{"coding": list(_codings(c)), "text": _text(c.get("text"))}
                                             for c in _array(raw.get("reasonCode")) if isinstance(c, dict)]

    def _add_Bundle(self, raw: dict[str, Any]) -> None:
        for entry in _array(raw.get("entry")):
            if isinstance(entry, dict):
                self.add(entry.get("resource"))

    # ------------------------------------------------------------------ medication resolution

    def finish(self, draft_orders: Iterable[Any]) -> None:
        for candidates in self.facts._obs_candidates.values():
            candidates.sort(key=_instant, reverse=True)
        for raw in self.med_resources:
            uses = self._medication_uses(raw, draft=False)
            if uses and not self._valid_medication(raw):
                continue
            self.facts._medications.extend(uses)
        for raw in draft_orders:
            if isinstance(raw, dict) and raw.get("resourceType") == "MedicationRequest":
                # Draft orders are parsed leniently (the Sandbox sends invalid ones): raw fields only.
                self.facts._draft_orders.extend(self._medication_uses(raw, draft=True))
            else:
                self.notes.skip("draft-order-not-medication-request")

    def _valid_medication(self, raw: dict[str, Any]) -> bool:
        """Validate what the medication readers use: the drug concept or the reference to it."""
        try:
            if raw.get("medicationCodeableConcept") is not None:
                self.facts._validate(CodeableConcept, raw["medicationCodeableConcept"])
            if raw.get("medicationReference") is not None:
                self.facts._validate(Reference, raw["medicationReference"])
        except INVALID:
            self.notes.skip("medication-invalid")
            return False
        return True

    def _medication_uses(self, raw: dict[str, Any], draft: bool) -> list[MedicationUse]:
        concept: Any = raw.get("medicationCodeableConcept")
        texts: list[str] = []
        if concept is None:
            medication = self._resolve(raw)
            if medication is None:
                self.notes.skip("medication-unresolved-reference")
                if _medication_reference(raw):
                    # Said on the cards: a drug that cannot be identified is one no rule could check (the web layer
                    # has already tried to fetch the Medication from fhirServer when one was allowed).
                    self.notes.note_missing(UNIDENTIFIED_MEDICATION)
                return []
            concept = medication.get("code")
            for ingredient in _array(medication.get("ingredient")):
                if isinstance(ingredient, dict):
                    texts.append(_concept_text(ingredient.get("itemCodeableConcept")))
                    for coding in _codings(ingredient.get("itemCodeableConcept")):
                        texts.append(_text(coding.get("display")) or "")
        # Only string parts reach terminology: drafts are parsed leniently from raw JSON, where a code may be a number.
        codings = [(_str(c.get("system")), _str(c.get("code")), _str(c.get("display"))) for c in _codings(concept)]
        if isinstance(concept, dict) and isinstance(concept.get("text"), str):
            texts.insert(0, concept["text"])
        ref = raw.get("medicationReference")
        if isinstance(ref, dict) and isinstance(ref.get("display"), str):
            texts.append(ref["display"])
        matches = drugs.match(codings, [t for t in texts if t])
        if not matches:
            return []
        display = _concept_text(concept) or (texts[0] if texts else matches[0].ingredient)
        when = _medication_start(raw)
        rid = raw.get("id") if isinstance(raw.get("id"), str) else None
        names = _product_names(codings, texts)
        dose, per_day = _dose(raw)
        return [MedicationUse(str(raw.get("resourceType")), rid, display, m.ingredient, m.classes, m.matched_by,
                              m.evidence, when, draft, names, dose, per_day) for m in matches]

    def _resolve(self, raw: dict[str, Any]) -> dict[str, Any] | None:
        ref = raw.get("medicationReference")
        target = ref.get("reference") if isinstance(ref, dict) else None
        if not isinstance(target, str):
            return None
        if target.startswith("#"):
            for contained in _array(raw.get("contained")):
                if isinstance(contained, dict) and contained.get("id") == target[1:]:
                    return contained
            return None
        # Absolute or relative reference: match on the trailing Medication/<id>.
        tail = "/".join(target.rstrip("/").split("/")[-2:])
        return self.medication_index.get(tail)


#: The data note (cards: "Not evaluated") for a current medication whose drug cannot be read: its
#: medicationReference names a Medication that was neither sent nor could be fetched (or a missing contained one).
UNIDENTIFIED_MEDICATION = ("a medication could not be identified (the Medication it refers to was neither sent "
                           "nor obtainable from fhirServer)")


def unresolved_medication_references(resources: Iterable[Any], draft_orders: Iterable[Any] = ()) -> list[str]:
    """The ``reference`` of each current MedicationStatement or MedicationRequest (and each draft order) that names
    a Medication not among ``resources``, in first-seen order: what the web layer may fetch from fhirServer.

    Matches as the builder resolves (the trailing ``Medication/<id>``; ``#id`` is a contained resource, never
    fetched). Statuses are filtered as the builder does, so a stopped drug costs no request.
    """
    have: set[str] = set()
    wanted: list[tuple[str, str]] = []  # (tail, reference)
    for raw in resources:
        if type(raw) is not dict:
            continue  # projected Observations and non-objects name no Medication
        rtype = raw.get("resourceType")
        if rtype == "Medication":
            if isinstance(raw.get("id"), str):
                have.add(f"Medication/{raw['id']}")
        elif rtype == "MedicationStatement":
            if _text(raw.get("status")) in STATEMENT_ACTIVE:
                wanted.extend(_medication_reference(raw))
        elif rtype == "MedicationRequest":
            if _text(raw.get("status")) in REQUEST_ACTIVE and _text(raw.get("intent")) in REQUEST_INTENTS:
                wanted.extend(_medication_reference(raw))
    for raw in draft_orders:
        if isinstance(raw, dict) and raw.get("resourceType") == "MedicationRequest":
            wanted.extend(_medication_reference(raw))
    return list(dict.fromkeys(ref for tail, ref in wanted if tail not in have and not ref.startswith("#")))


def _medication_reference(raw: dict[str, Any]) -> list[tuple[str, str]]:
    if raw.get("medicationCodeableConcept") is not None:
        return []
    ref = raw.get("medicationReference")
    target = ref.get("reference") if isinstance(ref, dict) else None
    if not isinstance(target, str) or not target:
        return []
    return [("/".join(target.rstrip("/").split("/")[-2:]), target)]


# Dispatch by resourceType without building a method name per resource (this loop sees every resource sent).
_HANDLERS: dict[str, Callable[[_Builder, dict[str, Any]], None]] = {
    name[len("_add_"):]: method for name, method in vars(_Builder).items() if name.startswith("_add_")
}


def build_facts(resources: Iterable[Any], *, now: datetime, patient_id: str, draft_orders: Iterable[Any] = (),
                notes: DataNotes | None = None, available: Iterable[str] = (),
                encounter_id: str | None = None) -> PatientFacts:
    """Index raw FHIR resources (any types, Bundles flattened) into PatientFacts for the rules."""
    facts = PatientFacts(now=now, patient_id=patient_id, notes=notes, encounter_id=encounter_id)
    facts.available = set(available)
    builder = _Builder(facts)
    builder.add_all(resources)
    builder.finish(draft_orders)
    return facts
