"""The ``leg-pain-cds`` console script: serve, evaluate, and subcommands other modules register.

A module joins the CLI by defining ``register(subparsers)`` and being listed in PLUGINS; modules that are not
installed are skipped (e.g. cds_service.samples arrives on another branch).
"""
from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib
import importlib.util
import json
import logging
import os
import re
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import partial
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence, cast

import orjson
from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]  # no stubs

from cds_service import config
from cds_service.runtime import logs
from cds_service.security.url_policy import Allowlist, UrlPolicyError, describe, split_allowlist

if TYPE_CHECKING:
    from cards.registry import Service

    from cds_service.errors import DataUnavailable

log = logging.getLogger("cds_service.cli")

BENCH_PLUGIN = "leg_pain_cds_bench.bench"  # tools/: installed next to the service, never inside it
PLUGINS = ("cds_service.samples", BENCH_PLUGIN, "cds_service.terminology_cli", "cds_service.persistence.db_cli")
# Under the 10 s the issue allows for a clean exit on SIGTERM; in-flight calls get this long to finish.
GRACEFUL_TIMEOUT_S = 8
WORKER_TIMEOUT_S = 60
DEFAULT_SERVICE = "leg-pain-causes"


# ---------------------------------------------------------------------------------------------- serve


def app_factory(spec: str) -> Callable[[dict[str, Any]], Any]:
    """The app factory ``MODULE:NAME`` names (``serve --app``); InputError when it cannot be imported."""
    module_name, _, name = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), name or "create_app")
    except (ImportError, AttributeError) as err:
        raise InputError(f"--app {spec}: {err}") from None
    if not callable(factory):
        raise InputError(f"--app {spec}: not a callable")
    return cast(Callable[[dict[str, Any]], Any], factory)


def _serve(args: argparse.Namespace) -> int:
    from cds_service.runtime import serve as serving
    overrides: dict[str, Any] = {}
    if args.workers is not None:
        overrides["WORKERS"] = args.workers
    from cds_service.runtime import metrics
    # Start-up warnings (e.g. CDS_AUTH=none) are formatted too; re-levelled below.
    logs.configure("INFO", logs.format_from_environment())
    owned_metrics_dir = None
    if not args.dev:
        # Before the app is built: the workers count into files there, added up by a scrape (runtime/metrics.py).
        try:
            metrics_dir, created = metrics.multiprocess_dir()
        except OSError as err:
            print(f"leg-pain-cds: cannot create a directory for the metrics ({err.strerror}): set TMPDIR or "
                  f"{metrics.MULTIPROC_ENV} to a writable directory", file=sys.stderr)
            return 2
        owned_metrics_dir = metrics_dir if created else None  # the operator's own is never removed
        log.info("metrics: the workers count into %s", metrics_dir)
    try:
        app = app_factory(args.app)(overrides)
    except (InputError, config.ConfigError) as err:
        print(f"leg-pain-cds: {err}", file=sys.stderr)
        if owned_metrics_dir:
            metrics.remove_dir(owned_metrics_dir)
        return 2
    conf = app.config
    logs.configure(conf["LOG_LEVEL"], conf["LOG_FORMAT"])
    workers = conf["WORKERS"] or config.default_workers()
    shown = config.effective(conf)
    shown["CDS_WORKERS"] = workers
    log.info("effective configuration: %s", " ".join(f"{k}={v}" for k, v in shown.items()))
    if args.dev:
        log.warning("--dev: Flask's development server, single process; not for production")
        try:
            from werkzeug.serving import run_simple

            # app.run() without Flask's banner, which it prints past logging (not a JSON line, CDS_LOG_FORMAT).
            run_simple(args.host, args.port, app, threaded=True, use_reloader=False, use_debugger=False)
        finally:
            app.extensions["cds_store"].shutdown()  # checkpoint SQLite's WAL, as a gunicorn stop does
        return 0
    if conf["WARMUP"]:
        warm_up(int(conf["MAX_JSON_DEPTH"]))
    # Everything alive now (modules, fhir.resources models, the app) lives as long as the process: take it out of
    # the cyclic collector's sight, so that a collection during a request walks only that request's objects (a
    # heavy request spent ~1/3 of its time in such walks, docs/performance.md) and forked workers keep sharing these
    # pages copy-on-write.
    gc.freeze()
    logs.GunicornLogger.log_format = conf["LOG_FORMAT"]

    def on_exit() -> None:
        app.extensions["cds_store"].shutdown()
        if owned_metrics_dir:
            metrics.remove_dir(owned_metrics_dir)

    _Gunicorn(app, {
        "bind": f"{args.host}:{args.port}",
        "workers": workers,
        # gthread with JSON errors for what gunicorn answers itself, no 100 Continue for an oversized body and
        # queued connections served on SIGTERM (cds_service/runtime/serve.py).
        "worker_class": serving.JsonErrorWorker,
        "threads": conf["THREADS"],
        "graceful_timeout": GRACEFUL_TIMEOUT_S,
        "timeout": WORKER_TIMEOUT_S,
        # A keep-alive connection stays with the worker that accepted it (docs/performance.md, fifth round);
        # CDS_KEEPALIVE_S=0 has every call accepted anew by whichever worker is free (deploy/README.md).
        "keepalive": conf["KEEPALIVE_S"],
        # The app (and its database schema) is built once in the master; workers inherit it.
        "preload_app": True,
        "post_fork": lambda _server, _worker: app.extensions["cds_store"].after_fork(),
        # A clean stop: each worker closes its connections, then the master checkpoints SQLite's WAL into the
        # database file, so a copy of that file alone holds every acknowledged write (README, backups).
        "worker_exit": lambda _server, _worker: app.extensions["cds_store"].close(),
        "on_exit": lambda _server: on_exit(),
        # prometheus_client's bookkeeping for a worker that exited (its counts stay in the totals).
        "child_exit": lambda _server, worker: metrics.worker_exited(worker.pid),
        "logger_class": logs.GunicornLogger,  # CDS_LOG_FORMAT=json: gunicorn's own lines as JSON too
        "loglevel": conf["LOG_LEVEL"].lower(),
        "accesslog": None,  # access lines would carry URLs only, but keep logs to our own id-only events
        "errorlog": "-",
        "limit_request_line": serving.REQUEST_LINE_MAX,
        "limit_request_field_size": serving.HEADER_FIELD_MAX,  # an oversized token reaches the app: 401, audited
        "limit_request_fields": serving.HEADER_FIELDS_MAX,
        "proc_name": "leg-pain-cds",
        # gunicorn >= 25 opens a control socket in ~/.gunicorn by default: instances on one host would share it
        # and read-only containers cannot create it. Not needed here (ignored by older gunicorn).
        "control_socket_disable": True,
    }).run()
    return 0


def warm_up(max_depth: int) -> None:
    """Evaluate the bundled sample patients once, in the master process before the workers fork (CDS_WARMUP).

    A fresh process answered its first typical call in 85-110 ms against ~10-15 ms after (terminology and value
    sets loaded on first use, validators built, the process-wide memos empty), and every worker paid that on its
    first call. Done here, the workers inherit it all, shared copy-on-write. The samples go through the hook
    route's own decoding and pipeline, but not Flask, the database or the audit log: no call is recorded.
    """
    from cards import registry

    from cds_service import pipeline, samples
    from cds_service.fhir import decode
    started = time.perf_counter()
    now = datetime.now(timezone.utc)
    names = [s.id for s in samples.list_samples()]
    settings = pipeline.Settings.defaults()
    service = registry.service(_service_for_hook(samples.HOOK))
    try:
        for name in names:
            request = orjson.dumps(samples.hook_request(name, now))
            pipeline.evaluate(partial(decode.hook_body, request, max_depth), service, now=now, settings=settings)
    except Exception:  # an optimisation only: the service starts without it (and the failure is in the log)
        log.exception("warm-up failed; starting without it")
        return
    log.info("warm-up: %d sample patients evaluated in %.0f ms", len(names), (time.perf_counter() - started) * 1000)


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """gunicorn driven from code: foreground, our settings, the already-built app."""

    def __init__(self, app: Any, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self) -> Any:
        return self.application


# ---------------------------------------------------------------------------------------------- evaluate


class InputError(Exception):
    """The file or an argument cannot be evaluated as given (exit 2); the message says what is wrong."""


def _parse_now(text: str | None) -> datetime:
    if not text:
        return datetime.now(timezone.utc)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"--now must be an ISO 8601 date-time, got {text!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


# A template placeholder left in a file: `{{now-5d}}` of the sample files when malformed ({{now-5h}}), or a
# prefetch template's `{{context.patientId}}` never filled in. Evaluated as is, such data gives wrong cards.
_TEMPLATE = re.compile(r"\{\{[^{}]*\}\}")


def _templates(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(JSON path, placeholder) of every template placeholder in a decoded file (narrative xhtml excepted)."""
    if isinstance(value, str):
        if "{{" in value and (m := _TEMPLATE.search(value)):
            yield path or "(top level)", m.group(0)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _templates(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "div":
                yield from _templates(item, f"{path}.{key}" if path else str(key))


def bundle_request(bundle: dict[str, Any], service: Service, *, patient: str | None = None) -> dict[str, Any]:
    """The hook request a client would send ``service`` for the patient of a FHIR Bundle (gather.read_bundle)."""
    from cds_service.fhir import gather
    record = gather.read_bundle(bundle, patient)
    return {"hookInstance": str(uuid.uuid4()), "hook": service.hook, "context": {"patientId": record.patient_id},
            "prefetch": gather.record_prefetch(record, service)}


@dataclasses.dataclass(frozen=True)
class FileRequest:
    """What a file stands for: a hook request, the service to ask, and how many relative dates were resolved."""

    request: dict[str, Any]
    service_id: str | None
    relative_dates: int = 0


def read_request(path: Path, *, now: datetime, service_id: str | None = None,
                 patient: str | None = None) -> FileRequest:
    """The hook request in a file: a hook request as it is, or one built from a FHIR Bundle of the patient's data.

    Relative dates of the sample files (``{{now-<N>d}}``, ``{{date-<N>d}}``) are resolved against ``now`` the way
    ``samples request`` does; any other ``{{...}}`` placeholder is refused (InputError), as are a Bundle that is
    not one patient's record (gather.read_bundle) and other FHIR resources. OSError and orjson.JSONDecodeError
    pass through.
    """
    from cards import registry

    from cds_service import samples
    from cds_service.fhir import gather
    data = orjson.loads(path.read_bytes())
    if not isinstance(data, dict):
        raise InputError("the file must hold a JSON object (a CDS Hooks request or a FHIR Bundle)")
    dates = samples.relative_dates(data)
    if dates:
        data = samples.resolve_relative_dates(data, now)
    left = list(_templates(data))
    if left:
        shown = "; ".join(f"{token} at {where}" for where, token in left[:3])
        more = f" and {len(left) - 3} more" if len(left) > 3 else ""
        raise InputError(f"unresolved template placeholder{'s' if len(left) > 1 else ''}: {shown}{more} (only "
                         "{{now-<N>d}} and {{date-<N>d}} are resolved, against --now; fill in the others)")
    kind = data.get("resourceType")
    if kind == "Bundle":
        service = registry.service(service_id or DEFAULT_SERVICE)
        try:
            request = bundle_request(data, service, patient=patient)
        except gather.AmbiguousPatient as err:
            raise InputError(f"{err}: choose one with --patient ID") from None
        except gather.BundleError as err:
            raise InputError(str(err)) from None
        return FileRequest(request, service.id, dates)
    if kind is not None:
        raise InputError(f"the file holds a FHIR {kind}, not a CDS Hooks request or a Bundle of the patient's data")
    context = data.get("context")
    named = context.get("patientId") if isinstance(context, dict) else None
    if patient is not None and patient != named:
        raise InputError(f"--patient {patient!r} does not match the request's context.patientId {named!r} "
                         "(--patient chooses among the Patients of a Bundle)")
    return FileRequest(data, service_id, dates)


def evaluate_file(path: Path, *, service_id: str | None = None, now: datetime | None = None,
                  fetch: bool = False, patient: str | None = None) -> dict[str, Any]:
    """Cards for a hook request file or a FHIR Bundle of one patient's data, as the CDS Hooks response body.

    A Bundle becomes the hook request a client would send (read_request), then the service's pipeline (evaluate_call).
    """
    now = now or datetime.now(timezone.utc)
    read = read_request(path, now=now, service_id=service_id, patient=patient)
    return evaluate_call(read.request, service_id=read.service_id, now=now, fetch=fetch).body


@dataclass(frozen=True)
class Evaluated:
    """A CDS Hooks response body, and the possible-cause cards withheld for want of leg-symptom context."""

    body: dict[str, Any]
    withheld: list[dict[str, Any]]  # {"indicator", "topic", "summary", "rules"} of each withheld card


def evaluate_call(data: dict[str, Any], *, service_id: str | None = None, now: datetime, fetch: bool = False,
                  possible_causes: str | None = None,
                  allow_server: Callable[[str], bool] | None = None) -> Evaluated:
    """Cards for a decoded hook request, as the service answers it, and what it withholds (nothing recorded).

    The service's own pipeline and defaults (cds_service.pipeline). Offline unless `fetch`: a file should not make
    the CLI call servers it names. ``allow_server`` decides which fhirServer URLs ``fetch`` may contact; None: the
    CDS_ALLOWED_FHIR_SERVERS allowlist of the environment, as the service applies it (an empty list: none).
    `possible_causes` None: the service's default policy.
    """
    from cards import registry

    from cds_service import pipeline
    service = registry.service(service_id or _service_for_hook(data.get("hook")))
    if allow_server is None:
        allow_server = environment_allowlist().allows if fetch else pipeline.refuse_all_servers
    result = pipeline.evaluate(lambda: data, service, now=now, settings=pipeline.Settings.defaults(),
                               allow_server=allow_server, use_fhir_server=fetch, possible_causes=possible_causes)
    withheld = [{"indicator": c.indicator.value, "topic": c.topic, "summary": c.summary, "rules": list(c.rule_ids)}
                for c in result.withheld]
    return Evaluated(result.body, withheld)


ALLOWLIST_ENV = "CDS_ALLOWED_FHIR_SERVERS"


def environment_allowlist() -> Allowlist:
    """CDS_ALLOWED_FHIR_SERVERS as the service reads it (comma-separated, or a JSON array); InputError if bad."""
    raw = os.environ.get(ALLOWLIST_ENV, "")
    value: Any = raw
    if raw.lstrip().startswith("["):  # Flask's from_prefixed_env JSON-decodes values; a list arrives as a list
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
    try:
        return Allowlist.parse(split_allowlist(value))
    except UrlPolicyError as err:
        raise InputError(f"{ALLOWLIST_ENV}: {err}") from None


def _service_for_hook(hook: Any) -> str:
    from cards import registry

    for service in registry.services():
        if service.hook == hook:
            return service.id
    return DEFAULT_SERVICE


def _first_lines(detail: str) -> list[str]:
    return [line for line in detail.splitlines() if line.strip()]


def _withheld_text(withheld: list[dict[str, Any]]) -> list[str]:
    out = []
    for card in withheld:
        out.append(f"withheld: no leg-symptom context - {card['indicator'].upper()} {card['topic'] or '-'}: "
                   f"{card['summary']}")
    if out:
        out.append("(possible-cause cards show when the chart records leg symptoms, with the leg-pain-workup "
                   "service, or with --possible-causes always)")
    return out


def render_text(body: dict[str, Any], withheld: list[dict[str, Any]] | None = None) -> str:
    """A readable table (indicator, topic, summary) followed by each card's evidence, then the withheld cards."""
    cards = body.get("cards") or []
    tail = _withheld_text(withheld or [])
    if not cards:
        text = "No cards: nothing in this record points to a cause of leg pain that the rules check.\n"
        if tail:
            text = "No cards shown.\n"
        return text + "".join(line + "\n" for line in tail)
    rows = [(c["indicator"].upper(), c["source"].get("topic", {}).get("code", "-"), c["summary"]) for c in cards]
    widths = [max(len(r[i]) for r in rows + [("INDICATOR", "TOPIC", "SUMMARY")]) for i in range(3)]
    line = "  ".join("{:<%d}" % w for w in widths)
    out = [line.format("INDICATOR", "TOPIC", "SUMMARY"), line.format(*("-" * w for w in widths))]
    out += [line.format(*r) for r in rows]
    out = [o.rstrip() for o in out]
    for number, card in enumerate(cards, 1):
        out += ["", f"[{number}] {card['indicator'].upper()} - {card['summary']}"]
        out += [f"    {text}" for text in _first_lines(card.get("detail", ""))]
        for suggestion in card.get("suggestions", ()):
            out.append(f"    suggestion: {suggestion['label']}")
        for link in card.get("links", ()):
            out.append(f"    source: {link['label']} <{link['url']}>")
    if tail:
        out += [""] + tail
    return "\n".join(out) + "\n"


EVALUATE_EXIT_CODES = """exit status:
  0  the cards were printed (or "No cards")
  1  the request cannot be evaluated: required data missing (the service's 412; offline, add --fetch to
     fetch it from the request's fhirServer, or put it in the prefetch)
  2  bad input: a file that cannot be read, is not JSON, not a valid hook request or not one patient's
     Bundle; a Bundle with several Patients and no --patient; unresolved {{...}} placeholders; a bad option
     (--now that is not an ISO 8601 date-time, a bad CDS_ALLOWED_FHIR_SERVERS)

--fetch contacts the request's fhirServer only when it is in CDS_ALLOWED_FHIR_SERVERS (comma-separated base
URLs, as for the service); --allow-any-fhir-server bypasses that allowlist and says so on stderr.

Relative dates of the sample files ({{now-<N>d}}, {{date-<N>d}}) are resolved against --now.
A Bundle (transaction, batch, collection, searchset, document) is read as the patient's whole record;
urn:uuid fullUrls give ids to resources without one, and references to them are resolved."""


def _any_server(_url: str) -> bool:
    return True


def _unavailable_text(err: DataUnavailable, fetch: bool, has_server: bool, refused: list[str]) -> str:
    """The 412's reasons, with what to do about them on the command line."""
    from cds_service.errors import NO_SERVER

    if fetch or not has_server:
        text = str(err.diagnostics)
    else:
        text = "Required data unavailable - " + "; ".join(
            # offline, the CLI left the request's own fhirServer out: say what was missing, not "no fhirServer"
            f"{key}: {why.prefetch if why.server == NO_SERVER else why}" for key, why in err.missing.items())
    if refused:
        return (f"{text} (fhirServer {refused[0]} is not in {ALLOWLIST_ENV}: list it there, or add "
                "--allow-any-fhir-server to bypass the allowlist)")
    if fetch:
        return text
    if has_server:
        return f"{text} (the request's fhirServer was not used: the CLI is offline without --fetch)"
    return f"{text} (put the data in the prefetch, or give fhirServer and add --fetch)"


def _evaluate(args: argparse.Namespace) -> int:
    from cards.registry import UnknownService, services

    from cds_service import pipeline
    from cds_service.errors import BadHookRequest, CdsError, DataUnavailable

    name = args.file
    refused: list[str] = []  # origins the allowlist kept --fetch from

    def refuse(what: str, code: int = 2) -> int:
        print(f"leg-pain-cds: {name}: {what}", file=sys.stderr)
        return code

    if args.allow_any_fhir_server and not args.fetch:
        return refuse("--allow-any-fhir-server applies only with --fetch")
    read = None
    try:
        now = _parse_now(args.now)
        policy: Callable[[str], bool] = pipeline.refuse_all_servers
        if args.fetch and args.allow_any_fhir_server:
            policy = _any_server
        elif args.fetch:
            allowlist = environment_allowlist()

            def allowlisted(url: str) -> bool:
                allowed = allowlist.allows(url)
                if not allowed:
                    refused.append(describe(url))
                return allowed

            policy = allowlisted

        read = read_request(Path(name), now=now, service_id=args.service, patient=args.patient)
        if read.relative_dates:
            print(f"leg-pain-cds: {name}: {read.relative_dates} relative date"
                  f"{'s' if read.relative_dates > 1 else ''} ({{{{now-<N>d}}}}, {{{{date-<N>d}}}}) resolved as of "
                  f"{now.isoformat(timespec='seconds')}", file=sys.stderr)
        if args.allow_any_fhir_server:
            print(f"leg-pain-cds: {name}: --allow-any-fhir-server: the fhirServer allowlist ({ALLOWLIST_ENV}) is "
                  "bypassed; the request's fhirServer is contacted with its token whatever it is", file=sys.stderr)
        evaluated = evaluate_call(read.request, service_id=read.service_id, now=now, fetch=args.fetch,
                                  possible_causes=args.possible_causes, allow_server=policy)
    except FileNotFoundError:
        return refuse("no such file")
    except OSError as err:
        return refuse(f"cannot read the file ({err.strerror or type(err).__name__})")
    except orjson.JSONDecodeError as err:
        return refuse(f"not valid JSON: {err}")
    except RecursionError:
        return refuse("the JSON is nested too deeply to evaluate")
    except InputError as err:
        return refuse(str(err))
    except UnknownService as err:
        known = ", ".join(s.id for s in services())
        return refuse(f"unknown service {err.args[0]!r} (known: {known})")
    except BadHookRequest as err:
        return refuse(f"not a valid CDS Hooks request: {err.diagnostics}")
    except DataUnavailable as err:
        has_server = read is not None and read.request.get("fhirServer") is not None
        return refuse(f"cannot evaluate (HTTP 412): {_unavailable_text(err, args.fetch, has_server, refused)}", 1)
    except CdsError as err:
        return refuse(f"cannot evaluate (HTTP {err.status}): {err.diagnostics}", 1)
    if args.format == "json":  # stdout is the service's answer exactly; what it withheld goes to stderr
        sys.stdout.write(orjson.dumps(evaluated.body, option=orjson.OPT_INDENT_2).decode() + "\n")
        for line in _withheld_text(evaluated.withheld):
            print(f"leg-pain-cds: {line}", file=sys.stderr)
    else:
        sys.stdout.write(render_text(evaluated.body, evaluated.withheld))
    return 0


# ---------------------------------------------------------------------------------------------- examples

# The bundled example requests are written as of this day; `example-request` moves every date by the days since,
# so that "5 days ago" stays 5 days ago and the example keeps firing (rules use 90-day lookbacks).
EXAMPLES_AS_OF = date(2026, 11, 25)
_ISO_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(T.*)?$")


def example_names() -> list[str]:
    folder = resources.files("cds_service") / "examples"
    return sorted(p.name[: -len(".json")] for p in folder.iterdir() if p.name.endswith(".json"))


class UnknownExample(InputError):
    """No bundled example of that name (exit 2, like an unknown sample)."""


def example_request(name: str, today: date | None = None) -> dict[str, Any]:
    """A bundled example hook request with its dates moved to `today` and a fresh hookInstance."""
    if name not in example_names():
        raise UnknownExample(f"no example {name!r}; choose from {', '.join(example_names())}")
    data = orjson.loads((resources.files("cds_service") / "examples" / f"{name}.json").read_bytes())
    shift = timedelta(days=((today or date.today()) - EXAMPLES_AS_OF).days)

    def move(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: move(v) for k, v in value.items()}
        if isinstance(value, list):
            return [move(v) for v in value]
        if isinstance(value, str) and (m := _ISO_DATE.match(value)):
            return (date.fromisoformat(m.group(1)) + shift).isoformat() + (m.group(2) or "")
        return value

    moved: dict[str, Any] = move(data)
    moved["hookInstance"] = str(uuid.uuid4())
    return moved


def _example(args: argparse.Namespace) -> int:
    if not args.name:
        print("\n".join(example_names()))
        return 0
    try:
        request = example_request(args.name)
    except UnknownExample as err:
        print(f"leg-pain-cds: {err}", file=sys.stderr)
        return 2
    sys.stdout.write(orjson.dumps(request, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


# ---------------------------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leg-pain-cds", description="CDS Hooks 2.0 service: causes of leg pain "
                                     "at night or when lying down.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the CDS Hooks API (gunicorn; --dev for Flask's dev server)")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1; 0.0.0.0 for all)")
    serve.add_argument("--port", type=int, default=8080, help="TCP port (default 8080)")
    serve.add_argument("--workers", type=int, help="worker processes (default CDS_WORKERS or min(2 x cores + 1, 8))")
    serve.add_argument("--dev", action="store_true", help="Flask's development server instead of gunicorn")
    serve.add_argument("--app", default="cds_service.app:create_app", metavar="MODULE:NAME",
                       help="the app factory to serve (default cds_service.app:create_app); a wrapper may add "
                            "routes, as the benchmark's baseline does (leg_pain_cds_bench.baseline:create_app)")
    serve.set_defaults(func=_serve)

    evaluate = sub.add_parser("evaluate", help="print the cards for a hook request JSON or a patient's FHIR Bundle",
                              epilog=EVALUATE_EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    evaluate.add_argument("file", help="hook request JSON, or a FHIR Bundle of the patient's data")
    evaluate.add_argument("--format", choices=("json", "text"), default="text")
    evaluate.add_argument("--service", help=f"service id (default {DEFAULT_SERVICE}; for "
                          "a hook request, the service of its hook)")
    evaluate.add_argument("--now", help="evaluate as of this ISO 8601 date-time (default: now)")
    evaluate.add_argument("--patient", metavar="ID", help="the Patient to evaluate when the Bundle holds several "
                          "(its id, or its fullUrl such as urn:uuid:...)")
    evaluate.add_argument("--fetch", action="store_true",
                          help="fetch data that is not prefetched from the request's fhirServer, when it is in "
                               f"{ALLOWLIST_ENV} (default: offline)")
    evaluate.add_argument("--allow-any-fhir-server", action="store_true",
                          help=f"with --fetch: contact the request's fhirServer even when it is not in "
                               f"{ALLOWLIST_ENV} (bypasses the allowlist; for servers you trust)")
    evaluate.add_argument("--possible-causes", choices=("when-symptomatic", "always"),
                          default="always" if os.environ.get("CDS_POSSIBLE_CAUSE_CARDS") == "always"
                          else "when-symptomatic",
                          help="show possible-cause cards only with leg-symptom context, as the service does by "
                               "default, or always (default: CDS_POSSIBLE_CAUSE_CARDS, else when-symptomatic)")
    evaluate.set_defaults(func=_evaluate)

    example = sub.add_parser("example-request", help="print a bundled example hook request, dated as of today "
                             "(no NAME: list them)")
    example.add_argument("name", nargs="?", help="example name")
    example.set_defaults(func=_example)

    for name in PLUGINS:
        if _installed(name):
            module = importlib.import_module(name)
            if hasattr(module, "register"):
                module.register(sub)
    if not _installed(BENCH_PLUGIN):  # the tools are their own distribution: say how to get them
        missing = sub.add_parser("bench", help="performance benchmark (needs the tools: pip install ./tools)")
        missing.set_defaults(func=_bench_not_installed)
    return parser


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is not installed
        return False


def _bench_not_installed(_args: argparse.Namespace) -> int:
    print("leg-pain-cds: the benchmark is not part of the service; install it from a checkout with "
          "`pip install ./tools` (bash scripts/test.sh does)", file=sys.stderr)
    return 2


def package_version() -> str:
    """The installed distribution's version (pyproject.toml)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(config.APP_NAME)
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except argparse.ArgumentTypeError as err:  # a subcommand's option checked after parsing (samples --now)
        print(f"leg-pain-cds: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
