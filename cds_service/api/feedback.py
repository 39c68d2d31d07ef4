"""POST /cds-services/<id>/feedback: CDS Hooks 2.0 feedback, validated and stored with the issued card."""
from __future__ import annotations

import logging

import orjson
from cards import registry
from flask import Blueprint, Response, current_app
from flask.typing import ResponseReturnValue

from cds_service import schemas
from cds_service.api.hooks import json_body
from cds_service.runtime import metrics

log = logging.getLogger(__name__)
bp = Blueprint("feedback", __name__)


@bp.post("/cds-services/<service_id>/feedback")
def post_feedback(service_id: str) -> ResponseReturnValue:
    """Store every feedback item; 200 with counts. Feedback on a card this database never issued is kept but
    flagged (card_known = false) and its uuid listed in the answer (see store.py for why)."""
    service = registry.service(service_id)  # UnknownService -> 404
    items = schemas.load_feedback(json_body())  # BadHookRequest -> 400
    conf = current_app.config
    unknown = current_app.extensions["cds_store"].record_feedback(service.id, items, conf["CLOCK"]())
    metrics.feedback_stored(service.id, items, unknown)  # by outcome (CDS_METRICS)
    log.info("feedback stored", extra={"service": service.id, "cards": sorted({i["card"] for i in items}),
                                       "outcomes": [i["outcome"] for i in items], "unknown": unknown})
    body: dict[str, object] = {"stored": len(items)}
    if unknown:
        body["unknownCards"] = unknown
    return Response(orjson.dumps(body), mimetype="application/json")
