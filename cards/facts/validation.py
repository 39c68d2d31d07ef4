"""Validation with fhir.resources R4B of exactly the elements a rule reads, memoised by content.

Validation covers the elements a rule reads, each with its R4B datatype model (Quantity, CodeableConcept,
Observation.referenceRange/component, Reference): not meta, identifier, performer, note, narrative and the like,
which no rule reads. Why: fhir.resources (fhir_core) validates every nested element in Python; a whole ~1 kB
Observation costs 0.3-1 ms on a 2-core machine, its read elements a third of that, and a typical request reads ~40
resources (docs/performance.md). Status codes and dates are checked by this package's own readers (fixed code sets,
strict ISO parsing). A resource invalid in an element that is read is skipped and counted; so is one nested too
deeply to validate (RecursionError: fhir_core validates recursively in Python).
"""
from __future__ import annotations

from typing import Any

import orjson
from cards.facts.memo import BoundedMemo
from cards.facts.readers import present
from cards.projection import Resource, sent
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.observation import ObservationComponent, ObservationReferenceRange
from fhir.resources.R4B.quantity import Quantity
from pydantic import ValidationError

INVALID = (ValidationError, ValueError, TypeError, RecursionError)
# The Patient's elements that are read (validated with the primitive extensions that may carry their values):
# (element names, choice-type prefixes such as "value").
PATIENT_READS: tuple[tuple[str, ...], tuple[str, ...]] = (
    ("id", "gender", "birthDate", "modifierExtension", "implicitRules"), ())

# The elements the rules read repeat across patients: one laboratory system sends the same potassium code,
# reference range and interpretation flags to every chart, and reports values at a fixed precision (4.1 mmol/L,
# 138 mmol/L, ABI 0.87), so a few hundred distinct quantities cover an analyte. Their validated models are kept for
# the life of the process (VALIDATED). References (resource ids) and the Patient are specific to one chart:
# memoised within one request only. The benchmark rotates patients so that its figures include the misses
# (docs/performance.md).
SHARED_MODELS: frozenset[type[Any]] = frozenset({CodeableConcept, ObservationReferenceRange, Quantity,
                                                 ObservationComponent})
# Entries: ~6 kB each measured (a model and its key), so ~13 MB at most per worker process. 100 different typical
# benchmark patients fill ~800 (mostly quantities).
SHARED_MEMO_MAX = 2048
SHARED_KEY_MAX = 2048  # length of the key (JSON bytes): a larger element is not kept across requests


def _validate_content(key: tuple[type[Any], bytes]) -> Any:
    """The model of an element from its JSON text (the memo's key), which gives back an equal JSON value."""
    model, content = key
    return model.model_validate(orjson.loads(content))


VALIDATED: BoundedMemo[tuple[type[Any], bytes], Any] = BoundedMemo(
    _validate_content, max_entries=SHARED_MEMO_MAX, key_size=lambda key: len(key[1]), max_key_size=SHARED_KEY_MAX)


def content_key(value: Any) -> bytes | str:
    """The element's content as a memo key: its JSON (5-8x cheaper than repr), repr when it is no JSON value."""
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError: an integer over 64 bits, a non-string key (not from a JSON body)
        return repr(value)


class Validator:
    """Validates an element with its R4B model, once per distinct content.

    Keyed by the model and the element's JSON text, which is exact for JSON values (a different key order only
    costs a second validation). Validated models are only read, never changed, so they can be shared. Memoised
    for one request (one PatientFacts) by default; elements of a SHARED_MODELS type are kept across requests in
    VALIDATED. Failures are never memoised: an invalid element raises (one of INVALID) every time.
    """

    def __init__(self) -> None:
        self._memo: dict[tuple[type[Any], bytes | str], Any] = {}

    def __call__(self, model: type[Any], value: Any) -> Any:
        content = content_key(value)
        key = (model, content)
        try:
            return self._memo[key]
        except KeyError:
            pass
        if type(content) is bytes and model in SHARED_MODELS:
            validated = VALIDATED[(model, content)]
        else:
            validated = model.model_validate(value)
        self._memo[key] = validated
        return validated


class ReadObservation:
    """The elements of an Observation that the rules read, each validated with its R4B datatype model."""

    __slots__ = ("valueQuantity", "referenceRange", "interpretation", "component")

    def __init__(self, value: Quantity | None, ranges: list[ObservationReferenceRange],
                 interpretation: list[CodeableConcept], component: list[ObservationComponent]) -> None:
        self.valueQuantity = value
        self.referenceRange = ranges
        self.interpretation = interpretation
        self.component = component

    @classmethod
    def of(cls, resource: Resource, *, components: bool, validate: Validator) -> ReadObservation:
        """Raises one of INVALID when a read element is malformed."""
        validate(CodeableConcept, present(resource.code))
        value = present(resource.valueQuantity)
        return cls(
            validate(Quantity, value) if value is not None else None,
            [validate(ObservationReferenceRange, r) for r in _list(resource.referenceRange)],
            [validate(CodeableConcept, i) for i in _list(resource.interpretation)],
            [validate(ObservationComponent, c) for c in _list(resource.component)] if components else [],
        )


def _list(value: Any) -> list[Any]:
    """A FHIR array element (absent or null: empty); anything but a list is a schema error."""
    value = present(value)
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError("expected an array")
    return value


def read_elements(resource: Resource, reads: tuple[tuple[str, ...], tuple[str, ...]]) -> dict[str, Any]:
    """The part of `resource` that is validated: `reads` = (element names, choice-type prefixes such as "value").

    Primitive extensions (``_birthDate``) follow their element, so a value carried only as an extension stays valid.
    """
    names, prefixes = reads
    out = {"resourceType": present(resource.resourceType)}
    for key, value in sent(resource).items():
        name = key[1:] if key[:1] == "_" else key
        if name in names or name.startswith(prefixes):
            out[key] = value
    return out
