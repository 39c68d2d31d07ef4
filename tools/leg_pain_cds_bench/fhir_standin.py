"""A small, real FHIR R4 stand-in server (stdlib only) for the fallback benchmark and fault-injection tests.

It is a genuine threaded HTTP server on 127.0.0.1 that serves the resources it is given:

* ``GET [base]/metadata`` — a minimal CapabilityStatement;
* ``GET [base]/{type}/{id}`` — read;
* ``GET [base]/{type}?patient=…`` — type-level search with ``patient`` / ``subject``, ``code`` (token lists
  ``system|code,…``; matches ``code`` or ``medicationCodeableConcept``), ``status``, ``date`` with the prefixes
  ``eq``, ``gt``, ``ge``, ``lt``, ``le`` (Observation and MedicationStatement effective[x] — not ``issued``,
  Condition recordedDate, MedicationRequest authoredOn), ``_count`` / ``_offset`` paging with absolute ``next``
  links, ``_include=MedicationStatement:medication`` and ``MedicationRequest:medication``. Other parameters are
  ignored (and listed in ``ignored_params``), as a lenient real server would;
* ``PUT [base]/{type}/{id}`` and ``POST [base]`` with a transaction/batch Bundle of PUT entries, so that loaders
  can be exercised against it.

Fault modes (``fault``), optionally limited to some resource types (``fault_types``) model the servers an EHR
integration meets: slow past a timeout, HTTP 500, malformed JSON, an OperationOutcome where a Bundle belongs,
an endless ``next`` chain, a redirect to another host/port, and bearer-token enforcement (401 without a token,
401 or 403 with a wrong one). Every accepted connection and every request is recorded, so that a test can prove
that no request arrived (SSRF) or that the Authorization header was (not) sent.

Used by ``leg-pain-cds bench`` (per-request ``delay_s``) and by the test suite. Not meant to face a network.
"""
from __future__ import annotations

import copy
import json
import socket
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

FHIR_JSON = "application/fhir+json; charset=utf-8"
DEFAULT_COUNT = 50
MAX_COUNT = 1000
#: Upper bound for a request body the stand-in accepts (it is a test tool, not a data store).
MAX_BODY = 64 * 1024 * 1024


class Fault(str, Enum):
    """What the stand-in does instead of answering normally."""

    SLOW = "slow"                      # waits ``slow_s`` before answering (interrupted by stop())
    ERROR_500 = "500"                  # HTTP 500 with an OperationOutcome
    MALFORMED_JSON = "malformed-json"  # HTTP 200, fhir+json content type, truncated JSON
    OPERATION_OUTCOME = "operation-outcome"  # an OperationOutcome (status ``outcome_status``) instead of a Bundle
    ENDLESS_NEXT = "endless-next"      # searchsets whose ``next`` link never ends
    REDIRECT = "redirect"              # 302 to ``redirect_to`` + the original path and query


@dataclass(frozen=True)
class RequestRecord:
    """One HTTP request as received (before any fault or auth check is applied)."""

    method: str
    path: str
    query: dict[str, list[str]]
    raw_query: str
    authorization_present: bool
    bearer_token: str | None
    client: str
    at: float

    @property
    def resource_type(self) -> str | None:
        parts = [p for p in self.path.split("/") if p]
        return parts[1] if len(parts) > 1 and parts[0] == "fhir" else None


@dataclass(frozen=True)
class ConnectionRecord:
    """One TCP connection accepted by the server."""

    client: str
    at: float


def _ref_id(reference: str | None, rtype: str) -> str | None:
    """``Patient/123`` or ``http://x/fhir/Patient/123`` -> ``123`` when it names a ``rtype``."""
    if not reference:
        return None
    parts = reference.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == rtype:
        return parts[-1]
    return None


def _parse_instant(value: str) -> datetime | None:
    """A FHIR date/dateTime/instant as an aware datetime (dates and partial dates at their start, UTC)."""
    text = value.strip()
    for fmt_len, fmt in ((4, "%Y"), (7, "%Y-%m"), (10, "%Y-%m-%d")):
        if len(text) == fmt_len:
            try:
                return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
            except ValueError:
                return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _resource_date(resource: Mapping[str, Any]) -> datetime | None:
    """The date the ``date`` search parameter looks at for the resource types the service reads."""
    rtype = resource.get("resourceType")
    if rtype in ("Observation", "MedicationStatement"):
        raw = resource.get("effectiveDateTime") or resource.get("effectiveInstant")
        period = resource.get("effectivePeriod") or {}
        # As in the R4 spec (and on HAPI and sekmet), ``date`` is effective[x] only, never ``issued``.
        raw = raw or period.get("end") or period.get("start")
    elif rtype == "MedicationRequest":
        raw = resource.get("authoredOn")
    elif rtype == "Condition":
        raw = resource.get("recordedDate") or resource.get("onsetDateTime")
    else:
        raw = None
    return _parse_instant(raw) if isinstance(raw, str) else None


def _codings(resource: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    concept = resource.get("code") or resource.get("medicationCodeableConcept") or {}
    return [c for c in concept.get("coding") or [] if isinstance(c, Mapping)]


def _token_matches(resource: Mapping[str, Any], tokens: Iterable[str]) -> bool:
    for token in tokens:
        system, sep, code = token.partition("|")
        if not sep:
            system, code = "", token
        for coding in _codings(resource):
            if coding.get("code") != code:
                continue
            if not sep or coding.get("system", "") == system:
                return True
    return False


def _date_matches(resource: Mapping[str, Any], expr: str) -> bool:
    prefix, value = (expr[:2], expr[2:]) if expr[:2] in ("eq", "gt", "ge", "lt", "le") else ("eq", expr)
    bound = _parse_instant(value)
    when = _resource_date(resource)
    if bound is None or when is None:
        return False
    return {"eq": when == bound, "gt": when > bound, "ge": when >= bound, "lt": when < bound,
            "le": when <= bound}[prefix]


def _outcome(code: str, text: str, severity: str = "error") -> dict[str, Any]:
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": code, "diagnostics": text}]}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    standin: FhirStandIn

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.standin._record_connection(f"{client_address[0]}:{client_address[1]}")
        with self.sockets_lock:
            self.open_sockets.add(request)
        return True

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut kept-alive connections too: a stopped server must not go on answering pooled clients."""
        with self.sockets_lock:
            socks, self.open_sockets = list(self.open_sockets), set()
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the peer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real FHIR servers do (matters for the benchmark)
    # Headers and body go out in two writes; with Nagle on, the second waits for the client's delayed ACK
    # (~40 ms on Linux), which would swamp a 5 ms benchmark delay.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature from the stdlib
        """Silent: the request log is kept in memory instead."""

    def do_GET(self) -> None:
        self.server.standin._handle(self, "GET")

    def do_PUT(self) -> None:
        self.server.standin._handle(self, "PUT")

    def do_POST(self) -> None:
        self.server.standin._handle(self, "POST")

    def do_DELETE(self) -> None:
        self.server.standin._handle(self, "DELETE")


class FhirStandIn:
    """A threaded FHIR R4 stand-in on 127.0.0.1. Configure the public attributes before or between requests.

    :param delay_s: seconds every request waits before it is answered (e.g. 0.005 for the fallback benchmark).
    :param fault: a :class:`Fault` applied to requests (all, or only those whose resource type is in
        ``fault_types``).
    :param accept_transactions: False makes ``POST [base]`` answer 405 (a server without transactions).
    :param required_token: when set, a request needs ``Authorization: Bearer <required_token>``: without one
        the answer is 401, with another token ``wrong_token_status`` (401 or 403).
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, delay_s: float = 0.0,
                 fault: Fault | None = None, fault_types: Iterable[str] | None = None,
                 slow_s: float = 30.0, redirect_to: str | None = None, required_token: str | None = None,
                 wrong_token_status: int = 401, outcome_status: int = 200,
                 default_count: int = DEFAULT_COUNT, accept_transactions: bool = True) -> None:
        self.host = host
        self._port = port
        self.delay_s = delay_s
        self.fault = fault
        self.fault_types: set[str] | None = set(fault_types) if fault_types is not None else None
        self.slow_s = slow_s
        self.redirect_to = redirect_to
        self.required_token = required_token
        self.wrong_token_status = wrong_token_status
        self.outcome_status = outcome_status
        self.default_count = default_count
        #: False: ``POST [base]`` answers 405, as on servers without transaction support.
        self.accept_transactions = accept_transactions
        self._resources: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._requests: list[RequestRecord] = []
        self._connections: list[ConnectionRecord] = []
        self.ignored_params: set[str] = set()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FhirStandIn:
        """Bind (a free port unless one was given) and serve in a background thread."""
        if self._httpd is not None:
            raise RuntimeError("already started")
        self._stopping.clear()
        httpd = _Server((self.host, self._port), _Handler)
        httpd.standin = self
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fhir-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; requests held by ``Fault.SLOW`` are released at once."""
        self._stopping.set()
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
            httpd.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FhirStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The FHIR base URL, e.g. ``http://127.0.0.1:40123/fhir``."""
        return f"http://{self.host}:{self.port}/fhir"

    # ------------------------------------------------------------------ data

    def add(self, *resources: Mapping[str, Any]) -> None:
        """Serve these resources (each needs resourceType and id); a Bundle adds its entries' resources."""
        with self._lock:
            for res in resources:
                if res.get("resourceType") == "Bundle":
                    inner = [e["resource"] for e in res.get("entry") or [] if isinstance(e.get("resource"), Mapping)]
                    for r in inner:
                        self._put(r)
                else:
                    self._put(res)

    def _put(self, res: Mapping[str, Any]) -> bool:
        rtype, rid = res.get("resourceType"), res.get("id")
        if not isinstance(rtype, str) or not isinstance(rid, str):
            raise ValueError("a served resource needs resourceType and id")
        created = (rtype, rid) not in self._resources
        self._resources[(rtype, rid)] = copy.deepcopy(dict(res))
        return created

    def clear(self) -> None:
        """Forget all resources and both logs."""
        with self._lock:
            self._resources.clear()
            self._requests.clear()
            self._connections.clear()
            self.ignored_params.clear()

    def resources(self, resource_type: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(r) for (t, _), r in self._resources.items()
                    if resource_type is None or t == resource_type]

    # ------------------------------------------------------------------ logs

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    @property
    def connections(self) -> list[ConnectionRecord]:
        with self._lock:
            return list(self._connections)

    def reset_logs(self) -> None:
        with self._lock:
            self._requests.clear()
            self._connections.clear()

    def _record_connection(self, client: str) -> None:
        with self._lock:
            self._connections.append(ConnectionRecord(client=client, at=time.time()))

    # ------------------------------------------------------------------ HTTP

    def _handle(self, h: _Handler, method: str) -> None:
        parts = urlsplit(h.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        auth = h.headers.get("Authorization")
        scheme, _, cred = (auth or "").partition(" ")
        record = RequestRecord(method=method, path=parts.path, query=query, raw_query=parts.query,
                               authorization_present=auth is not None,
                               bearer_token=cred.strip() if scheme.lower() == "bearer" else None,
                               client=f"{h.client_address[0]}:{h.client_address[1]}", at=time.time())
        with self._lock:
            self._requests.append(record)
        body_raw = b""
        length = int(h.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(h, 413, _outcome("too-costly", "request body too large"))
            return
        if length:
            body_raw = h.rfile.read(length)
        if self.delay_s > 0 and self._stopping.wait(self.delay_s):
            return
        segs = [s for s in parts.path.split("/") if s]
        if not segs or segs[0] != "fhir":
            self._send(h, 404, _outcome("not-found", "unknown path"))
            return
        segs = segs[1:]
        if segs == ["metadata"]:
            self._send(h, 200, self._capability())
            return
        if not self._authorized(h, record):
            return
        rtype = segs[0] if segs else None
        fault = self.fault if self.fault_types is None or rtype in self.fault_types else None
        if fault is not None and fault is not Fault.ENDLESS_NEXT:
            self._apply_fault(h, fault, parts.path, parts.query)
            return
        try:
            if method == "GET" and len(segs) == 2:
                self._read(h, segs[0], segs[1])
            elif method == "GET" and len(segs) == 1:
                self._search(h, segs[0], query, endless=fault is Fault.ENDLESS_NEXT)
            elif method == "PUT" and len(segs) == 2:
                self._write(h, segs[0], segs[1], body_raw)
            elif method == "POST" and not segs and self.accept_transactions:
                self._transaction(h, body_raw)
            else:
                self._send(h, 405, _outcome("not-supported", f"{method} {parts.path} is not supported"))
        except (ValueError, TypeError, KeyError) as err:
            self._send(h, 400, _outcome("invalid", f"bad request: {type(err).__name__}"))

    def _authorized(self, h: _Handler, record: RequestRecord) -> bool:
        if self.required_token is None:
            return True
        if record.bearer_token is None:
            self._send(h, 401, _outcome("login", "authentication required"),
                       headers={"WWW-Authenticate": 'Bearer realm="fhir-standin"'})
            return False
        if record.bearer_token != self.required_token:
            status = self.wrong_token_status
            code = "forbidden" if status == 403 else "login"
            self._send(h, status, _outcome(code, "token not accepted"),
                       headers={"WWW-Authenticate": 'Bearer realm="fhir-standin", error="invalid_token"'})
            return False
        return True

    def _apply_fault(self, h: _Handler, fault: Fault, path: str, query: str) -> None:
        if fault is Fault.SLOW:
            if self._stopping.wait(self.slow_s):
                return  # shutting down: drop the request
            self._send(h, 503, _outcome("timeout", "the stand-in was told to be slow"))
        elif fault is Fault.ERROR_500:
            self._send(h, 500, _outcome("exception", "simulated internal server error"))
        elif fault is Fault.MALFORMED_JSON:
            self._send_raw(h, 200, b'{"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {',
                           FHIR_JSON)
        elif fault is Fault.OPERATION_OUTCOME:
            self._send(h, self.outcome_status, _outcome("processing", "simulated: search could not be performed"))
        elif fault is Fault.REDIRECT:
            if not self.redirect_to:
                raise RuntimeError("Fault.REDIRECT needs redirect_to")
            target = self.redirect_to.rstrip("/") + path + (f"?{query}" if query else "")
            self._send(h, 302, _outcome("informational", "moved", "information"), headers={"Location": target})

    def _read(self, h: _Handler, rtype: str, rid: str) -> None:
        with self._lock:
            res = copy.deepcopy(self._resources.get((rtype, rid)))
        if res is None:
            self._send(h, 404, _outcome("not-found", f"{rtype}/{rid} is not known"))
        else:
            self._send(h, 200, res)

    def _matching(self, rtype: str, query: Mapping[str, list[str]]) -> list[dict[str, Any]]:
        with self._lock:
            candidates = [r for (t, _), r in self._resources.items() if t == rtype]
        out = []
        for res in candidates:
            ok = True
            for name, values in query.items():
                if name.startswith("_"):
                    continue
                for value in values:  # repeated parameters AND, comma-separated values OR
                    if name in ("patient", "subject"):
                        pid = value.split("/")[-1]
                        ref = (res.get("subject") or res.get("patient") or {}).get("reference")
                        ok = _ref_id(ref, "Patient") == pid
                    elif name == "code":
                        ok = _token_matches(res, value.split(","))
                    elif name == "status":
                        ok = res.get("status") in value.split(",")
                    elif name == "date":
                        ok = _date_matches(res, value)
                    elif name == "_id":
                        ok = res.get("id") in value.split(",")
                    else:
                        self.ignored_params.add(name)
                    if not ok:
                        break
                if not ok:
                    break
            if ok:
                out.append(copy.deepcopy(res))
        return out

    def _search(self, h: _Handler, rtype: str, query: Mapping[str, list[str]], *, endless: bool) -> None:
        matches = self._matching(rtype, query)
        try:
            count = min(int(query.get("_count", [str(self.default_count)])[-1]), MAX_COUNT)
            offset = int(query.get("_offset", ["0"])[-1])
        except ValueError:
            self._send(h, 400, _outcome("invalid", "_count and _offset must be integers"))
            return
        count = max(count, 1)
        page = matches[offset: offset + count]
        if endless and not page:
            page = matches[:count]  # the chain never runs dry: pages repeat the first page's resources
        entries = [{"fullUrl": f"{self.base_url}/{rtype}/{r['id']}", "resource": r, "search": {"mode": "match"}}
                   for r in page]
        for inc in self._includes(page, query.get("_include", [])):
            entries.append({"fullUrl": f"{self.base_url}/{inc['resourceType']}/{inc['id']}", "resource": inc,
                            "search": {"mode": "include"}})
        links = [{"relation": "self", "url": self._page_url(rtype, query, offset, count)}]
        if endless or offset + count < len(matches):
            links.append({"relation": "next", "url": self._page_url(rtype, query, offset + count, count)})
        bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": len(matches),
                                  "link": links}
        if endless:
            del bundle["total"]  # an endless chain cannot know its total
        if entries:
            bundle["entry"] = entries
        self._send(h, 200, bundle)

    def _includes(self, page: list[dict[str, Any]], specs: list[str]) -> list[dict[str, Any]]:
        wanted = {s for s in specs if s in ("MedicationStatement:medication", "MedicationRequest:medication")}
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for res in page:
            if f"{res.get('resourceType')}:medication" not in wanted:
                continue
            mid = _ref_id((res.get("medicationReference") or {}).get("reference"), "Medication")
            if mid is None:
                continue
            with self._lock:
                med = self._resources.get(("Medication", mid))
            if med is not None:
                out[("Medication", mid)] = copy.deepcopy(med)
        return list(out.values())

    def _page_url(self, rtype: str, query: Mapping[str, list[str]], offset: int, count: int) -> str:
        pairs = [(k, v) for k, vs in query.items() if k not in ("_count", "_offset") for v in vs]
        pairs += [("_count", str(count)), ("_offset", str(offset))]
        return f"{self.base_url}/{rtype}?{urlencode(pairs)}"

    def _write(self, h: _Handler, rtype: str, rid: str, raw: bytes) -> None:
        res = json.loads(raw or b"null")
        if not isinstance(res, dict) or res.get("resourceType") != rtype or res.get("id") != rid:
            self._send(h, 400, _outcome("invalid", "body must be the resource named by the URL"))
            return
        with self._lock:
            created = self._put(res)
        self._send(h, 201 if created else 200, res)

    def _transaction(self, h: _Handler, raw: bytes) -> None:
        bundle = json.loads(raw or b"null")
        if not isinstance(bundle, dict) or bundle.get("type") not in ("transaction", "batch"):
            self._send(h, 400, _outcome("invalid", "expected a transaction or batch Bundle"))
            return
        entries = bundle.get("entry") or []
        for entry in entries:
            req, res = entry.get("request") or {}, entry.get("resource") or {}
            segs = [s for s in str(req.get("url", "")).split("/") if s]
            if (req.get("method") != "PUT" or len(segs) != 2 or res.get("resourceType") != segs[0]
                    or res.get("id") != segs[1]):
                self._send(h, 400, _outcome("not-supported", "the stand-in takes only PUT Type/id entries"))
                return
        responses = []
        with self._lock:
            for entry in entries:
                created = self._put(entry["resource"])
                responses.append({"response": {"status": "201 Created" if created else "200 OK",
                                               "location": entry["request"]["url"]}})
        self._send(h, 200, {"resourceType": "Bundle", "type": f"{bundle['type']}-response", "entry": responses})

    def _capability(self) -> dict[str, Any]:
        types = ["Patient", "Observation", "Condition", "MedicationStatement", "MedicationRequest", "Medication"]
        return {"resourceType": "CapabilityStatement", "status": "active", "kind": "instance",
                "date": "2026-01-01", "fhirVersion": "4.0.1", "format": ["json"],
                "rest": [{"mode": "server", "resource": [
                    {"type": t, "interaction": [{"code": "read"}, {"code": "search-type"}, {"code": "update"}],
                     "searchParam": [{"name": n, "type": k} for n, k in (
                         ("patient", "reference"), ("code", "token"), ("status", "token"), ("date", "date"))]}
                    for t in types]}]}

    def _send(self, h: _Handler, status: int, body: Mapping[str, Any],
              headers: Mapping[str, str] | None = None) -> None:
        self._send_raw(h, status, json.dumps(body).encode(), FHIR_JSON, headers)

    @staticmethod
    def _send_raw(h: _Handler, status: int, payload: bytes, ctype: str,
                  headers: Mapping[str, str] | None = None) -> None:
        try:
            h.send_response(status, HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "")
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(payload)))
            for k, v in (headers or {}).items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its read timeout fired): nothing left to answer


# ---------------------------------------------------------------------------------------------- own process


class StandInProcess:
    """A :class:`FhirStandIn` in a child process, so that its request handling does not share the GIL with the
    code under measurement (the fallback benchmark times concurrent fetches; an in-process stand-in would
    slow them down and blur the figure). Only ``delay_s`` and data are configurable; no logs are visible.
    """

    def __init__(self, resources: Iterable[Mapping[str, Any]] = (), *, delay_s: float = 0.0,
                 startup_timeout_s: float = 30.0) -> None:
        self._resources = [dict(r) for r in resources]
        self.delay_s = delay_s
        self.startup_timeout_s = startup_timeout_s
        self._proc: Any = None
        self._tmp: Any = None
        self.port: int | None = None

    def start(self) -> StandInProcess:
        import subprocess
        import sys
        import tempfile

        self._tmp = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump(self._resources, self._tmp)
        self._tmp.close()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "leg_pain_cds_bench.fhir_standin", "--data", self._tmp.name,
             "--delay-s", repr(self.delay_s)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        ready = threading.Event()
        line: list[str] = []

        def _read() -> None:
            line.append(self._proc.stdout.readline())
            ready.set()

        threading.Thread(target=_read, daemon=True).start()
        if not ready.wait(self.startup_timeout_s) or not line[0].startswith("READY "):
            self.stop()
            raise RuntimeError("the stand-in process did not start")
        self.port = int(line[0].split()[1])
        return self

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("not started")
        return f"http://127.0.0.1:{self.port}/fhir"

    def stop(self) -> None:
        import os
        import subprocess

        if self._proc is not None:
            try:
                self._proc.stdin.close()  # the child stops when its stdin closes
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
            if self._proc.stdout is not None:
                self._proc.stdout.close()
            self._proc = None
        if self._tmp is not None:
            os.unlink(self._tmp.name)
            self._tmp = None
        self.port = None

    def __enter__(self) -> StandInProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _child_main(argv: list[str] | None = None) -> int:
    """``python -m leg_pain_cds_bench.fhir_standin --data FILE [--delay-s S]``: serve until stdin closes."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m leg_pain_cds_bench.fhir_standin")
    parser.add_argument("--data", help="JSON file: a list of resources or a Bundle")
    parser.add_argument("--delay-s", type=float, default=0.0)
    args = parser.parse_args(argv)
    server = FhirStandIn(delay_s=args.delay_s)
    if args.data:
        with open(args.data, encoding="utf-8") as fh:
            data = json.load(fh)
        server.add(*(data if isinstance(data, list) else [data]))
    server.start()
    try:
        sys.stdout.write(f"READY {server.port}\n")
        sys.stdout.flush()
        sys.stdin.read()  # blocks until the parent closes our stdin (or dies)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(_child_main())
