"""``/``: try the cards. Pick a bundled sample patient (or a FHIR server and a patient id) and a hook; the browser
posts the request to the real ``/cds-services/{id}`` and renders the cards as an EHR would (static/demo.js).

``POST /pages/demo/request`` gives the hook request the page sends: for a sample with its prefetch (samples.py),
for a FHIR server without one (the service then reads ``fhirServer``, where the allowlist applies). A POST, so that
a patient id never stands in a URL. The drugs offered for order-select and order-sign are RxNorm codes of the
golden order cases, named by the terminology's product table (never a display of our own).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cards import registry
from flask import Response, current_app, render_template, request
from flask.typing import ResponseReturnValue
import orjson
from terminology import drugs
from terminology.systems import RXNORM

from cds_service import samples
from cds_service.errors import BadHookRequest
from cds_service.pages import hooks_callable_from_browser, page_blueprint

bp = page_blueprint("demo", __name__, nav=("/", "Try the cards"))

#: RxNorm SCDs the order rules act on, as in tests/golden/leg-pain-order-select (fires-* cases).
DRUG_RXCUIS = (
    "313988",  # furosemide 40 MG Oral Tablet (loop diuretic)
    "310798",  # hydrochlorothiazide 25 MG Oral Tablet (thiazide)
    "313096",  # spironolactone 25 MG Oral Tablet (potassium-sparing)
    "314076",  # lisinopril 10 MG Oral Tablet (raises potassium)
    "198211",  # simvastatin 40 MG Oral Tablet (statin)
    "197517",  # clarithromycin 500 MG Oral Tablet (CYP3A4 inhibitor with a statin)
    "312941",  # sertraline 50 MG Oral Tablet (SSRI: sodium, restless legs)
    "312744",  # quetiapine 25 MG Oral Tablet (restless legs)
    "596926",  # duloxetine 20 MG Delayed Release Oral Capsule
    "745752",  # albuterol inhaler (lowers potassium)
)
ORDER_HOOKS = ("order-select", "order-sign")
USER_ID = samples.SAMPLE_USER


@dataclass(frozen=True)
class Drug:
    rxcui: str
    display: str


def drug_choices() -> list[Drug]:
    """The drugs offered for order hooks, named by the terminology's product table."""
    out = []
    for rxcui in DRUG_RXCUIS:
        product = drugs.product(rxcui)
        if product is None:  # a product table refresh dropped it: offer what is still known
            continue
        out.append(Drug(rxcui, product.display))
    return out


def _drug(rxcui: Any) -> Drug:
    for drug in drug_choices():
        if drug.rxcui == rxcui:
            return drug
    raise BadHookRequest(f"Unknown drug {rxcui!r}: choose one of {', '.join(DRUG_RXCUIS)}.")


def draft_order(drug: Drug, patient_id: str, now: datetime) -> dict[str, Any]:
    """A draft MedicationRequest for `drug`, as an EHR's order entry sends it in context.draftOrders."""
    return {
        "resourceType": "MedicationRequest", "id": f"draft-{drug.rxcui}", "status": "draft", "intent": "proposal",
        "subject": {"reference": f"Patient/{patient_id}"}, "authoredOn": now.date().isoformat(),
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": drug.rxcui, "display": drug.display}],
                                      "text": drug.display},
        "dosageInstruction": [{"text": "as directed"}],
    }


def build_request(service_id: str, now: datetime, *, sample: str | None = None, fhir_server: str | None = None,
                  patient_id: str | None = None, rxcui: str | None = None) -> dict[str, Any]:
    """The hook request for `service_id`: a sample's (with prefetch) or a FHIR server's patient (without)."""
    try:
        service = registry.service(service_id)
    except registry.UnknownService:
        raise BadHookRequest(f"Unknown service {service_id!r}.") from None
    if sample:
        try:
            req = samples.hook_request(sample, now)
        except samples.SampleError as err:
            raise BadHookRequest(str(err)) from err
    elif fhir_server and patient_id:
        req = {"hookInstance": str(uuid.uuid4()), "hook": service.hook, "fhirServer": fhir_server.rstrip("/"),
               "context": {"userId": USER_ID, "patientId": patient_id}}
    else:
        raise BadHookRequest("Give a sample, or a FHIR server base URL and a patient id.")
    req["hook"] = service.hook
    if service.hook in ORDER_HOOKS:
        order = draft_order(_drug(rxcui), req["context"]["patientId"], now)
        req["hookInstance"] = str(uuid.uuid4())  # the sample's is per moment; an order is another call
        req["context"]["draftOrders"] = {"resourceType": "Bundle", "type": "collection",
                                         "entry": [{"resource": order}]}
        if service.hook == "order-select":
            req["context"]["selections"] = [f"MedicationRequest/{order['id']}"]
    return req


@bp.get("/")
def demo_page() -> ResponseReturnValue:
    return render_template(
        "demo.html", samples=samples.list_samples(), services=registry.services(), drugs=drug_choices(),
        order_hooks=ORDER_HOOKS, can_call=hooks_callable_from_browser(current_app.config))


@bp.post("/pages/demo/request")
def demo_request() -> ResponseReturnValue:
    """Body ``{"service", "sample"}`` or ``{"service", "fhirServer", "patientId"}``, plus ``"drug"`` (an RXCUI) for
    an order hook -> the hook request, as JSON. Errors are 400 OperationOutcomes."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadHookRequest("The body must be a JSON object.")
    text = {k: (v if isinstance(v, str) and v.strip() else None) for k, v in body.items()}
    req = build_request(str(text.get("service") or ""), current_app.config["CLOCK"](), sample=text.get("sample"),
                        fhir_server=text.get("fhirServer"),
                        patient_id=(text.get("patientId") or "").strip() or None, rxcui=text.get("drug"))
    return Response(orjson.dumps(req), mimetype="application/json")
