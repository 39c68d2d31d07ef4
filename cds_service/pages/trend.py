"""The lab-trend SMART on FHIR app: K, Mg, Na, Ca (and CK, ABI where present) over time, with the reference range
band and the start/stop dates of diuretics and statins marked.

Cards about electrolytes, diuretics and statins link to it (a CDS Hooks ``smart`` link to ``/trend/launch``, added by
the hook route: schemas.topic_links). SMART App Launch 2.x (docs/api.md, "Lab-trend SMART app"):

* **EHR launch** ``GET /trend/launch?iss=...&launch=...``: ``iss`` must be in the FHIR server allowlist
  (``CDS_ALLOWED_FHIR_SERVERS``); the server reads ``{iss}/.well-known/smart-configuration`` (no patient data in
  it), makes a ``state`` and a PKCE verifier (S256), keeps both in a short-lived HttpOnly cookie named after the state
  (path ``/trend``) and redirects to the authorization endpoint (public client ``CDS_SMART_CLIENT_ID``).
  ``GET /trend?code=...&state=...`` checks the state against that cookie and renders the page with the verifier; the
  **browser** exchanges the code for the token (a public client: no secret to keep server-side) and reads the FHIR
  server with it. The token and the patient's data never pass through this service.
* **Standalone launch** against an open FHIR server: ``GET /trend?iss=<base>&patient=<id>`` (allowlist applies);
  the browser reads without a token.

The page's code knowledge (which LOINC codes are which analyte, unit factors, default reference ranges, which RxNorm
codes are diuretics or statins, the FHIR searches it sends) comes from ``GET /trend/codes.json``, built from the
terminology and cards knowledge: no patient data. Logs carry the FHIR server's origin only, never the launch
parameter, the code, a patient id or a token.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import re
import secrets
from typing import Any
from urllib.parse import urlencode

import requests
from flask import Response, current_app, render_template, request
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue

from cards import knowledge
from cds_service import schemas
from cds_service.pages import page_blueprint, page_csp
from cds_service.security import web as security
from cds_service.security.url_policy import UrlPolicyError, describe, is_loopback_host, parse_url
from terminology import analytes, drugs, systems, units

log = logging.getLogger(__name__)

bp = page_blueprint("trend", __name__, nav=("/trend", "Lab trend (SMART app)"))

LAUNCH_PATH = "/trend/launch"
#: SMART App Launch 2.x scopes: launch context, the user's identity, and read/search of what the page plots.
SCOPES = ("launch openid fhirUser patient/Observation.rs patient/MedicationRequest.rs "
          "patient/MedicationStatement.rs patient/Patient.rs")
COOKIE_PREFIX = "trend_launch_"
COOKIE_MAX_AGE_S = 600  # the user has ten minutes to sign in at the EHR's authorization server
SMART_CONFIG_MAX_BYTES = 256 * 1024

#: (analyte slug, label, default range thresholds (low, high) from cards/knowledge, always shown)
ANALYTES: tuple[tuple[str, str, str | None, str | None, bool], ...] = (
    ("potassium", "Potassium (K)", "potassium.default-low", "potassium.default-high", True),
    ("magnesium", "Magnesium (Mg)", "magnesium.default-low", "magnesium.default-high", True),
    ("sodium", "Sodium (Na)", "sodium.default-low", "sodium.default-high", True),
    ("calcium-total", "Calcium (Ca), total", "calcium.default-low", "calcium.default-high", True),
    ("calcium-ionized", "Calcium (Ca), ionized", "calcium-ionized.default-low", "calcium-ionized.default-high",
     False),
    ("ck", "Creatine kinase (CK)", None, "statin.ck-default-uln", False),
    ("abi", "Ankle-brachial index (ABI)", "pad.abi-abnormal", "pad.abi-noncompressible", False),
)
#: Marker groups: drug classes (terminology/drugs) whose start and stop dates are drawn on every chart.
DRUG_GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("diuretic", "Diuretic", ("loop-diuretic", "thiazide-diuretic", "potassium-sparing-diuretic")),
    ("statin", "Statin", ("statin",)),
)
#: The FHIR searches the page sends ({patient} and {codes} filled in by the page); each is paged through `next`.
SEARCHES = (
    "Observation?patient={patient}&code={codes}&_count=100",
    "MedicationStatement?patient={patient}&_count=100",
    "MedicationRequest?patient={patient}&_count=100",
)
MAX_PAGES = 20
#: A FHIR resource id (R4 datatypes, id): what a standalone launch may name as the patient.
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


class LaunchRefused(Exception):
    """A launch this app will not follow: status and a sentence for the user (no patient data in it)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _served(state: BlueprintSetupState) -> None:
    """While the app is served, the hook route adds its link to the cards (schemas.TREND_LAUNCH_EXTENSION)."""
    state.app.extensions[schemas.TREND_LAUNCH_EXTENSION] = LAUNCH_PATH


bp.record_once(_served)


# ---------------------------------------------------------------------------------------------- code knowledge


@functools.cache
def code_knowledge() -> dict[str, Any]:
    """What the page needs to read the FHIR data: analytes (codes, unit factors, default ranges), drug groups
    (codes and names), the searches. Built once from terminology and cards knowledge; holds no patient data."""
    table = units.analytes()
    out_analytes = []
    for slug, label, low_id, high_id, always in ANALYTES:
        spec = table[slug]
        factors = {key: {"factor": c.factor, "offset": c.offset} for key, c in sorted(spec.conversions.items())}
        out_analytes.append({
            "id": slug, "label": label, "unit": spec.canonical, "dimensionless": spec.dimensionless,
            "always": always, "codes": [f"{systems.LOINC}|{code}" for code in analytes.loinc_codes(slug)],
            "low": knowledge.threshold(low_id).value if low_id else None,
            "high": knowledge.threshold(high_id).value if high_id else None,
            "factors": factors,
        })
    groups = []
    for group_id, label, classes in DRUG_GROUPS:
        wanted = set(classes)
        codes = sorted(f"{system}|{code}" for system, code in drugs.known_codes()
                       if any(m.classes & wanted for m in drugs.match([(system, code, None)])))
        names: set[str] = set()
        for drug_class in classes:
            for name in drugs.ingredients_in_class(drug_class):
                ing = drugs.ingredient(name)
                names |= {n.lower() for n in (ing.name, ing.display, *ing.brands, *ing.text_names) if n}
        groups.append({"id": group_id, "label": label, "classes": list(classes), "codes": codes,
                       "names": sorted(names)})
    return {"analytes": out_analytes, "drugGroups": groups, "searches": list(SEARCHES), "maxPages": MAX_PAGES,
            "systems": {"loinc": systems.LOINC, "rxnorm": systems.RXNORM}}


@bp.get("/trend/codes.json")
def codes() -> ResponseReturnValue:
    """The page's code knowledge (no patient data)."""
    return Response(json.dumps(code_knowledge(), separators=(",", ":")), mimetype="application/json")


# ---------------------------------------------------------------------------------------------- launch


def _allowed(iss: str) -> bool:
    """The FHIR server allowlist (CDS_ALLOWED_FHIR_SERVERS), or the predicate a test injected."""
    injected = current_app.config.get("ALLOW_FHIR_SERVER")
    if injected is not None:
        return bool(injected(iss))
    return security.state().global_fhir_servers.allows(iss)


def _checked_iss(iss: str | None) -> str:
    """`iss` as a FHIR base URL this app may read, else LaunchRefused (400 malformed, 403 not allowlisted)."""
    if not iss:
        raise LaunchRefused(400, "The launch names no FHIR server (the 'iss' parameter is missing).")
    try:
        parse_url(iss, allow_query=False)
    except UrlPolicyError as err:
        raise LaunchRefused(400, f"The FHIR server URL ('iss') is not usable: it {err}.") from None
    if not _allowed(iss):
        log.warning("trend launch refused: FHIR server not allowed origin=%s", describe(iss))
        raise LaunchRefused(403, "This FHIR server is not in this service's allowlist (CDS_ALLOWED_FHIR_SERVERS), "
                                 "so the lab-trend app will not read from it.")
    return iss.rstrip("/")


def _endpoint(config: dict[str, Any], name: str) -> str:
    """An https (or loopback http) endpoint URL from the SMART configuration, else LaunchRefused (502)."""
    url = config.get(name)
    try:
        if not isinstance(url, str):
            raise UrlPolicyError("is missing")
        parsed = parse_url(url)
        if parsed.scheme != "https" and not is_loopback_host(parsed.host):
            raise UrlPolicyError("is not https")
    except UrlPolicyError as err:
        raise LaunchRefused(502, f"The FHIR server's SMART configuration is not usable: {name} {err}.") from None
    return url


def smart_configuration(iss: str) -> dict[str, Any] | None:
    """``{iss}/.well-known/smart-configuration`` as a JSON object; None when the server has none (404/410: an
    open server); LaunchRefused (502) when it cannot be read."""
    url = f"{iss}/.well-known/smart-configuration"
    timeout = float(current_app.config["FHIR_TIMEOUT_S"])
    try:
        with requests.get(url, headers={"Accept": "application/json"}, timeout=timeout, allow_redirects=False,
                          stream=True) as resp:
            if resp.status_code in (404, 410):
                return None
            body = resp.raw.read(SMART_CONFIG_MAX_BYTES + 1, decode_content=True)
            status = resp.status_code
    except requests.RequestException as err:
        log.warning("trend launch: smart-configuration unreadable origin=%s (%s)", describe(iss), type(err).__name__)
        raise LaunchRefused(502, "The FHIR server's SMART configuration could not be read.") from None
    if status != 200 or len(body) > SMART_CONFIG_MAX_BYTES:
        log.warning("trend launch: smart-configuration answered %s origin=%s", status, describe(iss))
        raise LaunchRefused(502, f"The FHIR server's SMART configuration could not be read (HTTP {status}).")
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise LaunchRefused(502, "The FHIR server's SMART configuration is not a JSON object.")
    return data


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _base_url() -> str:
    return str(current_app.config.get("PUBLIC_BASE_URL") or request.url_root).rstrip("/")


def redirect_uri() -> str:
    """Where the authorization server sends the user back: this app's page (register it with the EHR)."""
    return _base_url() + "/trend"


def _https() -> bool:
    return request.is_secure or _base_url().startswith("https:")


def _refusal(err: LaunchRefused) -> ResponseReturnValue:
    """An HTML page (or an OperationOutcome for a client that asks for JSON) saying why; never a 500."""
    if request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json":
        code = {400: "invalid", 403: "forbidden"}.get(err.status, "exception")
        body = {"resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": code, "diagnostics": err.message}]}
        return Response(json.dumps(body), status=err.status, mimetype="application/json")
    return render_template("trend_error.html", message=err.message, status=err.status), err.status


def _launch(iss_arg: str | None, launch: str | None) -> ResponseReturnValue:
    try:
        iss = _checked_iss(iss_arg)
        if not launch:
            raise LaunchRefused(400, "The EHR launch gave no 'launch' parameter.")
        config = smart_configuration(iss)
        if config is None:
            raise LaunchRefused(502, "The FHIR server has no SMART configuration (/.well-known/smart-configuration),"
                                     " so an EHR launch cannot be authorized. For an open server, open "
                                     "/trend?iss=<FHIR base URL>&patient=<id> instead.")
        authorize = _endpoint(config, "authorization_endpoint")
        token = _endpoint(config, "token_endpoint")
        methods = config.get("code_challenge_methods_supported")
        if isinstance(methods, list) and "S256" not in methods:
            raise LaunchRefused(502, "The authorization server does not support PKCE with S256, which SMART App "
                                     "Launch 2 requires.")
    except LaunchRefused as err:
        return _refusal(err)
    state = secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48)  # 64 characters of [A-Za-z0-9-_]: RFC 7636 allows 43-128
    params = {"response_type": "code", "client_id": current_app.config["SMART_CLIENT_ID"],
              "redirect_uri": redirect_uri(), "launch": launch, "scope": SCOPES, "state": state, "aud": iss,
              "code_challenge": pkce_challenge(verifier), "code_challenge_method": "S256"}
    location = authorize + ("&" if "?" in authorize else "?") + urlencode(params)
    resp = Response(status=302, headers={"Location": location})
    kept = json.dumps({"state": state, "verifier": verifier, "iss": iss, "token": token}, separators=(",", ":"))
    resp.set_cookie(COOKIE_PREFIX + state, base64.urlsafe_b64encode(kept.encode()).decode("ascii"),
                    max_age=COOKIE_MAX_AGE_S, path="/trend", secure=_https(), httponly=True, samesite="Lax")
    log.info("trend launch: redirected to the authorization server origin=%s", describe(authorize))
    return resp


@bp.get(LAUNCH_PATH)
def launch() -> ResponseReturnValue:
    """SMART EHR launch: check iss, read its SMART configuration, redirect to authorize with state and PKCE."""
    return _launch(request.args.get("iss"), request.args.get("launch"))


def _kept_launch(state: str) -> dict[str, str] | None:
    """The launch this browser started with `state` (its cookie), or None."""
    raw = request.cookies.get(COOKIE_PREFIX + state)
    if not raw:
        return None
    try:
        kept = json.loads(base64.urlsafe_b64decode(raw.encode("ascii")))
    except ValueError:
        return None
    if not isinstance(kept, dict) or not all(isinstance(kept.get(k), str) for k in ("state", "verifier", "iss",
                                                                                    "token")):
        return None
    if not secrets.compare_digest(kept["state"], state):
        return None
    return kept


def _origin(url: str) -> str:
    return parse_url(url).origin


def _page(mode: str, iss: str, *, token_endpoint: str | None = None, verifier: str | None = None,
          patient: str | None = None) -> Response:
    connect = tuple(dict.fromkeys(_origin(u) for u in (iss, token_endpoint) if u))
    html = render_template("trend.html", mode=mode, iss=iss, token_endpoint=token_endpoint or "",
                           verifier=verifier or "", patient=patient or "",
                           client_id=current_app.config["SMART_CLIENT_ID"], redirect_uri=redirect_uri(),
                           codes_url="/trend/codes.json")
    resp = Response(html, mimetype="text/html")
    resp.headers["Content-Security-Policy"] = page_csp(connect)
    return resp


@bp.get("/trend")
def trend() -> ResponseReturnValue:
    """The page: after the authorization redirect (code, state), a standalone launch (iss, patient), or a form."""
    args = request.args
    if "error" in args:  # the authorization server refused (RFC 6749 4.1.2.1): say so, without echoing markup
        reason = "".join(c for c in args.get("error", "")[:60] if c.isalnum() or c in "_-")
        return _refusal(LaunchRefused(400, f"The EHR's authorization server did not authorize the app ({reason})."))
    if "code" in args or "state" in args:
        kept = _kept_launch(args.get("state", ""))
        if kept is None or not args.get("code"):
            return _refusal(LaunchRefused(400, "This sign-in does not match a launch started in this browser (the "
                                               "state is unknown or expired): launch the app again from the EHR."))
        resp = _page("ehr", kept["iss"], token_endpoint=kept["token"], verifier=kept["verifier"])
        resp.delete_cookie(COOKIE_PREFIX + kept["state"], path="/trend", secure=_https(), httponly=True,
                           samesite="Lax")
        return resp
    if "launch" in args:  # an EHR that launches the page itself rather than /trend/launch
        return _launch(args.get("iss"), args.get("launch"))
    if "iss" in args or "patient" in args:
        try:
            iss = _checked_iss(args.get("iss"))
            patient = args.get("patient", "").strip()
            if not FHIR_ID.fullmatch(patient):
                raise LaunchRefused(400, "A standalone launch needs a patient id ('patient': letters, digits, '-' "
                                         "and '.', at most 64).")
        except LaunchRefused as err:
            return _refusal(err)
        return _page("open", iss, patient=patient)
    resp = Response(render_template("trend_start.html"), mimetype="text/html")
    return resp
