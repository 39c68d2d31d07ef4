"""POST /cds-services/<id>: read the body, evaluate it (cds_service.pipeline), record what was issued, answer."""
from __future__ import annotations

import logging
import time
from typing import Any, Callable

import orjson
from cards import registry
from flask import Blueprint, Response, current_app, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import RequestEntityTooLarge

from cds_service import limits, pipeline, schemas
from cds_service.fhir import decode
from cds_service.security import web as security
from cds_service.persistence import store
from cds_service.runtime import metrics
from cds_service.errors import UnsupportedMediaType

log = logging.getLogger(__name__)
bp = Blueprint("hooks", __name__)

JSON = "application/json"


def json_body(parse: Callable[[bytes, int], Any] = limits.parse_json_body) -> Any:
    """The request body parsed with `parse`: orjson (not Flask's json: 3-10x faster on multi-MB prefetch) by
    default, decode.hook_body (prefetched resources as the cards projection) for hook calls.

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


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str) -> ResponseReturnValue:
    """Answer one hook call with cards (200), or an OperationOutcome (400/404/412/413/415)."""
    started = time.perf_counter()
    service = registry.service(service_id)  # UnknownService -> 404
    conf = current_app.config
    now = conf["CLOCK"]()
    launch = current_app.extensions.get(schemas.TREND_LAUNCH_EXTENSION)  # the SMART app's path, when it is served
    links = schemas.topic_links((conf["PUBLIC_BASE_URL"] or request.url_root).rstrip("/") + launch) if launch else None
    result = pipeline.evaluate(
        lambda: json_body(decode.hook_body), service, now=now, settings=current_app.extensions[pipeline.SETTINGS_EXTENSION],
        # The FHIR server allowlist of the calling issuer (security), unless a test injected its own predicate.
        allow_server=conf["ALLOW_FHIR_SERVER"] or security.fhir_server_policy(),
        possible_causes=security.possible_cause_policy(conf["POSSIBLE_CAUSE_CARDS"]),
        new_uuid=conf["UUID_FACTORY"](),
        on_hook_instance=security.note_hook_instance,  # for the audit row, when it looks like an id
        card_links=links)  # the lab-trend SMART app link on electrolyte, diuretic and statin cards
    issued = result.issued
    security.note_cards([c.uuid for c in issued])
    # Written with the call's audit row, in one transaction, after this returns (security.web._after_request), and
    # before the answer leaves. A failing database is logged there and does not withhold the cards: feedback on
    # them is then stored flagged card_known = false.
    security.note_records(store.ISSUED_INSERT, store.issued_rows(service.id, result.hook_instance, issued, now))
    if result.withheld:  # possible-cause cards without leg-symptom context: counted, never lost silently
        security.note_records(store.WITHHELD_INSERT,
                              store.withheld_rows(service.id, result.hook_instance, result.withheld, now))
    metrics.cards_decided(service.id, issued, result.withheld)  # per rule and indicator (CDS_METRICS)
    log.info("hook answered", extra={
        "hookInstance": result.hook_instance, "service": service.id,
        "rules": [r for c in issued for r in c.rule_ids], "cards": [c.uuid for c in issued],
        "withheld": [r for c in result.withheld for r in c.rule_ids], "context": result.context_source,
        "fetched": sorted(result.fetched), "skipped": result.skipped,
        "ms": round((time.perf_counter() - started) * 1000, 1)})
    return Response(orjson.dumps(result.body), mimetype=JSON)
