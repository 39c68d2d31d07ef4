"""Service configuration: every CDS_* setting with its default, type and validation.

Values come from environment variables prefixed ``CDS_`` (Flask's ``from_prefixed_env`` JSON-decodes them, so
``CDS_FHIR_TIMEOUT_S=5`` arrives as an int and ``CDS_GC_PAUSE=false`` as a bool) and from the ``overrides``
mapping tests pass to ``create_app``. ``validate`` coerces and checks them once at start-up: a bad value stops the
service with a message naming the variable, instead of failing mid-shift. No secrets live here.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, MutableMapping
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from cds_service.security.url_policy import Allowlist, UrlPolicyError, split_allowlist

APP_NAME = "leg-pain-cds"
DB_FILENAME = "leg-pain-cds.sqlite3"


class ConfigError(ValueError):
    """A CDS_* setting has a value the service cannot run with."""


def default_database_path() -> Path:
    """Per-user data directory (XDG): $XDG_DATA_HOME/leg-pain-cds, else ~/.local/share/leg-pain-cds.

    Chosen over ./leg-pain-cds.sqlite3 because a service must not depend on the directory it is started from; when
    no home directory exists (some containers) the working directory is the fallback.
    """
    base = os.environ.get("XDG_DATA_HOME")
    if base:
        return Path(base) / APP_NAME / DB_FILENAME
    try:
        return Path.home() / ".local" / "share" / APP_NAME / DB_FILENAME
    except RuntimeError:  # no home directory resolvable
        return Path.cwd() / DB_FILENAME


def default_database_url() -> str:
    return f"sqlite:///{default_database_path()}"


def default_workers() -> int:
    """2 x cores + 1 (gunicorn's own rule of thumb), capped at 8: each process holds its own fhir.resources models.

    The work is CPU-bound (JSON parse, rules) and the GIL serialises it within a process. A client's keep-alive
    connection stays with the worker that accepted it, and workers do not accept evenly, so with about one worker
    per core several connections often piled up on one worker while another core idled. More workers with fewer
    threads each make that rarer (measurements: docs/performance.md, fifth round; CDS_KEEPALIVE_S=0 avoids it).
    FHIR fallback waits are covered by each worker's threads."""
    try:
        cores = len(os.sched_getaffinity(0))  # respects container CPU pinning
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(2 * cores + 1, 8))


@dataclass(frozen=True)
class Setting:
    """One CDS_* variable: default, a coercing validator and its line in docs/configuration.md."""

    name: str
    default: Any
    check: Callable[[Any], Any]
    doc: str
    shown: str | None = None  # what docs/configuration.md shows as the default when it is computed

    @property
    def env(self) -> str:
        return f"CDS_{self.name}"


# ---------------------------------------------------------------------------------------------- checkers


def _number(kind: type, low: float | None = None, high: float | None = None) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("expected a number, got a boolean")
        if isinstance(value, str):
            value = value.strip()
        try:
            number = kind(value)
        except (TypeError, ValueError) as err:
            raise ValueError(f"expected {'an integer' if kind is int else 'a number'}, got {value!r}") from err
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError(f"expected an integer, got {value!r}")
        if low is not None and number < low:
            raise ValueError(f"must be at least {low}, got {number}")
        if high is not None and number > high:
            raise ValueError(f"must be at most {high}, got {number}")
        return number

    return check


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _choice(*options: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = str(value).strip().lower()
        if text not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {value!r}")
        return text

    return check


def _log_level(value: Any) -> str:
    text = str(value).strip().upper()
    if text not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ValueError(f"expected DEBUG, INFO, WARNING, ERROR or CRITICAL, got {value!r}")
    return text


def _database_url(value: Any) -> str:
    text = str(value).strip()
    try:
        make_url(text)
    except ArgumentError as err:
        raise ValueError(f"not a SQLAlchemy database URL: {err}") from None
    return text


def _origin(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path not in {"", "/"}:
        raise ValueError(f"an origin looks like https://host[:port], got {text!r}")
    return f"{parts.scheme}://{parts.netloc}"


def _cors_origins(value: Any) -> str | list[str]:
    """'*' or a comma-separated list (or a JSON array) of origins."""
    items = value if isinstance(value, list) else str(value).split(",")
    items = [str(i).strip() for i in items if str(i).strip()]
    if not items:
        raise ValueError("give '*' or at least one origin")
    if "*" in items:
        if len(items) > 1:
            raise ValueError("'*' cannot be combined with other origins")
        return "*"
    return [_origin(i) for i in items]


def _optional_base_url(value: Any) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"expected an absolute http(s) URL, got {value!r}")
    return text


def _fhir_allowlist(value: Any) -> str:
    """Comma-separated FHIR base URLs (or a JSON array); each must be https, or http to a loopback address."""
    try:
        entries = split_allowlist(value)
        Allowlist.parse(entries)
    except UrlPolicyError as err:
        raise ValueError(str(err)) from None
    return ",".join(entries)


def _metrics_token(value: Any) -> str | None:
    """A bearer token of 16-512 visible ASCII characters (RFC 6750 b64token), or unset."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if isinstance(value, int) and not isinstance(value, bool):  # all digits: JSON-decoded to an int, exactly
        value = str(value)
    if not isinstance(value, str):
        raise ValueError("expected a token of letters, digits and -._~+/= (it was read as JSON; quote it)")
    text = value.strip()
    if not 16 <= len(text) <= 512 or not all(c.isascii() and (c.isalnum() or c in "-._~+/=") for c in text):
        raise ValueError("expected 16 to 512 characters of letters, digits and -._~+/= (e.g. `openssl rand -hex "
                         "32`)")
    return text


def _optional_path(value: Any) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    return str(value).strip()


def _client_id(value: Any) -> str:
    """An OAuth client_id: 1-200 visible ASCII characters (RFC 6749 A.1), no spaces."""
    text = str(value).strip()
    if not 1 <= len(text) <= 200 or not all("!" <= c <= "~" for c in text):
        raise ValueError(f"expected 1 to 200 visible ASCII characters without spaces, got {value!r}")
    return text


SETTINGS: tuple[Setting, ...] = (
    Setting("DATABASE_URL", None, _database_url,
            "SQLAlchemy URL of the database for issued cards, feedback, the audit trail and seen JWT ids (SQLite: "
            "the file, its directory and the schema are created or migrated at start, WAL mode; PostgreSQL by URL, "
            "e.g. `postgresql+psycopg://user@host/db` with `pip install 'leg-pain-cds[postgres]'`, migrated by "
            "`leg-pain-cds db upgrade` before the service starts). Back up a running SQLite database with "
            "`sqlite3 <file> \".backup <copy>\"`, never by copying the file (`deploy/README.md`, Backups).",
            shown="`sqlite:///$XDG_DATA_HOME/leg-pain-cds/leg-pain-cds.sqlite3` (`~/.local/share/...`; the working "
                  "directory only when there is no home)"),
    Setting("AUTH", "jwt", _choice("none", "jwt"),
            "Client authentication: `jwt` (CDS Hooks signed JWTs from the clients in `CDS_TRUSTED_CLIENTS`) or "
            "`none` (local tries only; logged as a warning at start)."),
    Setting("CORS_ORIGINS", "*", _cors_origins,
            "Allowed browser origins: `*` or a comma-separated list such as `https://sandbox.cds-hooks.org`."),
    Setting("CORS_MAX_AGE_S", 86400, _number(int, 0, 86400), "How long browsers may cache a CORS preflight."),
    Setting("MAX_BODY_MB", 32, _number(int, 16, 1024),
            "Largest request body in MB (at least 16: a patient with years of labs sends several MB); over it: 413."),
    Setting("FHIR_TIMEOUT_S", 5.0, _number(float, 0.1, 120),
            "Connect and read timeout of each request to the client's fhirServer (EHRs wait seconds, not minutes)."),
    Setting("FHIR_TOTAL_BUDGET_S", 8.0, _number(float, 0.1, 300),
            "Overall time budget for all fhirServer requests of one hook call; past it the data counts as unavailable."),
    Setting("FHIR_MAX_PAGES", 10, _number(int, 1, 1000), "Most search pages (`next` links) followed per data key."),
    Setting("FHIR_MAX_RESOURCES", 20000, _number(int, 1, 1_000_000),
            "Most resources read from fhirServer per hook call; the rest is left out and noted on the cards."),
    Setting("FHIR_MAX_RESPONSE_MB", 64, _number(int, 1, 1024), "Largest single fhirServer response read, in MB."),
    Setting("POSSIBLE_CAUSE_CARDS", "when-symptomatic", _choice("when-symptomatic", "always"),
            "`leg-pain-causes`: show possible-cause cards only when the chart records leg symptoms "
            "(`when-symptomatic`), or on every chart open (`always`); actionable cards always show. A trusted client "
            "may override it (`possible_cause_cards`); `leg-pain-workup` always shows them."),
    Setting("LOG_LEVEL", "INFO", _log_level, "Log level (logs carry ids, never patient data)."),
    Setting("LOG_FORMAT", "text", _choice("text", "json"),
            "`text`: one line per event with `key=value` ids; `json`: one JSON object per line (time, level, event, "
            "requestId, hookInstance, service, rules, latencyMs; `deploy/README.md`, Metrics and logs)."),
    Setting("METRICS", True, _bool,
            "Serve Prometheus metrics at `GET /metrics` (request latency, cards per rule, FHIR fallbacks, JWT "
            "rejections, feedback; labels never carry patient data). Off: no route, nothing recorded."),
    Setting("METRICS_TOKEN", None, _metrics_token,
            "When set, `GET /metrics` needs `Authorization: Bearer <token>` (else 401). Unset, it is open: expose it "
            "only on a cluster-internal network (NetworkPolicy). Never logged.", shown="unset"),
    Setting("WORKERS", None, lambda v: None if v in (None, "") else _number(int, 1, 64)(v),
            "gunicorn worker processes for `serve` (each with `CDS_THREADS` threads).",
            shown="`min(2 x cores + 1, 8)`"),
    Setting("THREADS", 2, _number(int, 1, 64),
            "Threads per gunicorn worker (gthread): cover FHIR fallback waits; more share one GIL."),
    Setting("KEEPALIVE_S", 5, _number(int, 0, 300),
            "Seconds `serve` keeps an idle client connection open for its next call; 0: closed after each answer "
            "(the trade-off: `deploy/README.md`)."),
    Setting("PUBLIC_BASE_URL", None, _optional_base_url,
            "The service's base URL as clients see it behind a proxy (JWT `aud` checks, sample links).",
            shown="unset (derived from the request)"),
    Setting("TRUSTED_CLIENTS", None, _optional_path,
            "Path of the trusted CDS clients JSON file (issuers, JWK Sets, algorithms, FHIR servers); required when "
            "`CDS_AUTH=jwt`. See `deploy/trusted-clients.example.json` and docs/security.md.", shown="unset"),
    Setting("ALLOWED_FHIR_SERVERS", "", _fhir_allowlist,
            "Comma-separated FHIR base URLs any caller may name as `fhirServer` (https; http only to a loopback "
            "address), besides each trusted client's own `fhir_servers`. Empty: no fhirServer is contacted for "
            "callers without their own list (prefetch only). `scripts/serve.sh` sets the public HAPI and SMART test "
            "servers.", shown="empty"),
    Setting("AUTH_LEEWAY_S", 60, _number(int, 0, 600), "Clock skew tolerated on the client JWT's exp/iat/nbf."),
    Setting("AUTH_MAX_TOKEN_LIFETIME_S", 3600, _number(int, 1, 86400),
            "Longest accepted client JWT lifetime (exp - iat); seen jtis are kept this long."),
    Setting("AUTH_JWKS_TIMEOUT_S", 5.0, _number(float, 0.1, 60), "Timeout of a client JWK Set fetch."),
    Setting("AUTH_JWKS_MAX_BYTES", 65536, _number(int, 1024, 10 * 1024 * 1024), "Largest client JWK Set read."),
    Setting("AUTH_JWKS_MIN_REFRESH_S", 10.0, _number(float, 0, 3600),
            "Least time between two fetches of one JWK Set (unknown kid, failed fetch)."),
    Setting("AUTH_ALLOW_HTTP_LOOPBACK_JWKS", False, _bool,
            "Tests only: allow `http://` JWK Set URLs on a loopback address."),
    Setting("MAX_JSON_DEPTH", 64, _number(int, 8, 512), "Deepest JSON nesting accepted in a request; deeper: 400."),
    Setting("MAX_BUNDLE_ENTRIES", 20000, _number(int, 1, 10_000_000),
            "Most entries in one prefetch Bundle; more: 413."),
    Setting("MAX_PREFETCH_RESOURCES", 100000, _number(int, 1, 10_000_000),
            "Most resources in one request's prefetch; more: 413."),
    Setting("WARMUP", True, _bool,
            "`serve` evaluates the bundled sample patients once before the workers fork (~0.1 s), so that no "
            "worker's first call pays for loading terminology and building validators (85-110 ms on the development "
            "VM, against ~10-20 ms after); nothing is recorded."),
    Setting("GC_PAUSE", True, _bool,
            "Pause Python's cyclic garbage collector while requests are in flight (docs/performance.md)."),
    Setting("PAGES", "auto", _choice("auto", "on", "off"),
            "The browser pages (`/` try the cards, and the pages it links): `auto` serves them when `CDS_AUTH=none` "
            "(a local try) and not when client authentication is on; `on` or `off` forces it. Off: every page path "
            "answers 404, the API is unchanged. With `on` and `CDS_AUTH=jwt`, `/` cannot call the hooks from the "
            "browser (it cannot sign a client JWT) and says so ([api.md](api.md#pages))."),
    Setting("SMART_CLIENT_ID", "leg-pain-cds-trend", _client_id,
            "OAuth client id of the lab-trend SMART app (`/trend`, served with the pages) as registered with the "
            "EHR's authorization server: a public client using PKCE, redirect URI `<base URL>/trend` "
            "([api.md](api.md#lab-trend-smart-app))."),
    Setting("ANALYTICS_TOKEN", None, _metrics_token,
            "When set, the plots and CSVs of `/analytics` need `Authorization: Bearer <token>` (else 401); the page "
            "asks for it and keeps it in the browser tab's sessionStorage, never in a URL. Unset, `/analytics` is "
            "open whenever the pages are: set it (`openssl rand -hex 32`) when `CDS_PAGES=on` in production. "
            "Never logged.", shown="unset"),
)

DEFAULTS: dict[str, Any] = {s.name: s.default for s in SETTINGS}


def validate(conf: MutableMapping[str, Any]) -> None:
    """Coerce and check every setting in place; raise ConfigError naming the variable at the first bad one."""
    problems: list[str] = []
    if conf.get("DATABASE_URL") in (None, ""):
        conf["DATABASE_URL"] = default_database_url()
    for setting in SETTINGS:
        value = conf.get(setting.name, setting.default)
        if value is None and setting.default is None:  # optional settings (WORKERS, PUBLIC_BASE_URL)
            conf[setting.name] = None
            continue
        try:
            conf[setting.name] = setting.check(value)
        except ValueError as err:
            problems.append(f"{setting.env}: {err}")
    if conf.get("FHIR_TIMEOUT_S", 0) > conf.get("FHIR_TOTAL_BUDGET_S", 0) and not problems:
        problems.append("CDS_FHIR_TIMEOUT_S: must not exceed CDS_FHIR_TOTAL_BUDGET_S")
    if not problems and conf["AUTH"] == "jwt" and not conf.get("TRUSTED_CLIENTS"):
        problems.append("CDS_TRUSTED_CLIENTS: CDS_AUTH=jwt (the default) needs the path of a trusted clients JSON "
                        "file (see deploy/trusted-clients.example.json); for a local try without authentication "
                        "set CDS_AUTH=none")
    if problems:
        raise ConfigError("invalid configuration: " + "; ".join(problems))
    conf["MAX_CONTENT_LENGTH"] = conf["MAX_BODY_MB"] * 1024 * 1024


def effective(conf: MutableMapping[str, Any]) -> dict[str, Any]:
    """The settings as logged at start-up: no password from the database URL, nothing secret."""
    shown: dict[str, Any] = {}
    for setting in SETTINGS:
        value = conf.get(setting.name)
        if setting.name == "DATABASE_URL" and value:
            value = make_url(value).render_as_string(hide_password=True)
        elif setting.name in ("METRICS_TOKEN", "ANALYTICS_TOKEN") and value:
            value = "(set)"
        shown[setting.env] = value
    return shown


def log_level_number(name: str) -> int:
    return int(logging.getLevelName(name))


# ---------------------------------------------------------------------------------------------- documentation

DOC_PATH = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"

# docs/configuration.md's sections, in order: (title, what the settings have in common, setting names).
GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Service", "What the service shows and where it is reached.",
     ("POSSIBLE_CAUSE_CARDS", "PUBLIC_BASE_URL")),
    ("Security", "Who may call (CDS Hooks client JWTs, [security.md](security.md)) and which browser pages may "
     "read the answers.",
     ("AUTH", "TRUSTED_CLIENTS", "AUTH_LEEWAY_S", "AUTH_MAX_TOKEN_LIFETIME_S", "AUTH_JWKS_TIMEOUT_S",
      "AUTH_JWKS_MAX_BYTES", "AUTH_JWKS_MIN_REFRESH_S", "AUTH_ALLOW_HTTP_LOOPBACK_JWKS", "CORS_ORIGINS",
      "CORS_MAX_AGE_S")),
    ("Pages", "Pages people look at in a browser, served by the same app ([api.md](api.md#pages)); they show no "
     "patient data.",
     ("PAGES", "SMART_CLIENT_ID", "ANALYTICS_TOKEN")),
    ("FHIR server", "Which `fhirServer`s data that was not prefetched may be fetched from, and the bounds on doing "
     "so ([api.md](api.md#fhir-queries-the-service-sends)).",
     ("ALLOWED_FHIR_SERVERS", "FHIR_TIMEOUT_S", "FHIR_TOTAL_BUDGET_S", "FHIR_MAX_PAGES", "FHIR_MAX_RESOURCES",
      "FHIR_MAX_RESPONSE_MB")),
    ("Request limits", "How large a request may be; over a limit the answer is an OperationOutcome naming the "
     "setting.",
     ("MAX_BODY_MB", "MAX_JSON_DEPTH", "MAX_BUNDLE_ENTRIES", "MAX_PREFETCH_RESOURCES")),
    ("Database", "Issued and withheld cards, feedback, the audit trail and seen JWT ids "
     "([deploy/README.md](../deploy/README.md#database)).",
     ("DATABASE_URL",)),
    ("Serving", "How `leg-pain-cds serve` runs gunicorn ([deploy/README.md](../deploy/README.md), "
     "[performance.md](performance.md)).",
     ("WORKERS", "THREADS", "KEEPALIVE_S", "WARMUP", "GC_PAUSE")),
    ("Logging", "What is logged never includes patient data ([security.md](security.md#logs-without-phi)).",
     ("LOG_LEVEL", "LOG_FORMAT")),
    ("Metrics", "Prometheus metrics at `GET /metrics`, added up across the gunicorn workers "
     "([deploy/README.md](../deploy/README.md#metrics-and-logs)).",
     ("METRICS", "METRICS_TOKEN")),
)

_DOC_INTRO = """\
# Configuration

<!-- Generated from cds_service/config.py (SETTINGS, GROUPS): edit there, then run
     `python -m cds_service.config --write`; tests/test_configuration_doc.py keeps this file current. -->

Every setting is an environment variable prefixed `CDS_`. Values are JSON-decoded when they parse as JSON (`5`,
`true`, `["a", "b"]`), else taken as text. All of them are checked once at start-up: a bad value stops the
service with a message naming the variable, instead of failing mid-shift. `leg-pain-cds serve` logs the effective
settings at start (never a password). Tests pass the same names, without the prefix, to `create_app(overrides)`.
"""


def _shown_default(setting: Setting) -> str:
    """The default as the documentation shows it: computed defaults say how, booleans are lower case."""
    if setting.shown is not None:
        return setting.shown
    if isinstance(setting.default, bool):
        return f"`{str(setting.default).lower()}`"
    return f"`{setting.default}`"


def render_markdown() -> str:
    """docs/configuration.md: one table per group, generated so that the document cannot drift from SETTINGS."""
    by_name = {s.name: s for s in SETTINGS}
    grouped = [name for _, _, names in GROUPS for name in names]
    if sorted(grouped) != sorted(by_name):
        raise ConfigError(f"GROUPS must list every setting once: {sorted(set(grouped) ^ set(by_name))}")
    contents = " · ".join(f"[{title}](#{title.lower().replace(' ', '-')})" for title, _, _ in GROUPS)
    parts = [_DOC_INTRO, f"**Contents:** {contents}\n"]
    for title, about, names in GROUPS:
        rows = "".join(f"| `{by_name[n].env}` | {_shown_default(by_name[n])} | {by_name[n].doc} |\n" for n in names)
        parts.append(f"## {title}\n\n{about}\n\n| Variable | Default | Meaning |\n|---|---|---|\n{rows}")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    """`python -m cds_service.config [--write]`: print docs/configuration.md, or rewrite it in a checkout."""
    parser = argparse.ArgumentParser(prog="python -m cds_service.config", description=main.__doc__)
    parser.add_argument("--write", action="store_true", help=f"rewrite {DOC_PATH.name}")
    if not parser.parse_args(argv).write:
        sys.stdout.write(render_markdown())
    elif not DOC_PATH.parent.is_dir():
        parser.error("--write works in a source checkout only (the docs are not installed)")
    else:
        DOC_PATH.write_text(render_markdown(), encoding="utf-8")
        print(f"wrote {DOC_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
