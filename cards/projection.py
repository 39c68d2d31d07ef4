"""The part of a FHIR resource this package reads, decoded straight from JSON: the projection.

A typical prefetch holds ~500 Observations, and no rule reads their ``meta``, ``identifier``, ``category``,
``encounter``, ``performer``, narrative or notes. Decoding the request body into ``Resource`` structs (msgspec)
skips those elements in C instead of building dicts for them: 0.5-0.6x the time of ``orjson.loads`` for the
typical and heavy bodies (docs/performance.md, sixth round).

What this means for readers:

* ``Resource`` has one field per top-level element that a reader in this package uses, for any resource type
  (the union over Patient, Observation, Medication, MedicationStatement, MedicationRequest, Condition, Encounter
  and Bundle). Each is decoded as plain JSON values (dicts, lists, strings, numbers), exactly as ``orjson.loads``
  would give them; an element that was absent is ``UNSET`` (falsy), one sent as ``null`` is ``None``.
* Every other element is not there. A reader that starts using an element must add it here:
  tests/cards/test_projection.py fails for a top-level element read in cards/ that is missing, and the
  golden cases are checked through both this projection and whole ``orjson.loads`` dicts.
* This is the one shape in which cards.facts reads a resource, whichever way it arrived: the builder
  (cards/facts/builder.py) takes each resource as given and projects one that was decoded whole (a dict: the FHIR
  fallback, a body the projection could not decode, draft orders, a contained Medication) with ``projected``.
  Its readers use attributes; ``get`` and ``as_dict`` serve the web layer, which still hands over resources other
  than prefetched Observations as dicts (projecting such a dict costs ~1 us: they are few).
"""
from __future__ import annotations

from typing import Any, Union

import msgspec
from msgspec import UNSET, UnsetType

__all__ = ["UNSET", "Entry", "Resource", "UnsetType", "as_dict", "of_dict", "projected", "sent"]


class Entry(msgspec.Struct, gc=False):
    """A Bundle entry: only its resource is read (fullUrl, search and request are not)."""

    resource: Union[Resource, None, UnsetType] = UNSET


class Resource(msgspec.Struct, gc=False):
    """The elements read of any resource (see the module docstring); all others are skipped when decoding.

    ``gc=False``: a decoded struct holds JSON values only, never a reference cycle, so the cyclic collector need
    not track it (the same holds for ``of_dict`` results: their values come from a decoded JSON document).
    """

    resourceType: Any = UNSET
    id: Any = UNSET
    # Patient (cards.facts.validation.PATIENT_READS: validated with the primitive extensions that may carry their
    # values)
    id_ext: Any = msgspec.field(default=UNSET, name="_id")
    implicitRules: Any = UNSET
    implicitRules_ext: Any = msgspec.field(default=UNSET, name="_implicitRules")
    gender: Any = UNSET
    gender_ext: Any = msgspec.field(default=UNSET, name="_gender")
    birthDate: Any = UNSET
    birthDate_ext: Any = msgspec.field(default=UNSET, name="_birthDate")
    # Any resource: unknown modifier extensions make it unusable; whose data it is
    modifierExtension: Any = UNSET
    modifierExtension_ext: Any = msgspec.field(default=UNSET, name="_modifierExtension")  # not FHIR, but validated
    subject: Any = UNSET
    patient: Any = UNSET
    # Observation (status, code, date, value, range, interpretation; ABI components and side)
    status: Any = UNSET
    code: Any = UNSET
    effectiveDateTime: Any = UNSET
    effectivePeriod: Any = UNSET
    effectiveInstant: Any = UNSET
    issued: Any = UNSET
    valueQuantity: Any = UNSET
    valueString: Any = UNSET  # a censored value sent as text ("<2.5"), or a comment where a number belongs
    valueCodeableConcept: Any = UNSET  # read only to say what an unreadable result sent
    dataAbsentReason: Any = UNSET  # likewise
    referenceRange: Any = UNSET
    interpretation: Any = UNSET
    component: Any = UNSET
    bodySite: Any = UNSET
    # Medication, MedicationStatement, MedicationRequest
    ingredient: Any = UNSET
    intent: Any = UNSET
    medicationCodeableConcept: Any = UNSET
    medicationReference: Any = UNSET
    contained: Any = UNSET
    authoredOn: Any = UNSET
    dateAsserted: Any = UNSET
    courseOfTherapyType: Any = UNSET  # an acute (short) course ends with its supply
    dispenseRequest: Any = UNSET  # its validity period and expected supply
    dosageInstruction: Any = UNSET  # MedicationRequest: dose and frequency (statin dose caps)
    dosage: Any = UNSET  # MedicationStatement: likewise
    # Encounter (its reasons: the leg-symptom context, cards/relevance.py)
    reasonCode: Any = UNSET
    # Condition (abatement[x]: any of them makes a Condition without clinicalStatus read as resolved)
    clinicalStatus: Any = UNSET
    verificationStatus: Any = UNSET
    onsetDateTime: Any = UNSET
    recordedDate: Any = UNSET
    abatementDateTime: Any = UNSET
    abatementAge: Any = UNSET
    abatementPeriod: Any = UNSET
    abatementRange: Any = UNSET
    abatementString: Any = UNSET
    # Bundle (cds_service flattens it; a searchset's next link is followed)
    type: Any = UNSET
    total: Any = UNSET
    link: Any = UNSET
    entry: Union[list[Entry], UnsetType] = UNSET

    def get(self, key: str, default: Any = None) -> Any:
        """``dict.get`` over the projected elements (JSON names), for readers shared with dict resources."""
        attr = _ATTRIBUTE.get(key)
        if attr is None:
            return default
        value = getattr(self, attr)
        return default if value is UNSET else value


_ATTRIBUTE = {f.encode_name: f.name for f in msgspec.structs.fields(Resource)}
ELEMENTS = frozenset(_ATTRIBUTE)
_KEYS: dict[type[msgspec.Struct], tuple[str, ...]] = {}  # struct type -> JSON names in field order


def sent(struct: msgspec.Struct) -> dict[str, Any]:
    """The members of a decoded struct that were sent (not UNSET), by their JSON names."""
    keys = _KEYS.get(type(struct))
    if keys is None:
        keys = _KEYS[type(struct)] = tuple(f.encode_name for f in msgspec.structs.fields(type(struct)))
    return {key: value for key, value in zip(keys, msgspec.structs.astuple(struct)) if value is not UNSET}


def as_dict(resource: Resource) -> dict[str, Any]:
    """The projected elements that were sent, as the dict ``orjson.loads`` would have given for them.

    A Bundle's entries become ``{"resource": <its Resource>}`` (``{}`` for an entry without one); ``entry`` is
    dropped from any other resource type, where no reader looks for it.
    """
    out = sent(resource)
    entries = out.pop("entry", None)
    if entries is not None and resource.resourceType == "Bundle":
        out["entry"] = [{} if entry.resource is UNSET else {"resource": entry.resource} for entry in entries]
    return out


def of_dict(resource: dict[str, Any]) -> Resource:
    """Project a resource that was decoded as a whole (values are shared, not copied)."""
    try:
        return msgspec.convert(resource, Resource)
    except msgspec.ValidationError:  # a Bundle entry that is not as described, or a key that is not a string (not
        # from JSON): the other elements one by one, and of a Bundle the entries that are objects
        members = {_ATTRIBUTE[k]: v for k, v in resource.items() if k in _ATTRIBUTE and k != "entry"}
        entries = resource.get("entry")
        if isinstance(entries, list):
            members["entry"] = [_entry(entry) for entry in entries if isinstance(entry, dict)]
        return Resource(**members)


def _entry(entry: dict[str, Any]) -> Entry:
    """A Bundle entry decoded whole; a resource that is not an object is read as null (it is no resource)."""
    inner = entry.get("resource", UNSET)
    if isinstance(inner, dict):
        inner = of_dict(inner)
    elif type(inner) is not Resource and inner is not UNSET:
        inner = None
    return Entry(resource=inner)


def projected(value: Any) -> Resource | None:
    """Any resource as the projection: a ``Resource`` as it is, a dict projected, anything else None."""
    if type(value) is Resource:
        return value
    if isinstance(value, dict):
        return of_dict(value)
    return None
