"""marshmallow schemas for the CDS Hooks 2.0 envelopes: hook request, card response, discovery, feedback.

FHIR content inside the envelopes (prefetch, draftOrders, suggestion resources) is not validated here: the cards
package validates, with fhir.resources, only what a rule reads. Unknown fields of a hook request are kept
(``unknown = INCLUDE``): the spec reserves ``extension`` and lets clients add fields. Feedback is the exception: a
member the spec does not define is refused by name (``unknown = RAISE``, ``extension`` allowed), since a misspelt
``overrideReason`` dropped silently loses the clinician's reason. Responses never carry null or empty values (only
``cards: []`` may be empty): ``_prune`` drops them after dumping.
"""
from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

from cards.model import Card, Link
from cards.registry import Service
from cards.topics import Topic
from marshmallow import (INCLUDE, RAISE, Schema, ValidationError, fields, post_dump, validate, validates,
                         validates_schema)

from cds_service.errors import BadHookRequest

# Hooks whose context carries the patient (CDS Hooks hook library: patient-view 1.0, order-select/-sign 1.0).
PATIENT_HOOKS = frozenset({"patient-view", "order-select", "order-sign"})
ORDER_HOOKS = frozenset({"order-select", "order-sign"})


# ---------------------------------------------------------------------------------------------- request


class _Base(Schema):
    class Meta:
        unknown = INCLUDE


class FhirAuthorizationSchema(_Base):
    """fhirAuthorization: access_token and token_type are needed to call the server; expires_in, scope and
    subject are REQUIRED by the spec but not needed here, so they are checked when present and not demanded
    (real EHRs omit some; rejecting the call would only deny the clinician the cards)."""

    access_token = fields.Str(required=True, validate=validate.Length(min=1))
    token_type = fields.Str(required=True)
    expires_in = fields.Int(strict=True, validate=validate.Range(min=0))
    scope = fields.Str()
    subject = fields.Str()
    patient = fields.Str()

    @validates("token_type")
    def _bearer(self, value: str, **_: Any) -> None:
        if value.lower() != "bearer":
            raise ValidationError("token_type must be 'Bearer'.")


class HookRequestSchema(_Base):
    hook = fields.Str(required=True, validate=validate.Length(min=1))
    hookInstance = fields.Str(required=True)
    context = fields.Dict(required=True, keys=fields.Str())
    # 2.0 forbids nulls, but clients send `"fhirAuthorization": null` for open servers: read null as absent.
    fhirServer = fields.Url(require_tld=False, schemes={"http", "https"}, allow_none=True)
    fhirAuthorization = fields.Nested(FhirAuthorizationSchema, allow_none=True)
    prefetch = fields.Dict(keys=fields.Str(), values=fields.Raw(allow_none=True), allow_none=True)
    extension = fields.Dict(allow_none=True)

    @validates("hookInstance")
    def _uuid(self, value: str, **_: Any) -> None:
        try:
            uuid.UUID(value)
        except ValueError:
            raise ValidationError("hookInstance must be a UUID.") from None

    @validates("fhirServer")
    def _base_url(self, value: str | None, **_: Any) -> None:
        # A FHIR base URL has no query or fragment (FHIR R4 http.html, "Service Base URL"); the service appends
        # paths to it, and a `?` or `#` - even an empty one - would swallow them (and pass an allowlist prefix test).
        if value is not None and ("?" in value or "#" in value):
            raise ValidationError("must be a FHIR base URL, without a query ('?') or fragment ('#').")

    @validates_schema
    def _conditional(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("fhirAuthorization") is not None and data.get("fhirServer") is None:
            raise ValidationError("fhirServer is required when fhirAuthorization is given.", "fhirServer")
        context = data.get("context") or {}
        if data.get("hook") in PATIENT_HOOKS:
            pid = context.get("patientId")
            if not isinstance(pid, str) or not pid.strip():
                raise ValidationError(f"context.patientId (a non-empty string) is required for {data['hook']}.",
                                      "context")
            eid = context.get("encounterId")
            if eid is not None and (not isinstance(eid, str) or not eid.strip()):
                raise ValidationError("context.encounterId, when given, must be a non-empty string.", "context")
        if data.get("hook") in ORDER_HOOKS:
            _order_context(data["hook"], context)
        for key, value in (data.get("prefetch") or {}).items():
            if value is not None and not isinstance(value, dict):
                raise ValidationError(f"prefetch.{key} must be a FHIR resource (object) or null.", "prefetch")


def _order_context(hook: str, context: Mapping[str, Any]) -> None:
    """The context the order hooks require (CDS Hooks hook library, order-select 1.0 and order-sign 1.0):
    ``draftOrders``, a Bundle, for both, and ``selections``, an array of strings, for order-select.

    Only the envelope is checked: the drafts inside are read leniently (draft_orders), since the Sandbox sends
    drafts without ids or with invalid elements. A call without these is a client bug, answered 400 naming the
    field, rather than ``{"cards": []}``, which would read as "nothing to say about these orders".
    """
    drafts = context.get("draftOrders")
    if drafts is None:
        raise ValidationError(f"context.draftOrders (a FHIR Bundle of the draft orders) is required for {hook}.",
                              "context")
    if not isinstance(drafts, dict) or drafts.get("resourceType") != "Bundle":
        raise ValidationError("context.draftOrders must be a FHIR Bundle (resourceType 'Bundle').", "context")
    if drafts.get("entry") is not None and not isinstance(drafts["entry"], list):
        raise ValidationError("context.draftOrders.entry must be an array.", "context")
    if hook == "order-select":
        selections = context.get("selections")
        if selections is None:
            raise ValidationError("context.selections (the ids of the selected orders) is required for "
                                  "order-select.", "context")
        if not isinstance(selections, list) or not all(isinstance(s, str) for s in selections):
            raise ValidationError("context.selections must be an array of strings.", "context")


# One instance, reused: marshmallow schemas are safe to share across threads for load (no per-call state), and
# building one costs ~0.2 ms (field copies), a tenth of a small request's budget.
_HOOK_REQUEST = HookRequestSchema()


@dataclass(frozen=True)
class HookCall:
    """A validated hook request, as the data layer needs it. The access token is kept out of repr."""

    hook: str
    hook_instance: str
    patient_id: str
    context: dict[str, Any]
    prefetch: dict[str, Any] | None
    fhir_server: str | None = None
    access_token: str | None = field(default=None, repr=False)
    draft_orders: tuple[dict[str, Any], ...] = ()

    @property
    def encounter_id(self) -> str | None:
        """context.encounterId (validated a non-empty string when present)."""
        eid = self.context.get("encounterId")
        return eid if isinstance(eid, str) else None


def _messages(err: ValidationError) -> str:
    def walk(prefix: str, value: Any) -> Iterable[str]:
        if isinstance(value, dict):
            for key, sub in value.items():
                name = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
                yield from walk(name, sub)
        elif isinstance(value, list):
            for item in value:
                yield from walk(prefix, item)
        else:
            yield f"{prefix}: {value}" if prefix else str(value)

    return "; ".join(walk("", err.messages))


def draft_orders(context: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
    """context.draftOrders (a Bundle) -> its resources, leniently: the Sandbox sends odd drafts."""
    bundle = context.get("draftOrders")
    if not isinstance(bundle, dict):
        return ()
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        return ()
    return tuple(e["resource"] for e in entries if isinstance(e, dict) and isinstance(e.get("resource"), dict))


def load_hook_request(body: Any, service: Service) -> HookCall:
    """Validate a hook request body for `service`; BadHookRequest (400) says what is wrong."""
    if not isinstance(body, dict):
        raise BadHookRequest("The request body must be a JSON object.")
    if isinstance(body.get("hook"), str) and body["hook"] and body["hook"] != service.hook:
        # Said first: the context another hook requires (draftOrders, ...) is not what is wrong with this call.
        raise BadHookRequest(f"Service {service.id!r} answers the {service.hook!r} hook, not {body['hook']!r}.")
    try:
        data = _HOOK_REQUEST.load(body)
    except ValidationError as err:
        raise BadHookRequest(f"Invalid hook request - {_messages(err)}") from err
    if data["hook"] != service.hook:
        raise BadHookRequest(f"Service {service.id!r} answers the {service.hook!r} hook, not {data['hook']!r}.")
    context = data["context"]
    auth = data.get("fhirAuthorization")
    return HookCall(
        hook=data["hook"], hook_instance=data["hookInstance"], patient_id=str(context.get("patientId", "")),
        context=context, prefetch=data.get("prefetch"), fhir_server=data.get("fhirServer"),
        access_token=auth["access_token"] if auth else None,
        draft_orders=draft_orders(context) if data["hook"] in ORDER_HOOKS else (),
    )


# ---------------------------------------------------------------------------------------------- response


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _prune(value: Any) -> Any:
    """Drop None, '' , [] and {} recursively (CDS Hooks 2.0 'Use of JSON')."""
    if isinstance(value, dict):
        out = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if not _empty(v)}
    if isinstance(value, list):
        return [v for v in map(_prune, value) if not _empty(v)]
    return value


class _Pruned(Schema):
    @post_dump
    def _drop_empty(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return _prune(data)  # type: ignore[no-any-return]


class CodingSchema(_Pruned):
    system = fields.Str()
    code = fields.Str()
    display = fields.Str()


class SourceSchema(_Pruned):
    label = fields.Str()
    url = fields.Str()
    topic = fields.Nested(CodingSchema)


class LinkSchema(_Pruned):
    label = fields.Str()
    url = fields.Str()
    type = fields.Str()


class ActionSchema(_Pruned):
    type = fields.Function(lambda a: a.type.value)
    description = fields.Str()
    resource = fields.Raw()
    resourceId = fields.Str(attribute="resource_id")


class SuggestionSchema(_Pruned):
    label = fields.Str()
    uuid = fields.Str()
    isRecommended = fields.Bool(attribute="is_recommended")
    actions = fields.List(fields.Nested(ActionSchema))


class CardSchema(_Pruned):
    uuid = fields.Str()
    summary = fields.Str()
    indicator = fields.Function(lambda c: c["indicator"].value)
    detail = fields.Str()
    source = fields.Nested(SourceSchema)
    suggestions = fields.List(fields.Nested(SuggestionSchema))
    selectionBehavior = fields.Function(lambda c: c["selection_behavior"].value if c["selection_behavior"] else None)
    overrideReasons = fields.List(fields.Nested(CodingSchema), attribute="override_reasons")
    links = fields.List(fields.Nested(LinkSchema))


_CARD = CardSchema()


def _kept(**items: Any) -> dict[str, Any]:
    """The items whose value is not empty (flat: what _prune does to an object whose values are scalars)."""
    return {k: v for k, v in items.items() if not _empty(v)}


def _coding(coding: Any) -> dict[str, Any] | None:
    return None if coding is None else _kept(system=coding.system, code=coding.code, display=coding.display) or None


def card_json(card: Card, card_uuid: str, suggestions: list[dict[str, Any]],
              extra_links: tuple[Link, ...] = ()) -> dict[str, Any]:
    """`card` exactly as CardSchema dumps it (same keys, same pruning), built directly on the hot path; `extra_links`
    follow the card's own (the web layer's absolute links, :func:`topic_links`).

    CardSchema stays the contract: tests/test_schemas_fast_dump.py asserts equality with it for every card the rules
    produce on the golden requests and the benchmark patients. Why: marshmallow's dump of four cards took ~1 ms, a
    third of the 3 ms a small request may take, and a generic recursive prune another 0.3 ms
    (docs/performance.md). Every level is pruned where it is built; only a suggested FHIR resource, whose shape
    the card does not know, goes through the generic _prune.
    """
    source = card.source
    out = _kept(uuid=card_uuid, summary=card.summary, indicator=card.indicator.value, detail=card.detail)
    src = _kept(label=source.label, url=source.url, topic=_coding(source.topic))
    if src:
        out["source"] = src
    built = []
    for s in suggestions:
        actions = [a for a in (_kept(type=a.type.value, description=a.description, resource=_prune(a.resource),
                                     resourceId=a.resource_id) for a in s["actions"]) if a]
        suggestion = _kept(label=s["label"], uuid=s["uuid"], isRecommended=s["is_recommended"], actions=actions)
        if suggestion:
            built.append(suggestion)
    if built:
        out["suggestions"] = built
    if card.selection_behavior:
        out["selectionBehavior"] = card.selection_behavior.value
    reasons = [c for c in map(_coding, card.override_reasons) if c]
    if reasons:
        out["overrideReasons"] = reasons
    links = [x for x in (_kept(label=link.label, url=link.url, type=link.type)
                         for link in card.links + extra_links) if x]
    if links:
        out["links"] = links
    return out


def schema_card_json(card: Card, card_uuid: str, suggestions: list[dict[str, Any]],
                     extra_links: tuple[Link, ...] = ()) -> dict[str, Any]:
    """The same card through CardSchema: the contract card_json is tested against."""
    return _CARD.dump({  # type: ignore[no-any-return]
        "uuid": card_uuid, "summary": card.summary, "indicator": card.indicator, "detail": card.detail,
        "source": card.source, "suggestions": suggestions, "selection_behavior": card.selection_behavior,
        "override_reasons": list(card.override_reasons), "links": [*card.links, *extra_links],
    })


@dataclass(frozen=True)
class IssuedCard:
    """What the store records of a card shown: ids only, no patient values."""

    uuid: str
    topic: str | None
    indicator: str
    rule_ids: tuple[str, ...]
    suggestion_uuids: tuple[str, ...]


# The cards whose topic the lab-trend SMART app plots (K, Mg, Na, Ca, CK, ABI over time, diuretics and statins marked)
# carry a CDS Hooks 2.0 Link of type "smart" to its launch URL (pages/trend.py). The URL is absolute, so it is the web
# layer's to add (CDS_PUBLIC_BASE_URL or the request's host), not the pure cards package's.
TREND_TOPICS = (Topic.ELECTROLYTE_IMBALANCE.value, Topic.DIURETIC_EFFECT.value, Topic.STATIN_MUSCLE_SYMPTOMS.value)
TREND_LINK_LABEL = "Lab trend (SMART app)"
#: app.extensions key: the SMART app's launch path, present only while the app is served (pages/trend.py sets it).
TREND_LAUNCH_EXTENSION = "cds_trend_launch_path"


@functools.lru_cache(maxsize=8)  # one launch URL per deployment (a few when it is derived from the Host header)
@functools.lru_cache(maxsize=16)  # one per base URL the service is reached by: built once, not per hook call
def topic_links(launch_url: str) -> Mapping[str, tuple[Link, ...]]:
    """topic -> the links its cards gain: the SMART app link for TREND_TOPICS."""
    link = (Link(label=TREND_LINK_LABEL, url=launch_url, type="smart"),)
    return MappingProxyType({topic: link for topic in TREND_TOPICS})


def dump_cards(cards: Iterable[Card], new_uuid: Callable[[], str],
               links: Mapping[str, tuple[Link, ...]] | None = None) -> tuple[dict[str, Any], list[IssuedCard]]:
    """Cards -> the CDS Hooks response body, assigning uuids to cards and suggestions here (rules stay pure);
    `links` (topic -> links, :func:`topic_links`) adds the web layer's links to the cards of those topics."""
    out: list[dict[str, Any]] = []
    issued: list[IssuedCard] = []
    for card in cards:
        card_uuid = new_uuid()
        suggestions: list[dict[str, Any]] = [{"label": s.label, "uuid": new_uuid(), "is_recommended": s.is_recommended,
                        "actions": list(s.actions)} for s in card.suggestions]
        out.append(card_json(card, card_uuid, suggestions,
                             links.get(card.topic, ()) if links and card.topic else ()))
        issued.append(IssuedCard(card_uuid, card.topic, card.indicator.value, card.rule_ids,
                                 tuple(str(s["uuid"]) for s in suggestions)))
    return {"cards": out}, issued


# ---------------------------------------------------------------------------------------------- discovery


class DiscoveryServiceSchema(_Pruned):
    hook = fields.Str()
    id = fields.Str()
    title = fields.Str()
    description = fields.Str()
    prefetch = fields.Dict(keys=fields.Str(), values=fields.Str())
    usageRequirements = fields.Str(attribute="usage_requirements")


def dump_discovery(services: Iterable[Service], usage_requirements: str | None = None) -> dict[str, Any]:
    schema = DiscoveryServiceSchema()
    return {"services": [schema.dump({"hook": s.hook, "id": s.id, "title": s.title, "description": s.description,
                                      "prefetch": s.prefetch, "usage_requirements": usage_requirements})
                         for s in services]}


# ---------------------------------------------------------------------------------------------- feedback


# Column lengths of the feedback table (store.FeedbackRow; tests/test_feedback.py keeps them equal):
# validated here so that a value the database cannot take is a 400 naming the field, on SQLite (which would store
# it) and PostgreSQL (which would refuse it) alike.
CARD_MAX = 200
OVERRIDE_CODE_MAX = 100
OVERRIDE_SYSTEM_MAX = 300


def _no_nul(value: str) -> None:
    """PostgreSQL text cannot hold U+0000 (SQLite can): refused for every database, so both behave the same."""
    if "\x00" in value:
        raise ValidationError("must not contain the NUL character (U+0000).")


def _text(*limits: Any, **kwargs: Any) -> fields.Str:
    return fields.Str(validate=[*limits, _no_nul], **kwargs)


class _Strict(Schema):
    """Feedback objects: a member the spec does not define is refused by name (a misspelt ``overriddeReason``
    would otherwise be dropped and the reason lost); ``extension`` (CDS Hooks 2.0 "Extensions") is allowed."""

    class Meta:
        unknown = RAISE


class OverrideCodingSchema(_Strict):
    system = _text(validate.Length(min=1, max=OVERRIDE_SYSTEM_MAX), required=True)
    code = _text(validate.Length(min=1, max=OVERRIDE_CODE_MAX), required=True)
    display = _text()


class OverrideReasonSchema(_Strict):
    reason = fields.Nested(OverrideCodingSchema)
    userComment = _text()
    extension = fields.Dict()


class AcceptedSuggestionSchema(_Strict):
    id = _text(validate.Length(min=1), required=True)


class FeedbackItemSchema(_Strict):
    card = _text(validate.Length(min=1, max=CARD_MAX), required=True)
    outcome = fields.Str(required=True, validate=validate.OneOf(["accepted", "overridden"]))
    acceptedSuggestions = fields.List(fields.Nested(AcceptedSuggestionSchema), validate=validate.Length(min=1))
    overrideReason = fields.Nested(OverrideReasonSchema)
    outcomeTimestamp = fields.AwareDateTime(required=True, default_timezone=None)
    extension = fields.Dict()

    @validates_schema
    def _consistent(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("outcome") == "accepted" and "overrideReason" in data:
            raise ValidationError("overrideReason is only valid with outcome 'overridden'.", "overrideReason")
        if data.get("outcome") == "accepted" and "acceptedSuggestions" not in data:
            # CDS Hooks 2.0 "Feedback": acceptedSuggestions is required when the outcome is accepted.
            raise ValidationError("acceptedSuggestions is required with outcome 'accepted'.", "acceptedSuggestions")
        if data.get("outcome") == "overridden" and "acceptedSuggestions" in data:
            raise ValidationError("acceptedSuggestions is only valid with outcome 'accepted'.",
                                  "acceptedSuggestions")


class FeedbackSchema(_Strict):
    feedback = fields.List(fields.Nested(FeedbackItemSchema), required=True,
                           validate=validate.Length(min=1, max=1000))
    extension = fields.Dict()


def load_feedback(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        raise BadHookRequest("The feedback body must be a JSON object with a 'feedback' array.")
    try:
        return list(FeedbackSchema().load(body)["feedback"])
    except ValidationError as err:
        raise BadHookRequest(f"Invalid feedback - {_messages(err)}") from err
