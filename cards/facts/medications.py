"""Current medications: which statements and orders count, the drug each names, its dose and how long it runs.

A MedicationStatement or MedicationRequest is matched to ingredients (terminology.drugs) by its
medicationCodeableConcept, or by the Medication its medicationReference names (contained, sent, or fetched by the
web layer from fhirServer: unresolved_medication_references says which to fetch). Only what a rule reads is
validated: the drug concept or the reference to it.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterable

from cards.facts.model import DataNotes, MedicationUse
from cards.facts.readers import array, codings, concept_text, number, parse_fhir_datetime, present, status_code, string
from cards.facts.validation import INVALID, Validator
from cards.knowledge import threshold
from cards.projection import Resource, of_dict, projected
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.reference import Reference
from terminology import drugs

# FHIR R4 MedicationStatementStatus / MedicationRequestStatus: current medications.
STATEMENT_ACTIVE = frozenset({"active", "intended"})
REQUEST_ACTIVE = frozenset({"active"})
# Every intent that is an order (or a plan) for the patient; proposals and options are not.
REQUEST_INTENTS = frozenset({"order", "plan", "original-order", "reflex-order", "filler-order", "instance-order"})
ACUTE_COURSE_CURRENT = threshold("medication.acute-course-current").days
_DURATION_DAYS = {"d": 1.0, "day": 1.0, "days": 1.0, "wk": 7.0, "week": 7.0, "weeks": 7.0, "mo": 30.0, "h": 1 / 24}
_PER_DAY = {"s": 86400.0, "min": 1440.0, "h": 24.0, "d": 1.0, "wk": 1 / 7, "mo": 1 / 30, "a": 1 / 365}

#: The data note (cards: "Not evaluated") for a current medication whose drug cannot be read: its
#: medicationReference names a Medication that was neither sent nor could be fetched (or a missing contained one).
UNIDENTIFIED_MEDICATION = ("a medication could not be identified (the Medication it refers to was neither sent "
                           "nor obtainable from fhirServer)")


def listed_as_current(resource: Resource) -> bool:
    """A MedicationStatement active or intended; a MedicationRequest active with the intent of an order or plan."""
    if resource.resourceType == "MedicationStatement":
        return string(resource.status) in STATEMENT_ACTIVE
    return string(resource.status) in REQUEST_ACTIVE and string(resource.intent) in REQUEST_INTENTS


def finished_course(resource: Resource, now: datetime) -> bool:
    """A short (acute) course whose supply ended, or that was ordered, more than ACUTE_COURSE_CURRENT ago.

    Only courseOfTherapyType "acute" is aged (continuous therapy is re-ordered on its own schedule); the end is the
    dispense validity period's end, else the expected supply (times the repeats) from its start or authoredOn, else
    authoredOn itself. A request that says nothing of this stays current.
    """
    if status_code(resource.courseOfTherapyType) != "acute":
        return False
    found = resource.dispenseRequest
    dispense: dict[str, Any] = found if isinstance(found, dict) else {}
    period = dispense.get("validityPeriod")
    validity: dict[str, Any] = period if isinstance(period, dict) else {}
    start = parse_fhir_datetime(validity.get("start")) or parse_fhir_datetime(resource.authoredOn)
    end = parse_fhir_datetime(validity.get("end"))
    supply = dispense.get("expectedSupplyDuration")
    if end is None and start is not None and isinstance(supply, dict) and number(supply.get("value")) is not None:
        per_day = _DURATION_DAYS.get(str(supply.get("code") or supply.get("unit") or "d").strip().lower())
        repeats = dispense.get("numberOfRepeatsAllowed")
        fills = 1 + (repeats if isinstance(repeats, int) and not isinstance(repeats, bool) and repeats > 0 else 0)
        if per_day is not None:
            end = start + timedelta(days=float(supply["value"]) * per_day * fills)
    end = end or start
    return end is not None and now - end > ACUTE_COURSE_CURRENT


def product_names(coded: list[tuple[str | None, str | None, str | None]], texts: list[str]) -> tuple[str, ...]:
    """The names a product strength can be read from: the texts, the coding displays, and the RxNorm name of a coded
    clinical drug (a coding sent without its display still names its strength)."""
    names = [t for t in texts if t] + [d for _, _, d in coded if d]
    for system, code, _ in coded:
        if code and system and "rxnorm" in system.lower():
            product = drugs.product(code)
            if product is not None:
                names.append(product.display)
    return tuple(dict.fromkeys(names))


def dose(resource: Resource) -> tuple[tuple[float, str] | None, float | None]:
    """The first dosage instruction's dose quantity (value, unit) and administrations per day (timing.repeat
    frequency / period): MedicationRequest.dosageInstruction, MedicationStatement.dosage."""
    for instruction in array(resource.dosageInstruction) or array(resource.dosage):
        if not isinstance(instruction, dict):
            continue
        amount: tuple[float, str] | None = None
        for entry in array(instruction.get("doseAndRate")):
            quantity = entry.get("doseQuantity") if isinstance(entry, dict) else None
            value = number(quantity.get("value")) if isinstance(quantity, dict) else None
            if isinstance(quantity, dict) and value is not None and value > 0:
                unit = string(quantity.get("code")) or string(quantity.get("unit")) or ""
                amount = (value, unit.strip())
                break
        per_day = None
        timing = instruction.get("timing")
        repeat = timing.get("repeat") if isinstance(timing, dict) else None
        if isinstance(repeat, dict):
            frequency = number(repeat.get("frequency"))
            frequency = 1.0 if frequency is None and repeat.get("period") is not None else frequency
            period = number(repeat.get("period"))
            unit_per_day = _PER_DAY.get(str(repeat.get("periodUnit") or ""))
            if frequency and period and unit_per_day:
                per_day = frequency / period * unit_per_day
        return amount, per_day
    return None, None


def medication_start(resource: Resource) -> datetime | None:
    """When a medication use began: a request's authoredOn; a statement's effective start; else when it was asserted."""
    period = resource.effectivePeriod
    return (parse_fhir_datetime(resource.authoredOn) or parse_fhir_datetime(resource.effectiveDateTime)
            or (parse_fhir_datetime(period.get("start")) if isinstance(period, dict) else None)
            or parse_fhir_datetime(resource.dateAsserted))


class MedicationReader:
    """Matches the current medications of one request to ingredients, resolving references to Medications."""

    def __init__(self, notes: DataNotes, validate: Validator) -> None:
        self.notes = notes
        self.validate = validate
        self.index: dict[str, Resource] = {}  # "Medication/<id>" -> the Medication sent (or fetched)

    def add_medication(self, resource: Resource) -> None:
        if isinstance(resource.id, str):
            self.index[f"Medication/{resource.id}"] = resource

    def valid(self, resource: Resource) -> bool:
        """Validate what the medication readers use: the drug concept or the reference to it."""
        try:
            if present(resource.medicationCodeableConcept) is not None:
                self.validate(CodeableConcept, resource.medicationCodeableConcept)
            if present(resource.medicationReference) is not None:
                self.validate(Reference, resource.medicationReference)
        except INVALID:
            self.notes.skip("medication-invalid")
            return False
        return True

    def uses(self, resource: Resource, draft: bool) -> list[MedicationUse]:
        """One MedicationUse per ingredient matched (none for a drug no rule knows)."""
        concept: Any = present(resource.medicationCodeableConcept)
        texts: list[str] = []
        if concept is None:
            medication = self._resolve(resource)
            if medication is None:
                self.notes.skip("medication-unresolved-reference")
                if medication_reference(resource):
                    # Said on the cards: a drug that cannot be identified is one no rule could check (the web layer
                    # has already tried to fetch the Medication from fhirServer when one was allowed).
                    self.notes.note_missing(UNIDENTIFIED_MEDICATION)
                return []
            concept = present(medication.code)
            for ingredient in array(medication.ingredient):
                if isinstance(ingredient, dict):
                    texts.append(concept_text(ingredient.get("itemCodeableConcept")))
                    for coding in codings(ingredient.get("itemCodeableConcept")):
                        texts.append(string(coding.get("display")) or "")
        # Only string parts reach terminology: drafts are parsed leniently from raw JSON, where a code may be a number.
        coded = [(string(c.get("system")), string(c.get("code")), string(c.get("display"))) for c in codings(concept)]
        if isinstance(concept, dict) and isinstance(concept.get("text"), str):
            texts.insert(0, concept["text"])
        ref = resource.medicationReference
        if isinstance(ref, dict) and isinstance(ref.get("display"), str):
            texts.append(ref["display"])
        matches = drugs.match(coded, [t for t in texts if t])
        if not matches:
            return []
        display = concept_text(concept) or (texts[0] if texts else matches[0].ingredient)
        when = medication_start(resource)
        rid = string(resource.id)
        names = product_names(coded, texts)
        amount, per_day = dose(resource)
        return [MedicationUse(str(present(resource.resourceType)), rid, display, m.ingredient, m.classes,
                              m.matched_by, m.evidence, when, draft, names, amount, per_day) for m in matches]

    def _resolve(self, resource: Resource) -> Resource | None:
        ref = resource.medicationReference
        target = ref.get("reference") if isinstance(ref, dict) else None
        if not isinstance(target, str):
            return None
        if target.startswith("#"):
            for contained in array(resource.contained):
                if isinstance(contained, dict) and contained.get("id") == target[1:]:
                    return of_dict(contained)
            return None
        # Absolute or relative reference: match on the trailing Medication/<id>.
        tail = "/".join(target.rstrip("/").split("/")[-2:])
        return self.index.get(tail)


def unresolved_medication_references(resources: Iterable[Any], draft_orders: Iterable[Any] = ()) -> list[str]:
    """The ``reference`` of each current MedicationStatement or MedicationRequest (and each draft order) that names
    a Medication not among ``resources``, in first-seen order: what the web layer may fetch from fhirServer.

    Resources may be projected or whole dicts. Matches as the builder resolves (the trailing ``Medication/<id>``;
    ``#id`` is a contained resource, never fetched). Statuses are filtered as the builder does, so a stopped drug
    costs no request.
    """
    have: set[str] = set()
    wanted: list[tuple[str, str]] = []  # (tail, reference)
    for value in resources:
        resource = projected(value)
        if resource is None:
            continue
        rtype = resource.resourceType
        if rtype == "Medication":
            if isinstance(resource.id, str):
                have.add(f"Medication/{resource.id}")
        elif rtype in ("MedicationStatement", "MedicationRequest") and listed_as_current(resource):
            wanted.extend(medication_reference(resource))
    for value in draft_orders:
        resource = projected(value)
        if resource is not None and resource.resourceType == "MedicationRequest":
            wanted.extend(medication_reference(resource))
    return list(dict.fromkeys(ref for tail, ref in wanted if tail not in have and not ref.startswith("#")))


def medication_reference(resource: Resource) -> list[tuple[str, str]]:
    """[(trailing "Medication/<id>", reference as sent)] when the drug is named by reference only, else []."""
    if present(resource.medicationCodeableConcept) is not None:
        return []
    ref = resource.medicationReference
    target = ref.get("reference") if isinstance(ref, dict) else None
    if not isinstance(target, str) or not target:
        return []
    return [("/".join(target.rstrip("/").split("/")[-2:]), target)]
