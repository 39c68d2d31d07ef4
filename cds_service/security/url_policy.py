"""Which FHIR servers (and JWK Set URLs) the service may contact: an allowlist of base URLs.

A request names a ``fhirServer`` and hands over a bearer token. Fetching from any URL given would let a caller
turn the service against internal systems (SSRF) and leak the token, so a URL is contacted only when it matches
an allowlisted base URL:

* scheme, host and port equal (case-insensitive scheme/host, default ports filled in), so
  ``https://ehr.example.org`` matches neither ``https://ehr.example.org.evil.test`` nor ``:8443``;
* the path equals the entry's path or continues it after a ``/`` (``/fhir/r4`` covers ``/fhir/r4/Patient/1``,
  not ``/fhir/r4-admin``);
* ``https`` only, except ``http`` to a loopback host (127.0.0.0/8, ::1, localhost) that is itself listed;
* no userinfo, no fragment, no dot segments, no backslash, whitespace or control characters anywhere.

Pure: stdlib only, no I/O.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

DEFAULT_PORTS = {"https": 443, "http": 80}
_FORBIDDEN_CHARS = re.compile(r"[\x00-\x20\x7f\\]")


class UrlPolicyError(ValueError):
    """A URL that can never be allowed (malformed, userinfo, fragment, non-http scheme...)."""


@dataclass(frozen=True)
class BaseUrl:
    """A normalised absolute http(s) URL: the parts the allowlist compares."""

    scheme: str
    host: str
    port: int
    path: str  # no trailing slash; "" for the root

    @property
    def origin(self) -> str:
        """scheme://host[:port] without a default port: safe to log (no path, no query)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if DEFAULT_PORTS[self.scheme] == self.port else f":{self.port}"
        return f"{self.scheme}://{host}{port}"

    def __str__(self) -> str:
        return self.origin + self.path

    def covers(self, other: BaseUrl) -> bool:
        """True when ``other`` equals this base or continues it after a ``/``."""
        if (self.scheme, self.host, self.port) != (other.scheme, other.host, other.port):
            return False
        return other.path == self.path or other.path.startswith(self.path + "/")


def is_loopback_host(host: str) -> bool:
    """127.0.0.0/8, ::1 or the name localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_url(url: str, *, allow_query: bool = True) -> BaseUrl:
    """Normalise an absolute http(s) URL or raise UrlPolicyError saying why it is unacceptable."""
    if not isinstance(url, str) or not url:
        raise UrlPolicyError("not a non-empty string")
    if _FORBIDDEN_CHARS.search(url):
        raise UrlPolicyError("contains whitespace, control characters or a backslash")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a non-numeric or out-of-range port
    except ValueError as err:
        raise UrlPolicyError(f"cannot be parsed ({err})") from err
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UrlPolicyError("scheme must be https (or http to a loopback address)")
    if "@" in parts.netloc:
        raise UrlPolicyError("must not contain user information")
    if parts.fragment or url.endswith("#"):
        raise UrlPolicyError("must not contain a fragment")
    if (parts.query or url.endswith("?")) and not allow_query:
        raise UrlPolicyError("must not contain a query")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise UrlPolicyError("has no host")
    path = parts.path
    # Dot segments (also percent-encoded) would let '/fhir/r4/../admin' pass a prefix test and then be
    # normalised away by the HTTP client.
    segments = unquote(path).split("/")
    if any(seg in (".", "..") for seg in segments):
        raise UrlPolicyError("must not contain '.' or '..' path segments")
    return BaseUrl(scheme=scheme, host=host, port=port or DEFAULT_PORTS[scheme], path=path.rstrip("/"))


def parse_allowlist_entry(entry: str) -> BaseUrl:
    """Parse a configured base URL; raise UrlPolicyError when it could never be safe to contact."""
    base = parse_url(entry, allow_query=False)
    if base.scheme == "http" and not is_loopback_host(base.host):
        raise UrlPolicyError("http is allowed only for a loopback address (127.0.0.1, ::1, localhost)")
    return base


def split_allowlist(value: object) -> list[str]:
    """Read a comma-separated string (or a JSON list, as Flask's from_prefixed_env decodes) into entries."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        items: Iterable[object] = value.split(",")
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        raise UrlPolicyError("must be a comma-separated list of base URLs")
    result = []
    for item in items:
        if not isinstance(item, str):
            raise UrlPolicyError("must be a comma-separated list of base URLs")
        if item.strip():
            result.append(item.strip())
    return result


@dataclass(frozen=True)
class Allowlist:
    """A set of allowlisted base URLs."""

    entries: tuple[BaseUrl, ...] = ()

    @classmethod
    def parse(cls, urls: Iterable[str]) -> Allowlist:
        """Parse entries; UrlPolicyError names the first bad one."""
        parsed = []
        for url in urls:
            try:
                parsed.append(parse_allowlist_entry(url))
            except UrlPolicyError as err:
                raise UrlPolicyError(f"{url!r}: {err}") from err
        return cls(tuple(parsed))

    def __add__(self, other: Allowlist) -> Allowlist:
        return Allowlist(self.entries + other.entries)

    def allows(self, url: str) -> bool:
        """True when ``url`` is well-formed and covered by an entry (http only when the entry is http)."""
        try:
            candidate = parse_url(url)
        except UrlPolicyError:
            return False
        return any(entry.covers(candidate) for entry in self.entries)

    def exactly_lists(self, url: str) -> bool:
        """True when ``url`` equals an entry (query allowed only if identical): the jku test."""
        try:
            candidate = parse_url(url, allow_query=False)
        except UrlPolicyError:
            return False
        return candidate in self.entries

    def __bool__(self) -> bool:
        return bool(self.entries)


ServerPolicy = Callable[[str], bool]


def describe(url: str) -> str:
    """A loggable rendering of a URL: its origin only (paths and queries may carry patient ids)."""
    try:
        return parse_url(url).origin
    except UrlPolicyError:
        return "<malformed url>"
