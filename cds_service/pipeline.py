"""One hook evaluation: request body -> validated call -> the patient's data -> facts -> rules -> response body.

The one pipeline of the service: the hook route (api/hooks.py), ``leg-pain-cds evaluate`` (cli.py) and the start-up
warm-up all call :func:`evaluate`, with one set of defaults (:meth:`Settings.defaults`, from config.SETTINGS).
What differs between them is passed in: the clock, the FHIR server policy, whether the request's fhirServer may be
used at all, and the card uuids. Recording what was issued is the caller's business (the route writes it with the
call's audit row; the CLI and the warm-up record nothing).

Memory: a multi-megabyte prefetch becomes a tree of small objects. The body is read inside :func:`_gather` and
dropped when it returns, the resources are handed to the facts builder one at a time (``Gathered.drain``), and the
facts' caches are released when :func:`_facts` closes, so the request's data is freed by reference counting while it
is still in the CPU cache, with no cycle left for the garbage collector (runtime/gc_pause.py pauses it during
requests; docs/performance.md).
"""
from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cards import engine, relevance
from cards.facts import PatientFacts, build_facts
from cards.model import Card, Link
from cards.registry import Service

from cds_service import config
from cds_service import limits, schemas
from cds_service.fhir import gather
from cds_service.fhir.gather import FetchSettings, Gathered, ServerPolicy


SETTINGS_EXTENSION = "cds_pipeline_settings"  # app.extensions key: the app's Settings, built by create_app


@dataclass(frozen=True)
class Settings:
    """What bounds one evaluation: FHIR fetching, prefetch size, and the site's possible-cause policy."""

    fetch: FetchSettings
    max_bundle_entries: int
    max_prefetch_resources: int
    possible_causes: str

    @classmethod
    def from_config(cls, conf: Mapping[str, Any]) -> Settings:
        """From a Flask app's config (CDS_* settings already validated)."""
        return cls(fetch=FetchSettings.from_config(conf), max_bundle_entries=int(conf["MAX_BUNDLE_ENTRIES"]),
                   max_prefetch_resources=int(conf["MAX_PREFETCH_RESOURCES"]),
                   possible_causes=str(conf["POSSIBLE_CAUSE_CARDS"]))

    @classmethod
    def defaults(cls) -> Settings:
        """The service's defaults (config.SETTINGS): what a hook call gets when nothing is configured."""
        return cls.from_config(config.DEFAULTS)


def new_uuid4() -> str:
    return str(uuid.uuid4())


def refuse_all_servers(_url: str) -> bool:
    return False


@dataclass(frozen=True)
class Evaluation:
    """The answer to one hook call and what the caller may record or log about it (ids, never patient data)."""

    service: Service
    hook_instance: str
    body: dict[str, Any]  # the CDS Hooks response: {"cards": [...]}
    issued: list[schemas.IssuedCard]  # the cards in `body`, with their uuids and rule ids
    withheld: list[Card]  # possible-cause cards held back for want of leg-symptom context (never lost silently)
    context_source: str | None  # what gave the leg-symptom context, if anything
    fetched: dict[str, int]  # key -> FHIR requests made for it (empty when the prefetch was complete)
    skipped: dict[str, int]  # reason -> resources or entries left out


def evaluate(read_body: Callable[[], Any], service: Service, *, now: datetime, settings: Settings,
             allow_server: ServerPolicy = refuse_all_servers, use_fhir_server: bool = True,
             possible_causes: str | None = None, new_uuid: Callable[[], str] = new_uuid4,
             on_hook_instance: Callable[[Any], None] | None = None,
             card_links: Mapping[str, tuple[Link, ...]] | None = None) -> Evaluation:
    """Evaluate the hook request that `read_body` returns (decoded JSON) for `service`.

    Raises the CdsError family: BadHookRequest (400) for an invalid request, InputLimitExceeded (413) for a prefetch
    over the limits, DataUnavailable (412) when required data can be neither prefetched nor fetched.
    `allow_server` decides which fhirServer URLs may be contacted (default: none); ``use_fhir_server=False`` leaves
    the request's fhirServer and token out altogether (the CLI without --fetch). `possible_causes` overrides the
    site's policy for this call (a client's own setting); `on_hook_instance` is told the request's hookInstance as
    soon as the body is read, so that a rejected call is still audited under it. `card_links` (topic -> links,
    schemas.topic_links) adds absolute links the web layer knows (the SMART app's launch URL) to those topics' cards.
    """
    call, data = _gather(read_body, service, now=now, settings=settings, allow_server=allow_server,
                         use_fhir_server=use_fhir_server, on_hook_instance=on_hook_instance)
    with _facts(call, data, now) as facts:
        decision = engine.decide(service, facts, possible_causes or settings.possible_causes)
    body, issued = schemas.dump_cards(decision.shown, new_uuid=new_uuid, links=card_links)
    return Evaluation(service=service, hook_instance=call.hook_instance, body=body, issued=issued,
                      withheld=list(decision.withheld), context_source=_context_source(decision),
                      fetched=dict(data.fetched), skipped=dict(data.notes.skipped))


def _gather(read_body: Callable[[], Any], service: Service, *, now: datetime, settings: Settings,
            allow_server: ServerPolicy, use_fhir_server: bool,
            on_hook_instance: Callable[[Any], None] | None) -> tuple[schemas.HookCall, Gathered]:
    """The validated call (its prefetch let go) and the patient's resources; the decoded body dies with this frame."""
    body = read_body()
    if isinstance(body, dict):
        if on_hook_instance is not None:
            on_hook_instance(body.get("hookInstance"))
        limits.check_prefetch_limits(body.get("prefetch"), max_bundle_entries=settings.max_bundle_entries,
                                        max_resources=settings.max_prefetch_resources)  # -> 413
    call = schemas.load_hook_request(body, service)  # BadHookRequest -> 400
    del body  # `call` holds what is still needed
    if not use_fhir_server:
        call = dataclasses.replace(call, fhir_server=None, access_token=None)
    data = gather.gather(call, service, now=now, settings=settings.fetch, allow_server=allow_server)  # 412
    # The prefetch has given its resources to `data`: the call keeps only its context.
    return dataclasses.replace(call, prefetch=None), data


@contextmanager
def _facts(call: schemas.HookCall, data: Gathered, now: datetime) -> Iterator[PatientFacts]:
    """The patient's facts, built from `data` one resource at a time, and released when the rules are done.

    Released, the facts hold no reference cycle: the request's objects are freed by reference counting, not left
    for the cyclic collector. The facts stay usable (anything asked again is recomputed).
    """
    facts = build_facts(data.drain(), now=now, patient_id=call.patient_id, draft_orders=call.draft_orders,
                        notes=data.notes, available=data.available, encounter_id=call.encounter_id)
    try:
        yield facts
    finally:
        facts.release()


def _context_source(decision: relevance.Decision) -> str | None:
    return decision.context.source if decision.context else None
