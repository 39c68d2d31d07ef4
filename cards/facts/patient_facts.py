"""PatientFacts: all a rule sees of one patient, answered lazily from what the builder kept (cards/facts/builder.py)."""
from __future__ import annotations

from collections import defaultdict
from datetime import date as CalendarDate
from datetime import datetime, timedelta
from typing import Any, Iterator

from cards.facts.conditions import ConditionView
from cards.facts.labs import LONG_READ_WINDOWS, READ_WINDOW, LazyResults, read_observation
from cards.facts.model import ConditionMatch, DataNotes, LabResult, MedicationUse, UnreadableResult
from cards.facts.readers import present
from cards.facts.validation import INVALID, Validator
from cards.projection import Resource
from fhir.resources.R4B.codeableconcept import CodeableConcept
from terminology import valuesets


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
        # Filled by the builder. analyte -> [(date, projected Observation, or None when older than READ_WINDOW)],
        # newest first after the build
        self._obs_candidates: dict[str, list[tuple[datetime, Resource | None]]] = defaultdict(list)
        self._medications: list[MedicationUse] = []
        self._draft_orders: list[MedicationUse] = []
        self._conditions_raw: list[Resource] = []  # current Conditions, not yet validated
        # Memoised answers, for this request only
        self._lab_cache: dict[tuple[str, timedelta], LazyResults] = {}
        self._condition_views: list[ConditionView] | None = None
        self._condition_cache: dict[str, list[ConditionMatch]] = {}
        self._valid_conditions: dict[int, bool] = {}  # id(resource) -> validated; resources live as long as the facts
        self._parsed_obs: dict[int, list[LabResult]] = {}
        self._unreadable_obs: dict[int, UnreadableResult] = {}
        self._validate = Validator()

    def release(self) -> None:
        """Drop the caches once the rules are done (the web layer calls this after evaluating a request).

        A LazyResults not read to its end holds a generator running over this object, and this object holds the
        LazyResults: a reference cycle that keeps every candidate Observation of the request alive until the
        cyclic garbage collector finds it. Released, the request's data is freed by reference counting when the request
        ends, which is what lets the web layer pause the collector during requests (cds_service/runtime/gc_pause.py).
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
        for when, candidate in self._obs_candidates.get(analyte, ()):
            if when < since or candidate is None:  # None only past READ_WINDOW, which results() refuses
                return  # candidates are sorted newest first
            yield from self._to_results(analyte, when, candidate)

    def candidate_days(self, analyte: str, lookback: timedelta) -> set[CalendarDate]:
        """Days within `lookback` on which `analyte` has a result that may be usable (nothing validated yet)."""
        since = self.now - lookback
        return {when.date() for when, _ in self._obs_candidates.get(analyte, ()) if when >= since}

    def results_on(self, analyte: str, day: CalendarDate) -> list[LabResult]:
        """The usable results of `analyte` dated `day`, newest first; only that day's results are validated.

        ValueError for a day before READ_WINDOW (older results are not kept)."""
        if day < (self.now - READ_WINDOW).date():
            raise ValueError(f"{day} is before READ_WINDOW ({READ_WINDOW}): older results are not kept")
        return [result for when, candidate in self._obs_candidates.get(analyte, ()) if when.date() == day
                and candidate is not None for result in self._to_results(analyte, when, candidate)]

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
        for when, candidate in self._obs_candidates.get(analyte, ()):
            if when < since or candidate is None:
                return None
            results = self._to_results(analyte, when, candidate)
            if results:
                return results[0]
            unreadable = self._unreadable_obs.get(id(candidate))
            if unreadable is not None:
                return unreadable
        return None

    def unreadable(self, analyte: str, lookback: timedelta) -> list[UnreadableResult]:
        """Results of `analyte` within `lookback` that exist but could not be read, newest first."""
        if lookback > READ_WINDOW:
            raise ValueError(f"lookback {lookback} is beyond READ_WINDOW ({READ_WINDOW}): older results are not kept")
        since = self.now - lookback
        found: list[UnreadableResult] = []
        for when, candidate in self._obs_candidates.get(analyte, ()):
            if when < since or candidate is None:
                break
            if not self._to_results(analyte, when, candidate) and id(candidate) in self._unreadable_obs:
                found.append(self._unreadable_obs[id(candidate)])
        return found

    def _to_results(self, analyte: str, when: datetime, candidate: Resource) -> list[LabResult]:
        """The candidate's results, read once (the ~15 results a typical call reads, not the ~250 candidates)."""
        memo = self._parsed_obs.get(id(candidate))
        if memo is not None:
            return memo
        results, unreadable = read_observation(analyte, when, candidate, validate=self._validate, notes=self.notes,
                                               sex=self.sex, age_years=self.age_years)
        if unreadable is not None:
            self._unreadable_obs[id(candidate)] = unreadable
        self._parsed_obs[id(candidate)] = results
        return results

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
            valuesets.load(valueset_slug)  # an unknown slug is a bug in the rule: it fails here, chart or not
            found: list[ConditionMatch] = []
            if self._condition_views is None:
                self._condition_views = [ConditionView.of(resource) for resource in self._conditions_raw]
            for view in self._condition_views:
                match = view.match(valueset_slug)
                if match is not None and self._condition_valid(view.resource):
                    found.append(match)
            self._condition_cache[valueset_slug] = found
        return self._condition_cache[valueset_slug]

    def _condition_valid(self, resource: Resource) -> bool:
        """Validated once per resource, however many value sets it matches (rules ask about many)."""
        valid = self._valid_conditions.get(id(resource))
        if valid is None:
            try:
                # Read: code (matched and shown), clinical/verification status (filtered on their codes).
                for element in (resource.code, resource.clinicalStatus, resource.verificationStatus):
                    if present(element) is not None:
                        self._validate(CodeableConcept, element)
                valid = True
            except INVALID:
                self.notes.skip("condition-invalid")
                valid = False
            self._valid_conditions[id(resource)] = valid
        return valid

    def has_condition(self, valueset_slug: str) -> bool:
        return bool(self.conditions(valueset_slug))
