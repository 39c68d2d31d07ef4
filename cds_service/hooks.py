"""POST /cds-services/<id>: load -> gather -> evaluate -> dump, and the parse-only benchmark route."""
from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from cards import engine, registry
from cards.facts import build_facts
from flask import Blueprint, Response, current_app, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError

from cds_service import fhir_data, schemas
from cds_service.errors import BadHookRequest, UnsupportedMediaType

log = logging.getLogger(__name__)
bp = Blueprint("hooks", __name__)
bench_bp = Blueprint("bench", __name__)

JSON = "application/json"


def json_body() -> Any:
    """The request body parsed with orjson (not Flask's json: 3-10x faster on multi-MB prefetch).

    Content type must be application/json, optionally with charset=utf-8 (JSON is UTF-8, RFC 8259); else 415.
    A body over MAX_CONTENT_LENGTH raises werkzeug's 413 while it is read.
    """
    if request.mimetype != JSON:
        raise UnsupportedMediaType(f"Content-Type must be {JSON}, got {request.mimetype or 'none'!r}.")
    charset = request.mimetype_params.get("charset")
    if charset is not None and charset.lower().replace("_", "-") not in {"utf-8", "utf8"}:
        raise UnsupportedMediaType(f"JSON must be UTF-8 encoded, got charset {charset!r}.")
    data = request.get_data(cache=False)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as err:
        raise BadHookRequest(f"Request body is not valid JSON: {err}") from err


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype=JSON)


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str) -> ResponseReturnValue:
    """Answer one hook call with cards (200), or an OperationOutcome (400/404/412/415)."""
    started = time.perf_counter()
    service = registry.service(service_id)  # UnknownService -> 404
    call = schemas.load_hook_request(json_body(), service)  # BadHookRequest -> 400
    conf = current_app.config
    now = conf["CLOCK"]()
    data = fhir_data.gather(call, service, now=now, settings=fhir_data.FetchSettings.from_config(conf),
                            allow_server=conf["ALLOW_FHIR_SERVER"])  # DataUnavailable -> 412
    facts = build_facts(data.resources, now=now, patient_id=call.patient_id, draft_orders=call.draft_orders,
                        notes=data.notes, available=data.available)
    cards = engine.evaluate(service, facts)
    body, issued = schemas.dump_cards(cards, new_uuid=conf["UUID_FACTORY"]())
    try:
        current_app.extensions["cds_store"].record_issued(service.id, call.hook_instance, issued, now)
    except SQLAlchemyError:
        # The cards are right whether or not the record is written: a locked or unreachable database must not
        # withhold them from the clinician. Feedback on these cards will be stored flagged card_known = false.
        log.exception("could not record issued cards", extra={"hookInstance": call.hook_instance,
                                                               "service": service.id})
    log.info("hook answered", extra={
        "hookInstance": call.hook_instance, "service": service.id,
        "rules": [r for c in issued for r in c.rule_ids], "cards": [c.uuid for c in issued],
        "fetched": sorted(data.fetched), "skipped": dict(data.notes.skipped),
        "ms": round((time.perf_counter() - started) * 1000, 1)})
    return _json(body)


@bench_bp.post("/_bench/parse")
def bench_parse() -> ResponseReturnValue:
    """Benchmark baseline: parse the body exactly as call_service does, return no cards."""
    json_body()
    return _json({"cards": []})
