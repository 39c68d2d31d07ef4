"""Gather a patient's FHIR data for one hook call: prefetch first, then the client's fhirServer, else 412.

For each data key of the service (cards.registry.DataKey):
1. A prefetched value is used as sent: a resource, or a Bundle whose entries are flattened (OperationOutcome
   entries are counted, not fatal). A prefetched searchset with a ``next`` link is completed from fhirServer.
   A value that is not a FHIR resource (no resourceType; a Bundle whose ``entry`` is not an array of entries
   holding resources) is the client's error: 400 naming the key, never an empty result.
2. ``null`` means the client has no data for the key (CDS Hooks 2.0 "Prefetch Template"): a search key is an
   empty result, a resource read (the Patient) cannot be evaluated; neither is fetched.
3. A key that is missing or an OperationOutcome (the client's way of reporting a failed prefetch) is
   fetched from fhirServer with the key's fallback query - all such keys concurrently, with ONE requests.Session
   per hook call, connect and read timeouts, an overall budget, no redirects, ``next`` links followed only on the
   server's own origin and where the allowlist allows, up to FHIR_MAX_PAGES, at most FHIR_MAX_RESOURCES resources
   and FHIR_MAX_RESPONSE_MB per response. ``Authorization: Bearer`` is sent only when the client gave
   fhirAuthorization. Queries are appended to the fhirServer base as path segments (never ``urljoin``), and every
   URL is checked against the policy again right before it is requested (_Fetcher.get_json).
4. A required key that cannot be obtained raises DataUnavailable (412) naming each missing key and why; an
   optional one is noted in DataNotes and shown on the cards as "Not evaluated" - unless resources of its type
   came in under another key (MedicationRequests sent as ``medications``): those were read.
5. A current medication whose ``medicationReference`` names a Medication that was not sent (a client that skips
   the templates' ``_include``) is completed by reading ``Medication/<id>`` from fhirServer under the same rules;
   one that cannot be had is said on the cards ("a medication could not be identified").

``read_bundle`` and ``record_prefetch`` turn a FHIR Bundle of one patient's data (a file for ``leg-pain-cds
evaluate``; Synthea-style ``urn:uuid:`` fullUrls resolved) into the prefetch a client would send, so that a Bundle
takes the same path as a hook request.

Prefetch keys the service did not declare are ignored (their content was asked for by no template of ours).
When every key is prefetched, no request is made. ``allow_server`` is consulted before any request (the security
module replaces the default allow-all policy with the FHIR-server allowlist). The token is never logged; logs name
keys, hosts and statuses only (URLs carry the patient id).
"""
from __future__ import annotations

import logging
import re
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Callable, Iterator
from urllib.parse import urljoin, urlsplit

import orjson
import requests
from cards.facts import DataNotes, unresolved_medication_references
from cards.projection import Resource
from cards.registry import DataKey, Service
from requests.adapters import HTTPAdapter

from cds_service import limits
from cds_service.fhir import decode
from cds_service.config import DEFAULTS as _DEFAULTS
from cds_service.errors import NO_SERVER, BadHookRequest, DataUnavailable, Missing
from cds_service.schemas import HookCall
from cds_service.security.url_policy import BaseUrl, UrlPolicyError, parse_url

log = logging.getLogger(__name__)

ServerPolicy = Callable[[str], bool]
FHIR_JSON = "application/fhir+json"
CHUNK = 64 * 1024


def allow_all_servers(_url: str) -> bool:
    """Default policy: any fhirServer the client names (the security module restricts this)."""
    return True


@dataclass(frozen=True)
class FetchSettings:
    """Bounds on fhirServer access, from CDS_FHIR_* settings; the defaults are the service's (config.SETTINGS), so
    `leg-pain-cds evaluate --fetch` waits exactly as long as a hook call does."""

    timeout_s: float = float(_DEFAULTS["FHIR_TIMEOUT_S"])
    total_budget_s: float = float(_DEFAULTS["FHIR_TOTAL_BUDGET_S"])
    max_pages: int = int(_DEFAULTS["FHIR_MAX_PAGES"])
    max_resources: int = int(_DEFAULTS["FHIR_MAX_RESOURCES"])
    max_response_bytes: int = int(_DEFAULTS["FHIR_MAX_RESPONSE_MB"]) * 1024 * 1024
    # Told (outcome, seconds) of each request sent (the app's FHIR_REQUEST_OBSERVER: runtime/metrics.py).
    observe: Callable[[str, float], None] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_config(cls, conf: Any) -> FetchSettings:
        return cls(timeout_s=float(conf["FHIR_TIMEOUT_S"]), total_budget_s=float(conf["FHIR_TOTAL_BUDGET_S"]),
                   max_pages=int(conf["FHIR_MAX_PAGES"]), max_resources=int(conf["FHIR_MAX_RESOURCES"]),
                   max_response_bytes=int(conf["FHIR_MAX_RESPONSE_MB"]) * 1024 * 1024,
                   observe=conf.get("FHIR_REQUEST_OBSERVER"))


@dataclass
class Gathered:
    """Raw resources for build_facts, the keys obtained, and notes on what is missing or was skipped."""

    resources: list[Any] = field(default_factory=list)
    available: set[str] = field(default_factory=set)
    notes: DataNotes = field(default_factory=DataNotes)
    fetched: dict[str, int] = field(default_factory=dict)  # key -> number of HTTP requests made

    def drain(self) -> Iterator[Any]:
        """The resources, handed over one at a time and forgotten here (``resources`` is left empty).

        build_facts keeps what a rule may read and drops the rest - most Observations of a chart. Handed over this
        way, with the request body already let go (hooks.py), each dropped resource is freed as the builder passes
        it, while it is still in the CPU cache. Freed at the end of the request instead, the same objects cost ~2x
        as much to free as right after the parse (docs/performance.md).
        """
        items = self.resources
        self.resources = []
        items.reverse()
        pop = items.pop
        while items:
            yield pop()


class FetchFailed(Exception):
    """Why a key could not be fetched, in words fit for an OperationOutcome (no token, no patient id); ``outcome``
    is a fixed code for metrics."""

    def __init__(self, message: str, outcome: str = "refused") -> None:
        super().__init__(message)
        self.outcome = outcome


# ---------------------------------------------------------------------------------------------- prefetch


def _next_link(bundle: dict[str, Any]) -> str | None:
    links = bundle.get("link")
    for link in links if isinstance(links, list) else ():
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return str(link["url"])
    return None


def _entries(bundle: dict[str, Any], notes: DataNotes, key: str | None = None) -> list[Any]:
    """The resources of a Bundle's entries; entries without one, and OperationOutcome entries, noted and left out.

    ``key``: the Bundle is the client's prefetch for that key, and what cannot be a searchset's content (``entry``
    not an array, an entry or a resource that is not an object, a resource without a resourceType) is the client's
    error: BadHookRequest (400) naming the key, never an empty result that would read as "nothing found".
    """
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        if key is not None and entries is not None:
            raise BadHookRequest(f"prefetch.{key}: Bundle.entry must be an array of entries.")
        return []
    resources = limits.entry_resources(entries)
    if resources is not None:
        types = limits.resource_types(resources)
        if types is not None and "OperationOutcome" not in types and (
                key is None or set(map(type, types)) == {str} and "" not in types):
            return resources  # the common case, decided without a Python loop over the entries
    return list(_each_entry(entries, notes, key))


def _each_entry(entries: list[Any], notes: DataNotes, key: str | None = None) -> Iterator[Any]:
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if key is not None:
            problem = _entry_problem(entry, resource)
            if problem:
                raise BadHookRequest(f"prefetch.{key}: Bundle.entry[{index}] {problem}.")
        if not isinstance(resource, (dict, Resource)):  # a projected Observation (cds_service/fhir/decode.py)
            notes.skip("bundle-entry-without-resource")
            continue
        if resource.get("resourceType") == "OperationOutcome":
            notes.skip("operation-outcome-entry")  # search warnings: noted, the data beside them still counts
            continue
        yield resource


def _entry_problem(entry: Any, resource: Any) -> str | None:
    """What makes a prefetch Bundle entry unreadable, or None (an entry without a resource is allowed by FHIR)."""
    if not isinstance(entry, dict):
        return "is not an object"
    if resource is None:
        return None
    if not isinstance(resource, (dict, Resource)):
        return "holds a resource that is not an object"
    if not isinstance(resource.get("resourceType"), str) or not resource.get("resourceType"):
        return "holds a resource without a resourceType"
    return None


def is_outcome(value: Any) -> bool:
    return isinstance(value, dict) and value.get("resourceType") == "OperationOutcome"


# ---------------------------------------------------------------------------------------------- fetching


def _same_origin(url: str, base: str) -> bool:
    """Same scheme, host and port (default ports filled in); False for a URL the allowlist would never accept."""
    try:
        a, b = parse_url(url), parse_url(base)
    except UrlPolicyError:
        return False
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


def _resolve_link(page_url: str, link: str) -> str:
    """The absolute URL of a ``next`` link: as given, or resolved against the page it came in (RFC 3986).

    Only links are resolved this way; the service's own queries are appended to the base (_Fetcher.url_for). The
    result is checked like any other URL before it is requested (_Fetcher.get_json).
    """
    return link if urlsplit(link).scheme else urljoin(page_url, link)


class _Fetcher:
    """One hook call's access to fhirServer: one Session, a deadline, a shared resource budget."""

    def __init__(self, base: str, token: str | None, settings: FetchSettings, pool: int,
                 allow_server: ServerPolicy = allow_all_servers) -> None:
        # The base as the allowlist reads it. A query or fragment (refused at the request schema) would swallow
        # what is appended to it, so such a base, like any the allowlist could never accept, is used for nothing.
        try:
            self.base_url: BaseUrl | None = parse_url(base, allow_query=False)
        except UrlPolicyError:
            self.base_url = None
        self.base = f"{self.base_url}/" if self.base_url else base
        self.allow_server = allow_server
        self.settings = settings
        self.deadline = time.monotonic() + settings.total_budget_s
        self.resources_left = settings.max_resources
        self._lock = threading.Lock()
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy or .netrc credentials picked up from the environment
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(pool, 1), max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.clear()
        self.session.headers.update({"Accept": FHIR_JSON, "User-Agent": "leg-pain-cds"})
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self.session.close()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _take(self, wanted: int) -> int:
        """Reserve up to `wanted` resources from the call's FHIR_MAX_RESOURCES budget (shared by all threads)."""
        with self._lock:
            allowed = min(wanted, self.resources_left)
            self.resources_left -= allowed
            return allowed

    def url_for(self, relative: str) -> str:
        """The base with a query's path segments appended (``Patient/p1``, ``Observation?patient=p1&...``).

        Never ``urljoin``: it resolves against the base's last segment, so ``.../fhir/r4?x=1`` or a base without a
        trailing ``/`` would lose ``r4`` and send the token to ``.../fhir/Patient/p1``, outside the allowlisted path.
        """
        if self.base_url is None:
            raise FetchFailed("fhirServer is not a usable FHIR base URL (a query, fragment or dot segment)")
        url = self.base + relative.lstrip("/")
        try:
            inside = self.base_url.covers(parse_url(url))
        except UrlPolicyError:
            inside = False
        if not inside:  # a context id that would leave the base (quoted by the template, so this is a backstop)
            raise FetchFailed("the query would leave fhirServer's base path and was not sent")
        return url

    def _check_requested(self, url: str) -> None:
        """The last gate before a request: a well-formed URL on fhirServer's own origin that the policy allows."""
        if self.base_url is None or not _same_origin(url, self.base):
            raise FetchFailed("a request outside fhirServer was not sent")
        if not self.allow_server(url):
            raise FetchFailed("fhirServer is not on the allowlist")

    def get_json(self, url: str) -> dict[str, Any]:
        self._check_requested(url)
        left = self.remaining()
        if left <= 0:
            raise FetchFailed(f"time budget of {self.settings.total_budget_s:g} s used up")
        timeout = min(self.settings.timeout_s, left)
        if self.settings.observe is None:
            return self._request(url, timeout)
        started, outcome = time.perf_counter(), "error"
        try:
            data = self._request(url, timeout)
            outcome = "ok"
            return data
        except FetchFailed as err:
            outcome = err.outcome
            raise
        finally:
            self.settings.observe(outcome, time.perf_counter() - started)

    def _request(self, url: str, timeout: float) -> dict[str, Any]:
        try:
            with self.session.get(url, timeout=(timeout, timeout), allow_redirects=False, stream=True) as resp:
                if resp.is_redirect or 300 <= resp.status_code < 400:
                    raise FetchFailed(f"fhirServer answered with a redirect (HTTP {resp.status_code}), "
                                      "which is not followed", "redirect")
                if resp.status_code in (401, 403):
                    raise FetchFailed(f"fhirServer rejected the access token (HTTP {resp.status_code})",
                                      "unauthorized")
                if resp.status_code != 200:
                    raise FetchFailed(f"fhirServer error (HTTP {resp.status_code})",
                                      f"http-{resp.status_code // 100}xx")
                body = self._read(resp)
        except requests.Timeout as err:
            raise FetchFailed(f"fhirServer did not answer within {timeout:.3g} s (timeout)", "timeout") from err
        except requests.ConnectionError as err:
            raise FetchFailed("could not connect to fhirServer", "connection-error") from err
        except requests.RequestException as err:
            raise FetchFailed(f"request to fhirServer failed ({type(err).__name__})", "error") from err
        data: Any = decode.fhir_resource(body)  # Observations as the cards projection, as in a prefetch
        if data is None:
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError as err:
                raise FetchFailed("fhirServer sent malformed JSON", "invalid") from err
        if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
            raise FetchFailed("fhirServer sent JSON that is not a FHIR resource", "invalid")
        if data["resourceType"] == "OperationOutcome":
            raise FetchFailed("fhirServer answered with an OperationOutcome instead of data", "operation-outcome")
        return data

    def _read(self, resp: requests.Response) -> bytes:
        limit = self.settings.max_response_bytes
        declared = resp.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise FetchFailed(f"fhirServer response larger than {limit // (1024 * 1024)} MB", "too-large")
        chunks: list[bytes] = []
        size = 0
        for chunk in resp.iter_content(CHUNK):
            size += len(chunk)
            if size > limit:
                raise FetchFailed(f"fhirServer response larger than {limit // (1024 * 1024)} MB", "too-large")
            if self.remaining() <= 0:  # a slow-drip server must not outlive the budget
                raise FetchFailed(f"time budget of {self.settings.total_budget_s:g} s used up", "timeout")
            chunks.append(chunk)
        return b"".join(chunks)

    def fetch_key(self, key: DataKey, relative: str) -> tuple[list[Any], int, DataNotes]:
        """GET the key's query and its `next` pages; return resources, requests made and notes (per thread)."""
        return self.fetch_url(key.key, self.url_for(relative), first_page=1)

    def fetch_url(self, key: str, url: str, first_page: int) -> tuple[list[Any], int, DataNotes]:
        resources: list[Any] = []
        made, notes = 0, DataNotes()
        try:
            made = self._pages(key, url, first_page, resources, notes)
        except FetchFailed as err:
            err.notes = notes  # type: ignore[attr-defined]
            raise
        return resources, made, notes

    def _pages(self, key: str, url: str, first_page: int, resources: list[Any], notes: DataNotes) -> int:
        requests_made = 0
        page = first_page
        while True:
            data = self.get_json(url)
            requests_made += 1
            batch = list(_entries(data, notes)) if data["resourceType"] == "Bundle" else [data]
            allowed = self._take(len(batch))
            resources.extend(batch[:allowed])
            if allowed < len(batch):
                notes.note_missing(f"{key}: only the first {self.settings.max_resources} resources were read")
                return requests_made
            nxt = _next_link(data) if data["resourceType"] == "Bundle" else None
            if nxt is None:
                return requests_made
            nxt = _resolve_link(url, nxt)
            # Followed only on fhirServer's own origin, and only where the allowlist (its path rule included)
            # lets the token go: a paging server may not send it elsewhere.
            if not _same_origin(nxt, self.base) or not self.allow_server(nxt):
                notes.note_missing(f"{key}: a next page on another server was not followed")
                return requests_made
            if page >= self.settings.max_pages:
                notes.note_missing(f"{key}: only the first {self.settings.max_pages} pages were read")
                return requests_made
            page += 1
            url = nxt


# ---------------------------------------------------------------------------------------------- gather


def gather(call: HookCall, service: Service, *, now: datetime, settings: FetchSettings,
           allow_server: ServerPolicy = allow_all_servers) -> Gathered:
    """Collect the raw resources for `call`; DataUnavailable (412) when required data cannot be had."""
    out = Gathered()
    prefetch = call.prefetch or {}
    to_fetch: dict[str, str] = {}  # key -> why it needs fetching (the 412 reason when there is no server)
    continue_pages: dict[str, str] = {}  # key -> next-page URL of a paged prefetch
    unavailable: dict[str, Missing] = {}  # key -> why it cannot be had, without asking fhirServer
    for key in service.data_keys:
        expected_id = call.patient_id if key.context_field == "patientId" else call.context.get(key.context_field)
        if not isinstance(expected_id, str) or not expected_id:
            continue  # e.g. the Encounter key of a call without context.encounterId: nothing to read
        if key.key not in prefetch:
            to_fetch[key.key] = "not prefetched"
            continue
        value = prefetch[key.key]
        if value is None:
            # CDS Hooks 2.0 "Prefetch Template": null means the client has no data for the key. A search with no
            # data is an empty result; a resource read (the Patient) with none cannot be evaluated. Not fetched.
            if "?" in key.template:
                out.available.add(key.key)
            else:
                unavailable[key.key] = Missing("prefetch was null (the client has no data for it)")
            continue
        if not isinstance(value.get("resourceType"), str) or not value["resourceType"]:
            raise BadHookRequest(f"prefetch.{key.key} is not a FHIR resource: it has no resourceType (a key the "
                                 "client has no data for is sent as null, or left out).")
        if is_outcome(value):
            out.notes.skip("operation-outcome-prefetch")
            to_fetch[key.key] = "prefetch held an OperationOutcome"
        elif value.get("resourceType") == "Bundle":
            out.resources.extend(_entries(value, out.notes, key.key))
            out.available.add(key.key)
            nxt = _next_link(value)
            if nxt:
                continue_pages[key.key] = nxt
        elif "?" not in key.template and (value.get("resourceType") != key.resource_type
                                          or value.get("id") not in (None, expected_id)):
            # An instance read (the Patient) must be that resource: a prefetch for another patient, or of another
            # type, is not this patient's data - fetch it, or answer 412, rather than evaluate without it.
            out.notes.skip("prefetch-wrong-resource")
            to_fetch[key.key] = (f"prefetch held a resource of type {value['resourceType']}, not a "
                                 f"{key.resource_type}"
                                 if value.get("resourceType") != key.resource_type
                                 else f"prefetch held a {key.resource_type} other than context.{key.context_field}")
        else:
            out.resources.append(value)
            out.available.add(key.key)

    started = time.monotonic()
    before = len(out.resources)
    failures: dict[str, Missing] = dict(unavailable)
    server = call.fhir_server
    if not to_fetch and not continue_pages:
        pass  # prefetch complete: no FHIR call for the keys
    elif server is None:
        failures.update({k: Missing(why, NO_SERVER) for k, why in to_fetch.items()})
        for name in continue_pages:
            out.notes.note_missing(f"{name}: only the first prefetched page was available (no fhirServer)")
    elif not allow_server(server):
        log.warning("fhirServer refused by policy", extra={"hookInstance": call.hook_instance,
                                                           "fhir_host": urlsplit(server).hostname})
        failures.update({k: Missing(why, "fhirServer is not on the allowlist") for k, why in to_fetch.items()})
        for name in continue_pages:
            out.notes.note_missing(f"{name}: further prefetch pages not fetched (fhirServer not allowed)")
    else:
        failures.update(_fetch_all(call, service, server, to_fetch, continue_pages, now, settings, out,
                                   allow_server))

    missing_required: dict[str, Missing] = {}
    supplied: set[Any] | None = None
    for key_name, why in failures.items():
        key = service.data_key(key_name)
        if key.required:
            missing_required[key_name] = why
            continue
        if supplied is None:
            supplied = _types_of(out.resources)
        if key.resource_type in supplied:
            # Its resources came in under another key (a `medications` prefetch that returned MedicationRequests,
            # as Synthea-style records hold no MedicationStatement): they were read, so the key is not "Not
            # evaluated" (build_facts reads each resource by its type, whichever key brought it).
            out.available.add(key_name)
            continue
        if key.noted_when_missing:
            out.notes.note_missing(f"{key_name} ({why})")
        else:
            out.notes.skip(f"{key_name}-unavailable")
    if missing_required:
        raise DataUnavailable(missing_required)
    # The budget left for Medications: what the keys' fetching (one budget per hook call) did not use.
    left = replace(settings, total_budget_s=settings.total_budget_s - (time.monotonic() - started),
                   max_resources=settings.max_resources - (len(out.resources) - before))
    fetch_referenced_medications(call, out, left, allow_server)
    return out


#: At most this many referenced Medications are fetched for one hook call (each is one GET, run concurrently
#: within the call's time budget); references beyond it stay unresolved and are said on the cards.
MAX_MEDICATION_FETCHES = 50
#: A FHIR id (R4 "id" datatype), of at least one letter or digit: anything else is not fetched (no ``..``).
_FHIR_ID = re.compile(r"(?=[^/]*[A-Za-z0-9])[A-Za-z0-9\-.]{1,64}")


def _fetchable_medication(reference: str, server: str) -> str | None:
    """The id of a ``Medication/<id>`` reference to be read from ``server``: relative, or absolute on it."""
    base = server.rstrip("/") + "/"
    if reference.startswith(base):
        reference = reference[len(base):]
    elif urlsplit(reference).scheme:
        return None  # a Medication on another server: the token is not sent there
    parts = reference.split("/")
    if len(parts) in (2, 4) and parts[0] == "Medication" and (len(parts) == 2 or parts[2] == "_history"):
        return parts[1] if _FHIR_ID.fullmatch(parts[1]) else None
    return None


def fetch_referenced_medications(call: HookCall, out: Gathered, settings: FetchSettings,
                                 allow_server: ServerPolicy = allow_all_servers) -> None:
    """Read from fhirServer each Medication that a current MedicationStatement/Request (or a draft order) refers to
    and that was not sent (a client may skip the ``_include`` of the prefetch templates).

    As for a missing key: only from an allowed fhirServer, with the call's token, within what is left of the call's
    time and resource budget. A Medication that cannot be had is not an error: build_facts notes on the cards that
    a medication could not be identified.
    """
    server = call.fhir_server
    if server is None or not allow_server(server):
        return  # nothing to ask: build_facts notes what stays unresolved
    references = unresolved_medication_references(out.resources, call.draft_orders)
    if not references:
        return
    ids = list(dict.fromkeys(i for i in (_fetchable_medication(r, server) for r in references) if i))
    if len(ids) > MAX_MEDICATION_FETCHES:
        log.info("medication fetches capped", extra={"hookInstance": call.hook_instance, "wanted": len(ids),
                                                     "cap": MAX_MEDICATION_FETCHES})
        ids = ids[:MAX_MEDICATION_FETCHES]
    if not ids:
        return
    if settings.total_budget_s <= 0 or settings.max_resources <= 0:
        log.info("medication fetch skipped", extra={"hookInstance": call.hook_instance, "wanted": len(ids),
                                                    "reason": "budget used up"})
        return
    workers = min(len(ids), 8)
    fetcher = _Fetcher(server, call.access_token, settings, pool=workers, allow_server=allow_server)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fhir-medication")
    got, failed, made = 0, 0, 0
    try:
        futures = {pool.submit(fetcher.fetch_key, DataKey(f"Medication/{mid}", "Medication", f"Medication/{mid}",
                                                          required=False), f"Medication/{mid}"): mid
                   for mid in ids}
        done, pending = wait(futures, timeout=max(fetcher.remaining(), 0) + 0.05)
        for fut in done:
            try:
                resources, requests_made, _notes = fut.result()
            except FetchFailed:
                failed += 1
                continue
            made += requests_made
            # Only the Medication asked for: anything else a server sends back is not what was referenced.
            found = [r for r in resources if isinstance(r, dict) and r.get("resourceType") == "Medication"
                     and r.get("id") == futures[fut]]
            got += bool(found)
            out.resources.extend(found)
        for fut in pending:
            fut.cancel()
            failed += 1
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        fetcher.close()
    if made:
        out.fetched["medication-references"] = made
    log.info("medication fetch done", extra={"hookInstance": call.hook_instance, "wanted": len(ids),
                                             "found": got, "failed": failed})


def _types_of(resources: list[Any]) -> set[Any]:
    """The resourceTypes among gathered resources (plain objects or projected Observations)."""
    types = limits.resource_types(resources)
    if types is not None:
        return set(types)
    return {r.get("resourceType") for r in resources if isinstance(r, (dict, Resource))}


def _merge(into: DataNotes, notes: DataNotes | None) -> None:
    if notes is None:
        return
    into.skipped.update(notes.skipped)
    for text in notes.missing:
        into.note_missing(text)


def _fetch_all(call: HookCall, service: Service, server: str, to_fetch: dict[str, str],
               continue_pages: dict[str, str], now: datetime, settings: FetchSettings, out: Gathered,
               allow_server: ServerPolicy = allow_all_servers) -> dict[str, Missing]:
    jobs = len(to_fetch) + len(continue_pages)
    fetcher = _Fetcher(server, call.access_token, settings, pool=jobs, allow_server=allow_server)
    failures: dict[str, Missing] = {}
    started = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="fhir-fetch")
    try:
        futures: dict[Future[tuple[list[Any], int, DataNotes]], tuple[str, bool]] = {}
        for name in to_fetch:
            key = service.data_key(name)
            futures[pool.submit(fetcher.fetch_key, key, key.fallback_query(call.patient_id, now, call.context))] = \
                (name, False)
        for name, url in continue_pages.items():
            absolute = _resolve_link(fetcher.base, url)
            if not _same_origin(absolute, fetcher.base) or not fetcher.allow_server(absolute):
                out.notes.note_missing(f"{name}: prefetch next page is on another server and was not followed")
                continue
            futures[pool.submit(fetcher.fetch_url, name, absolute, 2)] = (name, True)
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=max(fetcher.remaining(), 0) + 0.05, return_when=FIRST_COMPLETED)
            if not done:
                break  # budget gone; every request also carries a timeout bounded by the same budget
            for fut in done:
                name, is_continuation = futures[fut]
                try:
                    resources, made, notes = fut.result()
                except FetchFailed as err:
                    _merge(out.notes, getattr(err, "notes", None))
                    if is_continuation:
                        out.notes.note_missing(f"{name}: further prefetch pages could not be fetched ({err})")
                    else:
                        failures[name] = Missing(to_fetch[name], f"fetching it failed: {err}")
                    log.info("fhir fetch failed", extra={"hookInstance": call.hook_instance, "key": name,
                                                         "reason": str(err)})
                    continue
                _merge(out.notes, notes)
                out.resources.extend(resources)
                out.available.add(name)
                out.fetched[name] = out.fetched.get(name, 0) + made
        for fut in pending:
            name, is_continuation = futures[fut]
            fut.cancel()
            if is_continuation:
                out.notes.note_missing(f"{name}: further prefetch pages not fetched within the time budget")
            else:
                failures[name] = Missing(to_fetch[name], "fetching it exceeded the time budget of "
                                                         f"{settings.total_budget_s:g} s")
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        fetcher.close()
    log.info("fhir fetch done", extra={"hookInstance": call.hook_instance, "keys": sorted(out.fetched),
                                       "failed": sorted(failures), "ms": round((time.monotonic() - started) * 1000)})
    return failures


# ---------------------------------------------------------------------------------------------- Bundles (files)

#: Bundle.type values whose entries are resources of a patient's record (FHIR R4 Bundle.type). The others
#: (history, message, transaction-response, batch-response) carry versions, events or outcomes, not a record.
RECORD_BUNDLE_TYPES = ("transaction", "collection", "batch", "searchset", "document")
#: The ``Type/id`` at the end of an absolute fullUrl (``https://server/fhir/Patient/123[/_history/2]``).
_URL_TAIL = re.compile(r"/([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?/?$")
#: Search keys whose resources name a Medication: a Bundle's Medications go with them (as ``_include`` would).
_NAMES_MEDICATION = ("MedicationStatement", "MedicationRequest")


class BundleError(ValueError):
    """A Bundle that cannot be read as one patient's record; the message says what is wrong."""


class AmbiguousPatient(BundleError):
    """The Bundle holds more than one Patient and none was chosen."""

    def __init__(self, ids: list[str]) -> None:
        super().__init__(f"the Bundle holds {len(ids)} Patients ({', '.join(ids)})")
        self.ids = ids


@dataclass(frozen=True)
class BundleRecord:
    """One patient's resources from a Bundle: entry resources with ids, references to entries as ``Type/id``."""

    patient: dict[str, Any]
    resources: tuple[dict[str, Any], ...]

    @property
    def patient_id(self) -> str:
        return str(self.patient["id"])


def _id_from_full_url(full_url: str, resource_type: str) -> str | None:
    """The id a fullUrl gives its resource: the uuid/oid of a ``urn:``, or the id at the end of a URL."""
    for prefix in ("urn:uuid:", "urn:oid:"):
        if full_url.startswith(prefix):
            return full_url[len(prefix):] or None
    m = _URL_TAIL.search(full_url)
    return m.group(2) if m and m.group(1) == resource_type else None


def _rewrite_references(value: Any, targets: dict[str, str]) -> Any:
    """A copy of ``value`` with every ``reference`` that is a key of ``targets`` replaced by its value."""
    if isinstance(value, dict):
        out = {k: _rewrite_references(v, targets) for k, v in value.items()}
        ref = out.get("reference")
        if isinstance(ref, str) and ref in targets:
            out["reference"] = targets[ref]
        return out
    if isinstance(value, list):
        return [_rewrite_references(v, targets) for v in value]
    return value


def read_bundle(bundle: dict[str, Any], patient: str | None = None) -> BundleRecord:
    """One patient's record from a transaction, batch, collection, searchset or document Bundle (pure).

    Synthea and similar generators identify resources by ``urn:uuid:`` fullUrls only: each entry resource without
    an id gets the one its fullUrl gives (the uuid), and every ``reference`` equal to an entry's fullUrl (a
    ``urn:uuid:`` or an absolute URL) becomes ``Type/id``, wherever it is (subject, patient, medicationReference,
    ...). ``patient`` (an id, or the Patient's fullUrl) chooses among several Patients; BundleError says what is
    wrong (AmbiguousPatient: several Patients, none chosen). The input is not modified.
    """
    kind = bundle.get("type")
    if kind is not None and kind not in RECORD_BUNDLE_TYPES:
        raise BundleError(f"a Bundle of type {kind!r} is not a patient record (expected type "
                          f"{', '.join(RECORD_BUNDLE_TYPES)})")
    entries = bundle.get("entry")
    if entries is not None and not isinstance(entries, list):
        raise BundleError("Bundle.entry is not an array")
    taken: list[dict[str, Any]] = []
    targets: dict[str, str] = {}  # fullUrl -> Type/id
    for entry in entries or ():
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue  # a DELETE of a transaction, or no resource: nothing to read
        rtype, rid, full_url = resource.get("resourceType"), resource.get("id"), entry.get("fullUrl")
        if isinstance(rtype, str) and isinstance(full_url, str) and full_url:
            if not (isinstance(rid, str) and rid):
                rid = _id_from_full_url(full_url, rtype)
                if rid:
                    resource = {**resource, "id": rid}
            if isinstance(rid, str) and rid:
                targets.setdefault(full_url, f"{rtype}/{rid}")
        taken.append(resource)
    resources = tuple(_rewrite_references(r, targets) for r in taken)

    patients = [r for r in resources if r.get("resourceType") == "Patient"]
    if not patients:
        raise BundleError("the Bundle holds no Patient")
    if any(not (isinstance(p.get("id"), str) and p["id"]) for p in patients):
        raise BundleError("a Patient in the Bundle has neither an id nor a fullUrl to take one from")
    ids = list(dict.fromkeys(str(p["id"]) for p in patients))
    if patient is not None:
        wanted = targets.get(patient, f"Patient/{patient}")
        chosen = [p for p in patients if f"Patient/{p['id']}" == wanted]
        if not chosen:
            raise BundleError(f"the Bundle holds no Patient {patient!r} (its Patients: {', '.join(ids)})")
    elif len(ids) > 1:
        raise AmbiguousPatient(ids)
    else:
        chosen = patients
    return BundleRecord(patient=chosen[0], resources=resources)


def _searchset(matches: list[dict[str, Any]], included: list[dict[str, Any]]) -> dict[str, Any]:
    entries = [{"resource": r, "search": {"mode": "match"}} for r in matches]
    entries += [{"resource": r, "search": {"mode": "include"}} for r in included]
    return {"resourceType": "Bundle", "type": "searchset", "total": len(matches), "entry": entries}


def record_prefetch(record: BundleRecord, service: Service) -> dict[str, Any]:
    """The prefetch a client holding ``record`` would send ``service``: each data key's resources by type.

    The record is the patient's data as a whole, so every key is filled (a type the Bundle lacks gives an empty
    searchset: the patient has none). Medications go with the keys whose resources name them. build_facts still
    decides on each resource (status, other patients, dates), as for any prefetch.
    """
    medications = [r for r in record.resources if r.get("resourceType") == "Medication"]
    prefetch: dict[str, Any] = {}
    for key in service.data_keys:
        if key.context_field != "patientId":
            continue  # the Encounter of context.encounterId: a record names no current encounter
        if "?" not in key.template:  # an instance read: the Patient
            prefetch[key.key] = record.patient if key.resource_type == "Patient" else None
            continue
        matches = [r for r in record.resources if r.get("resourceType") == key.resource_type]
        prefetch[key.key] = _searchset(matches, medications if key.resource_type in _NAMES_MEDICATION else [])
    return prefetch
