"""Lab results: how far back they are kept, and how one Observation becomes LabResults (or an UnreadableResult).

How results are read (docs/clinical-basis.md, "How results are read"): final/amended/corrected only; the lab's own
reference range when it applies to this patient (cards/facts/ranges.py); interpretation flags; censored values
("<2.5", comparator "<") kept with their comparator; a result that exists but cannot be read is kept as an
UnreadableResult so that a card can name it instead of saying "no result".
"""
from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any, Iterator, Sequence, overload

from cards.facts.analytes import analyte_for
from cards.facts.model import DataNotes, LabResult, UnreadableResult
from cards.facts.ranges import normal_range, range_unit
from cards.facts.readers import codings, concept_text, first_code, number, present, string
from cards.facts.validation import INVALID, ReadObservation, Validator
from cards.knowledge import threshold
from cards.projection import Resource
from terminology import units
from terminology.systems import V3_INTERPRETATION

log = logging.getLogger(__name__)

# FHIR R4 ObservationStatus: only these statuses are results (preliminary, registered, cancelled and
# entered-in-error are not).
RESULT_STATUSES = frozenset({"final", "amended", "corrected"})
# A result dated more than a day in the future is a data error (clock skew of a day is tolerated).
FUTURE_TOLERANCE = timedelta(days=1)
# The oldest result a rule may read: just past the longest lookback any rule uses (ABI and iron studies, 12 months;
# cards/knowledge). The FHIR fallback searches the same window (registry.FALLBACK_LOOKBACK). Results
# older than this (and a 2-day margin for time zones) keep only their date, for notes such as "last potassium
# 2024-03-01"; their resource is let go in the pre-filter. results() and results_on() refuse to look further back,
# so a rule cannot silently read less than it asks for.
READ_WINDOW = timedelta(days=400)
KEEP_MARGIN = timedelta(days=2)
# Analytes read further back than READ_WINDOW: an abnormal ABI never expires (PAD does not resolve), so the PAD and
# poor-circulation rules show an old one as old instead of dropping it (cards/knowledge pad.abi-history). Only the
# few ABI resources of a chart are kept that long; the FHIR fallback search is still bounded by READ_WINDOW.
LONG_READ_WINDOWS: dict[str, timedelta] = {"abi": threshold("pad.abi-history").days}
# ABI plausibility gate: a ratio outside (0, 3] is a data error, not a measurement.
ABI_PLAUSIBLE = (0.0, 3.0)
# A censored or numeric value sent as text: "<2.5", "> 7.0 mmol/L", "<=0.5", "3.4".
_VALUE_TEXT = re.compile(r"^\s*(<=|>=|<|>|\u2264|\u2265)?\s*([0-9]+(?:[.,][0-9]+)?|[.,][0-9]+)\s*([^\s\d].*)?$")
_COMPARATORS = {"\u2264": "<=", "\u2265": ">="}
# Analytes whose unit is unambiguous when a value comes without one (mmol/L = mEq/L for K and Na; ABI is a ratio).
UNIT_WHEN_ABSENT = {"potassium": "mmol/L", "sodium": "mmol/L", "abi": "{ratio}"}
LEFT = re.compile(r"\bleft\b|\blt\b|\bL\b", re.IGNORECASE)
RIGHT = re.compile(r"\bright\b|\brt\b|\bR\b", re.IGNORECASE)


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


def read_observation(analyte: str, when: datetime, resource: Resource, *, validate: Validator, notes: DataNotes,
                     sex: str | None, age_years: int | None) -> tuple[list[LabResult], UnreadableResult | None]:
    """The usable results of one candidate Observation (ABI: one per side), else what makes it unreadable.

    An Observation invalid in an element that is read gives neither (it is skipped and counted).
    """
    try:
        obs = ReadObservation.of(resource, components=analyte == "abi", validate=validate)
    except INVALID:
        notes.skip("observation-invalid")
        log.info("skipped observation: failed FHIR R4 validation", extra={"resource_id": present(resource.id)})
        return [], None
    reading = _Reading(analyte, when, resource, obs, notes, sex, age_years)
    return reading.results()


class _Reading:
    """One validated Observation of `analyte` being read into LabResults, with what each value needs."""

    def __init__(self, analyte: str, when: datetime, resource: Resource, obs: ReadObservation, notes: DataNotes,
                 sex: str | None, age_years: int | None) -> None:
        self.analyte, self.when, self.resource, self.obs, self.notes = analyte, when, resource, obs, notes
        self.sex, self.age_years = sex, age_years
        self.code = _matched_code(analyte, resource.code) or ""
        self.display = concept_text(resource.code) or analyte
        self.interpretation = frozenset(
            c.code for i in (obs.interpretation or []) for c in (i.coding or [])
            if c.code and (c.system in (None, V3_INTERPRETATION))
        )

    def results(self) -> tuple[list[LabResult], UnreadableResult | None]:
        analyte, resource, obs = self.analyte, self.resource, self.obs
        out: list[LabResult] = []
        unreadable: str | None = None
        if obs.valueQuantity is not None:
            qty = obs.valueQuantity
            side = side_of(resource.code, resource.bodySite) if analyte == "abi" else None
            result, unreadable = self._value(number(qty.value), qty.comparator, qty.code, qty.unit,
                                             obs.referenceRange, side=side)
            if result:
                out.append(result)
        elif analyte == "abi" and obs.component:
            # Validation succeeded, so resource.component is a list of objects in the same order as obs.component.
            for comp, sent_comp in zip(obs.component, resource.component):
                if comp.valueQuantity is None:
                    continue
                side = (side_of(sent_comp.get("code"), sent_comp.get("bodySite"))
                        or side_of(resource.code, resource.bodySite))
                q = comp.valueQuantity
                result, _ = self._value(number(q.value), q.comparator, q.code, q.unit, comp.referenceRange or [],
                                        side=side)
                if result:
                    out.append(result)
        elif isinstance(resource.valueString, str):
            text = resource.valueString
            parsed = _VALUE_TEXT.match(text)
            if parsed:
                comparator = _COMPARATORS.get(parsed.group(1) or "", parsed.group(1))
                value = float(parsed.group(2).replace(",", "."))
                unit = (parsed.group(3) or "").strip() or None
                result, unreadable = self._value(value, comparator, None, unit, obs.referenceRange, side=None,
                                                 sent=text.strip())
                if result:
                    out.append(result)
            else:
                unreadable = f'"{text.strip()[:60]}"'
        else:
            unreadable = _absent_value_text(resource)
        if out:
            return out, None
        self.notes.skip("observation-unreadable")
        log.info("observation kept as unreadable: no usable value", extra={"resource_id": present(resource.id)})
        return [], UnreadableResult(
            analyte=analyte, date=self.when, code=self.code, display=self.display,
            observation_id=string(resource.id), sent=unreadable or "no value", interpretation=self.interpretation)

    def _value(self, value: float | None, comparator: str | None, ucum: str | None, shown: str | None, ranges: Any,
               side: str | None, sent: str | None = None) -> tuple[LabResult | None, str | None]:
        """One value as a LabResult in the canonical unit; else (None, what was sent, for the card)."""
        analyte = self.analyte
        number_sent = _fmt(value) if value is not None else "?"
        sent_text = sent or f"{comparator or ''}{number_sent} {shown or ucum or ''}".strip()
        if value is None:
            return None, f"{sent_text} (no number)"
        unit = ucum or shown or range_unit(ranges) or UNIT_WHEN_ABSENT.get(analyte)
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
        low, high = normal_range(ranges, analyte, unit, sex=self.sex, age_years=self.age_years)
        canonical_unit = units.canonical_unit(analyte)
        converted = units.normalize_unit(unit or "") != units.normalize_unit(canonical_unit) and not (
            abs(canonical - value) < 1e-9)
        return LabResult(
            analyte=analyte, value=canonical, unit=canonical_unit, date=self.when, code=self.code,
            display=self.display, observation_id=string(self.resource.id), ref_low=low, ref_high=high,
            interpretation=self.interpretation, original=f"{_fmt(value)} {shown or unit or ''}".strip(), side=side,
            comparator=comparator, converted=converted,
        ), None


def _matched_code(analyte: str, concept: Any) -> str | None:
    for coding in codings(concept):
        if analyte_for(coding.get("system"), coding.get("code")) == analyte:
            return str(coding.get("code"))
    return None


def side_of(code: Any, body_site: Any) -> str | None:
    """"left" or "right" when an ABI's code or body site names the side (texts, displays and codes)."""
    texts = [concept_text(code), concept_text(body_site)]
    texts += [str(c.get("display") or "") + " " + str(c.get("code") or "") for c in codings(code)]
    for text in texts:
        if LEFT.search(text):
            return "left"
        if RIGHT.search(text):
            return "right"
    return None


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _absent_value_text(resource: Resource) -> str:
    """What an Observation without a numeric value sent instead, for the card ("no value (error)")."""
    concept = resource.valueCodeableConcept
    if isinstance(concept, dict):
        return f'"{concept_text(concept)[:60]}"' if concept_text(concept) else "a coded value"
    absent = resource.dataAbsentReason
    if isinstance(absent, dict):
        return f"no value ({concept_text(absent) or first_code(absent) or 'reason not given'})"
    return "no numeric value"
