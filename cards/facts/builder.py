"""build_facts: index the resources of one request into PatientFacts, keeping only what a rule may read.

Every resource is read as the projection (cards/projection.py): the web layer decodes prefetched Observations so,
and anything that arrives as a dict (other resource types, the FHIR fallback, a body the projection could not
describe, draft orders, a contained Medication) is projected once, here, so that every reader sees one shape and
both ways reach the same decisions (tests/test_projected_json.py). Observations - nearly all of a chart - are
pre-filtered in one inlined loop with attribute look-ups (code, status, date); only the candidates a rule may read
are kept, and they are validated later, as far as a rule reads them (cards/facts/patient_facts.py).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Iterable

import orjson
from cards.facts.analytes import CONCEPTS, concept_analyte
from cards.facts.conditions import not_current
from cards.facts.labs import FUTURE_TOLERANCE, KEEP_MARGIN, LONG_READ_WINDOWS, READ_WINDOW, RESULT_STATUSES
from cards.facts.medications import MedicationReader, finished_course, listed_as_current
from cards.facts.model import DataNotes
from cards.facts.patient_facts import PatientFacts
from cards.facts.readers import array, codings, effective_date, parse_fhir_datetime, present, string
from cards.facts.validation import INVALID, PATIENT_READS, read_elements
from cards.projection import UNSET, Entry, Resource, projected
from fhir.resources.R4B.patient import Patient


def _instant(candidate: tuple[datetime, Any]) -> float:
    """Sort key of a candidate: its date as a POSIX timestamp, the same order as comparing the aware datetimes.

    Two aware datetimes with different tzinfo objects (a chart's results carry a dozen offsets, each parsed into
    its own object) compare through utcoffset() calls; sorting a typical patient's candidates by the float was
    ~2.4x faster (docs/performance.md). Exact: microseconds of this era fit a double's 53 bits.
    """
    return candidate[0].timestamp()


class Builder:
    """Fills one PatientFacts: add_all() (or add()) each resource, then finish()."""

    def __init__(self, facts: PatientFacts) -> None:
        self.facts = facts
        self.notes = facts.notes
        self.medications = MedicationReader(facts.notes, facts._validate)
        self.med_resources: list[Resource] = []
        self.seen: set[tuple[str, str]] = set()
        self.own_reference = f"Patient/{facts.patient_id}"
        self.future_limit = facts.now + FUTURE_TOLERANCE  # computed once: every candidate result is compared
        self.keep_since = facts.now - READ_WINDOW - KEEP_MARGIN  # older candidates keep their date only
        self.keep_long_since = {a: facts.now - w - KEEP_MARGIN for a, w in LONG_READ_WINDOWS.items()}
        self.candidates = facts._obs_candidates

    def add_all(self, resources: Iterable[Any]) -> None:
        """Each resource in turn: Observations, the common case, are decided here, in this one loop; any other type
        goes to its handler.

        Inlined: this loop sees every resource sent (5,000 Observations for a heavy patient); the function calls it
        saves made the pre-filter 5-9 % slower (docs/performance.md).
        """
        dumps = orjson.dumps
        concepts = CONCEPTS
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
                resource = projected(resource)  # a resource decoded whole
                if resource is None:
                    self.notes.skip("not-a-resource")
                    continue
            if resource.resourceType != "Observation":
                self._dispatch(resource)
                continue
            concept = resource.code
            if type(concept) is dict:
                try:
                    key = dumps(concept)
                except TypeError:  # not a JSON value (an integer over 64 bits): decided without the memo
                    analyte = concept_analyte(concept)
                else:
                    analyte = concepts[key]
            else:
                analyte = concept_analyte(concept)
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
                when = effective_date(resource)
                if when is None:
                    self.notes.skip("observation-no-date")
                    continue
            if when > future:
                self.notes.skip("observation-future-date")
                continue
            candidates[analyte].append((when, resource if when >= keep_since or (
                analyte in keep_long_since and when >= keep_long_since[analyte]) else None))

    def add(self, resource: Any) -> None:
        """One resource, projected or whole, of any type (a Bundle's entries are added in turn)."""
        self.add_all((resource,))  # one place decides on Observations

    def _dispatch(self, resource: Resource) -> None:
        """A resource other than an Observation: to its handler, unless duplicate, modified or another patient's."""
        rtype = resource.resourceType
        rid = resource.id
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
        if present(resource.modifierExtension) is not None:
            # FHIR: a resource with a modifier extension the reader does not understand must not be used as is.
            self.notes.skip("modifier-extension")
            return
        if rtype != "Patient" and self._other_patient(resource):
            self.notes.skip("other-patient")
            return
        handler(self, resource)

    def _other_patient(self, resource: Resource) -> bool:
        """True when subject/patient clearly names another Patient (urn:uuid and missing subjects pass)."""
        ref = resource.subject or resource.patient
        target = ref.get("reference") if isinstance(ref, dict) else None
        if target == self.own_reference:
            return False  # the common case, decided without string surgery (this runs for every resource)
        if not isinstance(target, str) or "Patient/" not in target:
            return False
        return target.rstrip("/").rsplit("Patient/", 1)[1].split("/")[0] != self.facts.patient_id

    def _add_Patient(self, resource: Resource) -> None:
        if present(resource.id) not in (None, self.facts.patient_id):
            self.notes.skip("other-patient")
            return
        try:
            patient = Patient.model_validate(read_elements(resource, PATIENT_READS))
        except INVALID:
            self.notes.skip("patient-invalid")
            return
        self.facts.sex = patient.gender
        # A partial birthDate ("1950", "1950-03") is valid FHIR; fhir.resources keeps it as text: read the first
        # day of that year or month.
        born_at = parse_fhir_datetime(resource.birthDate) if patient.birthDate else None
        if born_at is not None:
            born = born_at.date()
            today = self.facts.now.date()
            self.facts.age_years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    def _add_Medication(self, resource: Resource) -> None:
        self.medications.add_medication(resource)

    def _add_MedicationStatement(self, resource: Resource) -> None:
        if not listed_as_current(resource):
            self.notes.skip("medication-not-current")
            return
        self.med_resources.append(resource)

    def _add_MedicationRequest(self, resource: Resource) -> None:
        if not listed_as_current(resource):
            self.notes.skip("medication-not-current")
            return
        if finished_course(resource, self.facts.now):
            self.notes.skip("medication-course-finished")
            return
        self.med_resources.append(resource)

    def _add_Condition(self, resource: Resource) -> None:
        reason = not_current(resource)
        if reason is not None:
            self.notes.skip(reason)
            return
        self.facts._conditions_raw.append(resource)

    def _add_Encounter(self, resource: Resource) -> None:
        """Only the reasons of an Encounter are read (cards/relevance.py), and not of one entered in error."""
        rid = resource.id
        if not isinstance(rid, str) or string(resource.status) == "entered-in-error":
            self.notes.skip("encounter-unusable")
            return
        # Kept as {"coding": [objects], "text": str | None}: a reader may iterate the codings whatever was sent.
        self.facts.encounter_reasons[rid] = [{"coding": list(codings(c)), "text": string(c.get("text"))}
                                             for c in array(resource.reasonCode) if isinstance(c, dict)]

    def _add_Bundle(self, resource: Resource) -> None:
        for entry in array(resource.entry):
            if isinstance(entry, Entry):
                self.add(entry.resource)

    def finish(self, draft_orders: Iterable[Any]) -> None:
        """Sort the candidates newest first and match the current medications and draft orders to ingredients."""
        for candidates in self.facts._obs_candidates.values():
            candidates.sort(key=_instant, reverse=True)
        for resource in self.med_resources:
            uses = self.medications.uses(resource, draft=False)
            if uses and not self.medications.valid(resource):
                continue
            self.facts._medications.extend(uses)
        for value in draft_orders:
            draft = projected(value)
            if draft is not None and draft.resourceType == "MedicationRequest":
                # Draft orders are read leniently (the Sandbox sends invalid ones): nothing is validated.
                self.facts._draft_orders.extend(self.medications.uses(draft, draft=True))
            else:
                self.notes.skip("draft-order-not-medication-request")


# Dispatch by resourceType without building a method name per resource (the builder sees every resource sent).
_HANDLERS: dict[str, Callable[[Builder, Resource], None]] = {
    name[len("_add_"):]: method for name, method in vars(Builder).items() if name.startswith("_add_")
}


def build_facts(resources: Iterable[Any], *, now: datetime, patient_id: str, draft_orders: Iterable[Any] = (),
                notes: DataNotes | None = None, available: Iterable[str] = (),
                encounter_id: str | None = None) -> PatientFacts:
    """Index raw FHIR resources (any types, projected or whole, Bundles flattened) into PatientFacts for the rules."""
    facts = PatientFacts(now=now, patient_id=patient_id, notes=notes, encounter_id=encounter_id)
    facts.available = set(available)
    builder = Builder(facts)
    builder.add_all(resources)
    builder.finish(draft_orders)
    return facts
