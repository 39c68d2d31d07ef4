"""Synthetic sample patients: list them, materialize them at a moment, turn them into hook requests, load them.

The patients are FHIR R4 transaction Bundles shipped as package data in ``cds_service/samples/`` (one file per
patient, PUT entries with stable ids) with a manifest ``samples/index.json`` that says which card topics each
should trigger, and at which indicator. They are clearly synthetic (family name "Sample", ``meta.tag`` HTEST).

Relative dates: in the files, any JSON string that is exactly ``{{now-<N>d}}`` becomes the dateTime N days before
``now`` (N may have decimals, e.g. ``{{now-0.5d}}``), and ``{{date-<N>d}}`` the calendar date N days before
``now`` (birth dates, so that ages stay constant). So a potassium from "5 days ago" is 5 days old whenever the
sample is materialized, evaluated or loaded (``leg-pain-cds evaluate`` resolves them in any file it reads, against
its ``--now``). See docs/samples.md.

CLI glue: :func:`register` adds ``samples list``, ``samples load`` and ``samples request`` to an argparse
sub-parser collection; each handler returns the process exit code.
"""
from __future__ import annotations

import argparse
import copy
import json
import re
import sys
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from importlib import resources
from typing import Any, TextIO
from urllib.parse import quote, urlsplit

import requests

SANDBOX_URL = "https://sandbox.cds-hooks.org/"
#: Where ``leg-pain-cds serve`` listens by default on the same machine; override with --service-url.
DEFAULT_SERVICE_URL = "http://localhost:8080"
SERVICE_ID = "leg-pain-causes"
HOOK = "patient-view"
SAMPLE_USER = "Practitioner/lpc-sample-clinician"
#: Namespace for deterministic hookInstance uuids (uuid5 of sample name and moment).
_UUID_NS = uuid.UUID("6f1c1d2e-4b0a-5c3e-9d7f-1a2b3c4d5e6f")
_TOKEN = re.compile(r"^\{\{(now|date)-(\d+(?:\.\d+)?)d\}\}$")
#: (connect, read) seconds for each request to a FHIR server while loading.
LOAD_TIMEOUT = (5.0, 60.0)
#: Prefetch keys and what fills them; MedicationStatement/MedicationRequest carry their referenced Medication
#: the way ``_include=…:medication`` does on a server.
PREFETCH_TYPES: dict[str, tuple[str, ...]] = {
    "observations": ("Observation",),
    "medications": ("MedicationStatement",),
    "conditions": ("Condition",),
    "medicationRequests": ("MedicationRequest",),
}


class SampleError(ValueError):
    """Unknown sample name or a malformed sample file."""


@dataclass(frozen=True)
class Expectation:
    topic: str
    indicator: str
    because: str


@dataclass(frozen=True)
class Sample:
    """One entry of ``samples/index.json``."""

    id: str
    file: str
    title: str
    description: str
    expect: tuple[Expectation, ...]
    exercises: tuple[str, ...]

    @property
    def topics(self) -> dict[str, str]:
        """Expected topic code -> indicator."""
        return {e.topic: e.indicator for e in self.expect}


def _samples_dir() -> Any:
    return resources.files("cds_service") / "samples"


@lru_cache(maxsize=1)
def _index() -> dict[str, Sample]:
    raw = json.loads((_samples_dir() / "index.json").read_text(encoding="utf-8"))
    out: dict[str, Sample] = {}
    for p in raw["patients"]:
        out[p["id"]] = Sample(id=p["id"], file=p["file"], title=p["title"], description=p["description"],
                              expect=tuple(Expectation(**e) for e in p["expect"]),
                              exercises=tuple(p.get("exercises", ())))
    return out


def list_samples() -> list[Sample]:
    """Every shipped sample patient, in manifest order."""
    return list(_index().values())


def sample(name: str) -> Sample:
    try:
        return _index()[name]
    except KeyError:
        raise SampleError(f"unknown sample {name!r}; known: {', '.join(_index())}") from None


@lru_cache(maxsize=None)
def _template(name: str) -> str:
    return str((_samples_dir() / sample(name).file).read_text(encoding="utf-8"))


def _as_utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise SampleError("now must be timezone-aware")
    return now.astimezone(timezone.utc)


def _resolve(value: Any, now: datetime) -> Any:
    if isinstance(value, str):
        m = _TOKEN.match(value)
        if m is None:
            return value
        moment = now - timedelta(days=float(m.group(2)))
        if m.group(1) == "date":
            return moment.date().isoformat()
        return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    if isinstance(value, list):
        return [_resolve(v, now) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, now) for k, v in value.items()}
    return value


def relative_dates(value: Any) -> int:
    """How many strings in ``value`` (decoded JSON) are relative dates, ``{{now-<N>d}}`` or ``{{date-<N>d}}``."""
    if isinstance(value, str):
        return 1 if _TOKEN.match(value) else 0
    if isinstance(value, list):
        return sum(map(relative_dates, value))
    if isinstance(value, dict):
        return sum(map(relative_dates, value.values()))
    return 0


def resolve_relative_dates(value: Any, now: datetime) -> Any:
    """A copy of ``value`` (decoded JSON) with every relative date resolved against ``now`` (aware datetime).

    The convention of the sample files (module docstring); ``materialize`` and ``leg-pain-cds evaluate`` use it.
    """
    return _resolve(value, _as_utc(now))


def materialize(name: str, now: datetime) -> dict[str, Any]:
    """The sample's transaction Bundle with every relative date resolved against ``now`` (aware datetime)."""
    bundle = resolve_relative_dates(json.loads(_template(name)), now)
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise SampleError(f"sample {name} is not a Bundle")
    return bundle


def resources_of(bundle: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle.get("entry") or [] if isinstance(e.get("resource"), dict)]


def patient_id(bundle: Mapping[str, Any]) -> str:
    for res in resources_of(bundle):
        if res.get("resourceType") == "Patient":
            return str(res["id"])
    raise SampleError("sample bundle holds no Patient")


def _searchset(resources_: list[dict[str, Any]], included: list[dict[str, Any]]) -> dict[str, Any]:
    entries = [{"resource": r, "search": {"mode": "match"}} for r in resources_]
    entries += [{"resource": r, "search": {"mode": "include"}} for r in included]
    out: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": len(resources_)}
    if entries:
        out["entry"] = entries
    return out


def _included_medications(matches: list[dict[str, Any]], by_key: Mapping[tuple[str, str], dict[str, Any]]
                          ) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for res in matches:
        ref = (res.get("medicationReference") or {}).get("reference", "")
        if ref.startswith("Medication/") and ("Medication", ref.split("/", 1)[1]) in by_key:
            out[ref] = by_key[("Medication", ref.split("/", 1)[1])]
    return list(out.values())


def prefetch(bundle: Mapping[str, Any]) -> dict[str, Any]:
    """Prefetch as a CDS client would send it: the Patient and one searchset Bundle per search key."""
    all_res = resources_of(bundle)
    by_key = {(r["resourceType"], r["id"]): r for r in all_res}
    pid = patient_id(bundle)
    out: dict[str, Any] = {"patient": by_key[("Patient", pid)]}
    for key, types in PREFETCH_TYPES.items():
        matches = [r for r in all_res if r["resourceType"] in types]
        out[key] = _searchset(matches, _included_medications(matches, by_key))
    return out


def hook_request(name: str, now: datetime, with_prefetch: bool = True, *, fhir_server: str | None = None,
                 access_token: str | None = None) -> dict[str, Any]:
    """A ``patient-view`` CDS Hooks 2.0 request for the sample patient at ``now``.

    With ``with_prefetch`` the prefetch keys ``patient``, ``observations``, ``medications``, ``conditions``
    and ``medicationRequests`` are filled from the bundle. ``fhir_server`` adds ``fhirServer`` (and, with
    ``access_token``, a ``fhirAuthorization``). The hookInstance is a uuid5 of name and moment: reproducible.
    """
    bundle = materialize(name, now)
    pid = patient_id(bundle)
    req: dict[str, Any] = {
        "hookInstance": str(uuid.uuid5(_UUID_NS, f"{name}@{_as_utc(now).isoformat()}")),
        "hook": HOOK,
        "context": {"userId": SAMPLE_USER, "patientId": pid},
    }
    if fhir_server:
        req["fhirServer"] = fhir_server.rstrip("/")
        if access_token:
            req["fhirAuthorization"] = {"access_token": access_token, "token_type": "Bearer", "expires_in": 300,
                                        "scope": "patient/*.read", "subject": "leg-pain-cds", "patient": pid}
    elif access_token:
        raise SampleError("access_token needs fhir_server")
    if with_prefetch:
        req["prefetch"] = prefetch(bundle)
    return req


def sandbox_link(fhir_server: str, patient: str, service_url: str = DEFAULT_SERVICE_URL) -> str:
    """A CDS Hooks Sandbox link preset to this FHIR server, patient and discovery URL.

    Parameters as documented in the cds-hooks/sandbox README ("Pre-configuration via URL parameters"):
    ``fhirServiceUrl`` and ``serviceDiscoveryURL`` URL-encoded, ``patientId``, ``hook``.
    """
    discovery = discovery_url(service_url)
    return (f"{SANDBOX_URL}?fhirServiceUrl={quote(fhir_server.rstrip('/'), safe='')}"
            f"&patientId={quote(patient, safe='')}&serviceDiscoveryURL={quote(discovery, safe='')}&hook={HOOK}")


def discovery_url(service_url: str) -> str:
    """``http://host:port`` or ``…/cds-services`` -> the discovery URL."""
    base = service_url.rstrip("/")
    return base if base.endswith("/cds-services") else f"{base}/cds-services"


# ---------------------------------------------------------------------------------------------- loading


@dataclass
class LoadReport:
    """What ``load`` did: created/updated per resource type, failures, and one Sandbox link per patient."""

    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures


def _headers(token: str | None) -> dict[str, str]:
    out = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
    if token:
        out["Authorization"] = f"Bearer {token}"
    return out


def _status_code(status: str) -> int:
    m = re.match(r"\s*(\d{3})", status or "")
    return int(m.group(1)) if m else 0


def _describe_failure(resp: requests.Response) -> str:
    """A short reason from an error response (OperationOutcome diagnostics when present; never the token)."""
    try:
        body = resp.json()
    except ValueError:
        return f"HTTP {resp.status_code}"
    issues = body.get("issue") if isinstance(body, dict) else None
    if isinstance(issues, list) and issues:
        text = "; ".join(str(i.get("diagnostics") or i.get("code") or "") for i in issues[:3] if isinstance(i, dict))
        return f"HTTP {resp.status_code}: {text[:300]}"
    return f"HTTP {resp.status_code}"


def _load_one(session: requests.Session, base: str, bundle: Mapping[str, Any], token: str | None,
              report: LoadReport, name: str) -> None:
    entries = bundle.get("entry") or []
    try:
        resp = session.post(base, json=bundle, headers=_headers(token), timeout=LOAD_TIMEOUT,
                            allow_redirects=False)
    except requests.RequestException as err:
        report.failures.append(f"{name}: {type(err).__name__} while posting the transaction")
        return
    if resp.status_code in (404, 405, 501):
        # The server takes no transactions: PUT resource by resource (same ids, same result).
        _load_by_put(session, base, entries, token, report, name)
        return
    if resp.status_code != 200:
        report.failures.append(f"{name}: transaction rejected, {_describe_failure(resp)}")
        return
    try:
        answers = resp.json().get("entry") or []
    except (ValueError, AttributeError):
        report.failures.append(f"{name}: transaction response is not a JSON Bundle")
        return
    if len(answers) != len(entries):
        report.failures.append(f"{name}: transaction response has {len(answers)} entries for {len(entries)}")
        return
    for entry, answer in zip(entries, answers, strict=True):
        _count(report, name, entry["resource"]["resourceType"], _status_code((answer.get("response") or {})
                                                                             .get("status", "")))


def _load_by_put(session: requests.Session, base: str, entries: list[Mapping[str, Any]], token: str | None,
                 report: LoadReport, name: str) -> None:
    for entry in entries:
        url = f"{base}/{entry['request']['url']}"
        rtype = entry["resource"]["resourceType"]
        try:
            resp = session.put(url, json=entry["resource"], headers=_headers(token), timeout=LOAD_TIMEOUT,
                               allow_redirects=False)
        except requests.RequestException as err:
            report.failures.append(f"{name}: {type(err).__name__} on PUT {entry['request']['url']}")
            continue
        if resp.status_code >= 300:
            report.failures.append(f"{name}: PUT {entry['request']['url']} {_describe_failure(resp)}")
            continue
        _count(report, name, rtype, resp.status_code)


def _count(report: LoadReport, name: str, rtype: str, status: int) -> None:
    if status == 201:
        report.created[rtype] += 1
    elif status == 200:
        report.updated[rtype] += 1
    else:
        report.failures.append(f"{name}: {rtype} answered {status or 'no status'}")


def load(fhir_server: str, token: str | None = None, now: datetime | None = None, *,
         names: list[str] | None = None, service_url: str = DEFAULT_SERVICE_URL,
         session: requests.Session | None = None) -> LoadReport:
    """PUT every sample patient's resources to ``fhir_server`` (one transaction per patient).

    Idempotent: ids are stable, so a second run updates the same resources and creates none. Servers that do
    not take transactions (404/405/501) get one PUT per resource. Redirects are not followed. The bearer
    ``token`` is sent only to ``fhir_server`` and never printed.
    """
    parts = urlsplit(fhir_server)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SampleError(f"not an http(s) FHIR base URL: {fhir_server!r}")
    base = fhir_server.rstrip("/")
    moment = _as_utc(now or datetime.now(timezone.utc))
    report = LoadReport()
    own = session is None
    sess = session or requests.Session()
    try:
        for name in names or [s.id for s in list_samples()]:
            bundle = materialize(name, moment)
            _load_one(sess, base, bundle, token, report, name)
            report.links[name] = sandbox_link(base, patient_id(bundle), service_url)
    finally:
        if own:
            sess.close()
    return report


# ---------------------------------------------------------------------------------------------- examples

#: The example request files shipped in ``examples/`` (regenerate with :func:`example_requests`).
EXAMPLE_NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
EXAMPLE_FHIR_SERVER = "http://localhost:8090/fhir"


def example_requests() -> dict[str, dict[str, Any]]:
    """File name -> request for the three ready-to-curl examples (fixed moment ``EXAMPLE_NOW``)."""
    return {
        "patient-view-typical.json": hook_request("lpc-diuretic-hypokalemia", EXAMPLE_NOW),
        "patient-view-healthy-control.json": hook_request("lpc-healthy-control", EXAMPLE_NOW),
        "patient-view-no-prefetch.json": hook_request("lpc-diuretic-hypokalemia", EXAMPLE_NOW, with_prefetch=False,
                                                      fhir_server=EXAMPLE_FHIR_SERVER),
    }


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------------------------- CLI


def _parse_now(text: str | None) -> datetime:
    if not text:
        return datetime.now(timezone.utc)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--now needs an ISO 8601 date-time, got {text!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _cmd_list(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    for s in list_samples():
        topics = ", ".join(f"{e.topic} ({e.indicator})" for e in s.expect) or "no cards (control)"
        out.write(f"{s.id:<28} {s.title:<28} {topics}\n")
        if getattr(args, "verbose", False):
            out.write(f"    {s.description}\n")
    return 0


def _cmd_load(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        report = load(args.fhir_server, token=args.token, now=_parse_now(args.now), names=args.only or None,
                      service_url=args.service_url)
    except SampleError as err:
        sys.stderr.write(f"error: {err}\n")
        return 2
    types = sorted(set(report.created) | set(report.updated))
    out.write(f"{'resource type':<22} {'created':>8} {'updated':>8}\n")
    for rt in types:
        out.write(f"{rt:<22} {report.created[rt]:>8} {report.updated[rt]:>8}\n")
    out.write(f"{'total':<22} {sum(report.created.values()):>8} {sum(report.updated.values()):>8}\n\n")
    out.write("Open a sample patient in the CDS Hooks Sandbox (the FHIR server must be reachable from your "
              "browser, and open: the Sandbox sends no token):\n")
    for name, link in report.links.items():
        out.write(f"  {name}: {link}\n")
    for failure in report.failures:
        sys.stderr.write(f"FAILED {failure}\n")
    return 0 if report.ok else 1


def _cmd_request(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        req = hook_request(args.name, _parse_now(args.now), with_prefetch=not args.no_prefetch,
                           fhir_server=args.fhir_server, access_token=args.token)
    except SampleError as err:
        sys.stderr.write(f"error: {err}\n")
        return 2
    out.write(dumps(req))
    return 0


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``samples list|load|request`` to an argparse ``add_subparsers()`` object.

    Each leaf parser sets ``func`` (``args.func(args) -> int`` exit code).
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "samples", help="synthetic sample patients: list, load to a FHIR server, print hook requests")
    sub = parser.add_subparsers(dest="samples_command", required=True)

    p_list = sub.add_parser("list", help="show the sample patients and what each should trigger")
    p_list.add_argument("-v", "--verbose", action="store_true", help="also print each description")
    p_list.set_defaults(func=_cmd_list)

    p_load = sub.add_parser("load", help="PUT every sample patient to a FHIR R4 server (idempotent)")
    p_load.add_argument("--fhir-server", required=True, help="FHIR R4 base URL, e.g. https://hapi.fhir.org/baseR4")
    p_load.add_argument("--token", help="bearer token for the FHIR server (sent only to it, never printed)")
    p_load.add_argument("--service-url", default=DEFAULT_SERVICE_URL,
                        help=f"this service's base URL as the browser sees it (default {DEFAULT_SERVICE_URL})")
    p_load.add_argument("--now", help="materialize relative dates at this moment (default: now)")
    p_load.add_argument("--only", action="append", metavar="NAME", help="load only this sample (repeatable)")
    p_load.set_defaults(func=_cmd_load)

    p_req = sub.add_parser("request", help="print a ready patient-view hook request (JSON) for a sample")
    p_req.add_argument("name", help="sample id, see `samples list`")
    p_req.add_argument("--no-prefetch", action="store_true", help="omit prefetch (the service must fetch)")
    p_req.add_argument("--fhir-server", help="set fhirServer (the base URL the sample was loaded to)")
    p_req.add_argument("--token", help="set fhirAuthorization.access_token (needs --fhir-server)")
    p_req.add_argument("--now", help="materialize relative dates at this moment (default: now)")
    p_req.set_defaults(func=_cmd_request)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (``python -m cds_service.samples``) until the CLI wires ``register``."""
    parser = argparse.ArgumentParser(prog="leg-pain-cds")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def iter_resources(name: str, now: datetime) -> Iterator[dict[str, Any]]:
    """Every resource of a materialized sample (deep copies)."""
    yield from (copy.deepcopy(r) for r in resources_of(materialize(name, now)))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
