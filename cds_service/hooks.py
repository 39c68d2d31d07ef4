"""POST /cds-services/<id>: load -> gather -> evaluate -> dump, and the parse-only benchmark route."""
from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any, Callable

import orjson
from cards import engine, registry
from cards.facts import build_facts
from flask import Blueprint, Response, current_app, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import RequestEntityTooLarge

from cds_service import fhir_data, hardening, projected_json, schemas, security, store
from cds_service.errors import UnsupportedMediaType

log = logging.getLogger(__name__)
bp = Blueprint("hooks", __name__)
bench_bp = Blueprint("bench", __name__)

JSON = "application/json"


def json_body(parse: Callable[[bytes, int], Any] = hardening.parse_json_body) -> Any:
    """The request body parsed with `parse`: orjson (not Flask's json: 3-10x faster on multi-MB prefetch) by
    default, projected_json.hook_body (prefetched resources as the cards projection) for hook calls.

    Content type must be application/json, optionally with charset=utf-8 (JSON is UTF-8, RFC 8259); else 415.
    A body over MAX_CONTENT_LENGTH raises werkzeug's 413 while it is read.
    """
    if request.mimetype != JSON:
        got = repr(request.mimetype) if request.mimetype else "no Content-Type header"
        raise UnsupportedMediaType(f"Content-Type must be {JSON}, got {got}.")
    charset = request.mimetype_params.get("charset")
    if charset is not None and charset.lower().replace("_", "-") not in {"utf-8", "utf8"}:
        raise UnsupportedMediaType(f"JSON must be UTF-8 encoded, got charset {charset!r}.")
    limit = int(current_app.config["MAX_CONTENT_LENGTH"])
    if request.content_length is None:
        # Chunked (or unknown length): werkzeug would cut the body at the limit and hand on a truncated one.
        data = request.input_stream.read(limit + 1)
        if len(data) > limit:
            raise RequestEntityTooLarge()
    else:
        data = request.get_data(cache=False)  # werkzeug answers 413 over the limit
    # Not JSON -> 400; nested deeper than CDS_MAX_JSON_DEPTH -> 400 (deep nesting would otherwise reach a
    # recursion limit downstream and turn into a 500).
    return parse(data, int(current_app.config["MAX_JSON_DEPTH"]))


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype=JSON)


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str) -> ResponseReturnValue:
    """Answer one hook call with cards (200), or an OperationOutcome (400/404/412/415)."""
    started = time.perf_counter()
    service = registry.service(service_id)  # UnknownService -> 404
    conf = current_app.config
    body = json_body(projected_json.hook_body)
    if isinstance(body, dict):
        security.note_hook_instance(body.get("hookInstance"))  # for the audit row, when it looks like an id
        hardening.check_prefetch_limits(body.get("prefetch"), max_bundle_entries=int(conf["MAX_BUNDLE_ENTRIES"]),
                                        max_resources=int(conf["MAX_PREFETCH_RESOURCES"]))  # -> 413
    call = schemas.load_hook_request(body, service)  # BadHookRequest -> 400
    del body  # `call` holds what is still needed (see below)
    now = conf["CLOCK"]()
    # The FHIR server allowlist of the calling issuer (security), unless a test injected its own predicate.
    allow_server = conf["ALLOW_FHIR_SERVER"] or security.fhir_server_policy()
    data = fhir_data.gather(call, service, now=now, settings=fhir_data.FetchSettings.from_config(conf),
                            allow_server=allow_server)  # DataUnavailable -> 412
    # The prefetch has given its resources to `data`: let it go, and hand the resources to the builder one by
    # one, so that what no rule reads (Bundle wrappers, most Observations) is freed now, while it is still in the
    # CPU cache, not at the end of the request (docs/performance.md).
    call = dataclasses.replace(call, prefetch=None)
    facts = build_facts(data.drain(), now=now, patient_id=call.patient_id, draft_orders=call.draft_orders,
                        notes=data.notes, available=data.available, encounter_id=call.encounter_id)
    decision = engine.decide(service, facts, security.possible_cause_policy(conf["POSSIBLE_CAUSE_CARDS"]))
    cards = decision.shown
    facts.release()  # no reference cycles left: the request's data is freed when it ends (gc_pause.py)
    body, issued = schemas.dump_cards(cards, new_uuid=conf["UUID_FACTORY"]())
    security.note_cards([c.uuid for c in issued])
    # Written with the call's audit row, in one transaction, after this returns (security._after_request), and
    # before the answer leaves. A failing database is logged there and does not withhold the cards: feedback on
    # them is then stored flagged card_known = false.
    security.note_records(store.ISSUED_INSERT, store.issued_rows(service.id, call.hook_instance, issued, now))
    withheld = [r for c in decision.withheld for r in c.rule_ids]
    if decision.withheld:  # possible-cause cards without leg-symptom context: counted, never lost silently
        security.note_records(store.WITHHELD_INSERT,
                              store.withheld_rows(service.id, call.hook_instance, decision.withheld, now))
    log.info("hook answered", extra={
        "hookInstance": call.hook_instance, "service": service.id,
        "rules": [r for c in issued for r in c.rule_ids], "cards": [c.uuid for c in issued],
        "withheld": withheld, "context": decision.context.source if decision.context else None,
        "fetched": sorted(data.fetched), "skipped": dict(data.notes.skipped),
        "ms": round((time.perf_counter() - started) * 1000, 1)})
    return _json(body)


@bench_bp.post("/_bench/parse")
def bench_parse() -> ResponseReturnValue:
    """Benchmark baseline: the whole parse a JSON service does (orjson and the depth check), no cards.

    The hook route decodes only the elements its readers use (projected_json.hook_body), which is part of what is being
    measured against this route; a body it cannot decode so takes exactly this parse.
    """
    json_body()
    return _json({"cards": []})
