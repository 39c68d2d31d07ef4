"""Decode JSON that carries FHIR resources with each resource as the cards projection (cards/projection.py).

* ``hook_body(raw, max_depth)`` (hook calls) gives what ``limits.parse_json_body`` (``orjson.loads`` and the
  depth check) gives, except that prefetched resources are projected: the Observations inside prefetch Bundles
  as ``cards.projection.Resource`` structs, every other resource as a dict of its projected elements.
* ``fhir_resource(raw)`` (responses of the client's fhirServer, cds_service/fhir/gather.py) does the same for one
  resource or Bundle, or answers None when the projection does not describe the body.

Elements no reader uses are skipped in C while decoding (docs/performance.md, sixth round): a hook call then costs
less than twice the plain parse of its body.

The projection is the fast path for what EHRs and FHIR servers send. Anything it does not describe - an envelope
member other than the CDS Hooks ones, a prefetch value or Bundle entry that is not an object, an ``entry`` that
is not an array, nesting deeper than Python's recursion limit, a body that is not JSON - is decoded whole with
orjson instead, so that odd input meets exactly the checks, notes and error messages it met before. Two
differences remain: a number beyond the range of a double in an element no reader uses is skipped (``orjson``
refuses the body), and an integer over 64 bits in a projected element stays an integer (``orjson`` makes it a
float). Invalid UTF-8 anywhere is refused as before (checked first: msgspec does not look inside the strings it
skips).
"""
from __future__ import annotations

import logging
from typing import Any, Union

import msgspec
from cards.projection import UNSET, Resource, UnsetType, as_dict, sent

from cds_service import limits
log = logging.getLogger(__name__)


class _Envelope(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """The members of a CDS Hooks 2.0 request; any other member sends the body to the whole-dict path."""

    hook: Any = UNSET
    hookInstance: Any = UNSET
    fhirServer: Any = UNSET
    fhirAuthorization: Any = UNSET
    context: Any = UNSET
    prefetch: Union[dict[str, Union[Resource, None]], None, UnsetType] = UNSET
    extension: Any = UNSET


_DECODER = msgspec.json.Decoder(_Envelope)
_RESOURCE_DECODER = msgspec.json.Decoder(Resource)
_NOT_PROJECTED = (msgspec.DecodeError, msgspec.ValidationError, RecursionError, UnicodeDecodeError)


def _decode(decoder: msgspec.json.Decoder[Any], raw: bytes) -> Any:
    """Raises one of _NOT_PROJECTED. UTF-8 is checked first: msgspec does not look inside the strings it skips."""
    if not raw.isascii():
        raw.decode("utf-8")
    return decoder.decode(raw)


def hook_body(raw: bytes, max_depth: int) -> Any:
    """The body as a dict (see the module docstring); InvalidJson or InputLimitExceeded as parse_json_body."""
    try:
        envelope = _decode(_DECODER, raw)
    except _NOT_PROJECTED as err:
        # Logged by kind only (msgspec's message may quote the sender's member names): a sender whose every call
        # lands here pays ~1.6x for the parse, and this is how an integration team would find out.
        log.info("hook body decoded whole", extra={"reason": type(err).__name__})
        return limits.parse_json_body(raw, max_depth)
    body = sent(envelope)
    prefetch = body.get("prefetch")
    if prefetch:
        body["prefetch"] = {key: None if value is None else _resource(value) for key, value in prefetch.items()}
    limits.check_envelope_depth(body, max_depth)
    return body


def fhir_resource(raw: bytes) -> dict[str, Any] | None:
    """A fhirServer response as a dict, its resources projected; None when the projection does not describe it
    (the caller then parses it whole). A resource's insides are not depth-checked, as in a prefetch."""
    try:
        resource = _decode(_RESOURCE_DECODER, raw)
    except _NOT_PROJECTED:
        return None
    return _resource(resource)


def _resource(resource: Resource) -> dict[str, Any]:
    """A prefetch value or a Bundle's entry as a dict: a Bundle with its entries, any other resource projected.

    Observations inside Bundles stay structs: the builder reads them as the projection (cards/facts/).
    """
    out = as_dict(resource)
    for entry in out.get("entry", ()):
        inner = entry.get("resource")
        if inner is not None and inner.resourceType != "Observation":
            entry["resource"] = _resource(inner)
    return out
