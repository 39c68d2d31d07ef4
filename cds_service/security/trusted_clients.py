"""The trusted CDS clients file (``CDS_TRUSTED_CLIENTS``): who may call the service, with which keys.

Shape (keys beyond these are rejected, so a typo such as ``"jwks_url"`` cannot silently disable a setting)::

    {"clients": [{"iss": "https://ehr.example.org",
                  "jwks_urls": ["https://ehr.example.org/jwks.json"],     # jku allowlist for this issuer
                  "jwks": {"keys": [...]},                                # inline JWK Set (public keys)
                  "algorithms": ["RS384", "ES384"],                       # default: both
                  "fhir_servers": ["https://ehr.example.org/fhir/r4"],    # fhirServer allowlist
                  "name": "...", "notes": "..."}]}                        # free text, for people

Every problem is reported with its location (``clients[1].algorithms``) and the service refuses to start.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jwt import PyJWK
from jwt.exceptions import PyJWTError

from cds_service.security.url_policy import Allowlist, UrlPolicyError, parse_allowlist_entry

# CDS Hooks 2.0 "JWT Signing Algorithm": ES384 and RS384 recommended; none and HMAC never acceptable.
DEFAULT_ALGORITHMS = ("RS384", "ES384")
PERMITTED_ALGORITHMS = frozenset({"RS384", "ES384", "RS256", "ES256"})
_EC_CURVE_FOR_ALG = {"ES256": "P-256", "ES384": "P-384"}
_KNOWN_KEYS = {"iss", "jwks_urls", "jwks", "algorithms", "fhir_servers", "possible_cause_cards", "name", "notes"}
POSSIBLE_CAUSE_POLICIES = ("when-symptomatic", "always")
MAX_FILE_BYTES = 1_000_000


class TrustedClientsError(ValueError):
    """The trusted clients file is missing, unreadable or malformed; the message says where."""


@dataclass(frozen=True)
class PublicKey:
    """One public key of a JWK Set: the JWK members as given and the key object PyJWT verifies with."""

    kid: str
    data: Mapping[str, Any]
    key: Any  # a cryptography RSA/EC public key


@dataclass(frozen=True)
class TrustedClient:
    """One CDS client (an EHR instance) allowed to call the service."""

    iss: str
    algorithms: frozenset[str]
    jwks_urls: Allowlist = field(default_factory=Allowlist)
    jwks_url_list: tuple[str, ...] = ()
    keys: Mapping[str, PublicKey] = field(default_factory=dict)  # kid -> public key (inline JWK Set)
    fhir_servers: Allowlist = field(default_factory=Allowlist)
    # This client's own CDS_POSSIBLE_CAUSE_CARDS (sites differ); None: the service's setting applies.
    possible_cause_cards: str | None = None


@dataclass(frozen=True)
class TrustedClients:
    """All trusted clients, by issuer."""

    clients: Mapping[str, TrustedClient]

    def get(self, iss: object) -> TrustedClient | None:
        """The client for an issuer, or None (also for a non-string iss)."""
        return self.clients.get(iss) if isinstance(iss, str) else None

    def __len__(self) -> int:
        return len(self.clients)


def usable_signing_key(pub: PublicKey, alg: str) -> bool:
    """True when a key may verify ``alg``: right key type, curve, size and declared use/alg."""
    data = pub.data
    if data.get("use", "sig") != "sig":
        return False
    if "alg" in data and data["alg"] != alg:
        return False
    if alg.startswith("RS"):
        return data.get("kty") == "RSA" and getattr(pub.key, "key_size", 0) >= 2048
    return data.get("kty") == "EC" and data.get("crv") == _EC_CURVE_FOR_ALG.get(alg)


def parse_jwks(data: object, where: str, *, strict: bool = True) -> dict[str, PublicKey]:
    """Parse a public JWK Set into kid -> PublicKey.

    Strict (configured sets): a private or symmetric key, a missing or duplicate kid stops the start.
    Lenient (fetched sets): such keys are skipped, because an EHR's published set may hold keys for other uses.
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("keys"), list):
        raise TrustedClientsError(f"{where}: must be a JWK Set object with a 'keys' array")
    keys: dict[str, PublicKey] = {}
    for i, key in enumerate(data["keys"]):
        at = f"{where}.keys[{i}]"
        try:
            pub = _parse_public_key(key, at)
            if pub.kid in keys:
                raise TrustedClientsError(f"{at}: duplicate kid {pub.kid!r}")
        except TrustedClientsError:
            if strict:
                raise
            continue
        keys[pub.kid] = pub
    return keys


def _parse_public_key(key: object, at: str) -> PublicKey:
    if not isinstance(key, Mapping):
        raise TrustedClientsError(f"{at}: must be an object")
    if key.get("kty") not in ("RSA", "EC"):
        raise TrustedClientsError(f"{at}: kty must be RSA or EC (symmetric keys are never accepted)")
    if "d" in key:
        raise TrustedClientsError(f"{at}: is a PRIVATE key; configure only the client's public key")
    kid = key.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TrustedClientsError(f"{at}: needs a 'kid' (CDS Hooks clients must send one)")
    try:
        return PublicKey(kid=kid, data=dict(key), key=PyJWK(dict(key)).key)
    except PyJWTError as err:
        raise TrustedClientsError(f"{at}: not a usable public key ({type(err).__name__})") from err


def _str_list(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise TrustedClientsError(f"{where}: must be an array of non-empty strings")
    return value


def _allowlist(value: object, where: str) -> Allowlist:
    entries = _str_list(value, where)
    parsed = []
    for i, url in enumerate(entries):
        try:
            parsed.append(parse_allowlist_entry(url))
        except UrlPolicyError as err:
            raise TrustedClientsError(f"{where}[{i}] {url!r}: {err}") from err
    return Allowlist(tuple(parsed))


def _parse_client(raw: object, where: str) -> TrustedClient:
    if not isinstance(raw, Mapping):
        raise TrustedClientsError(f"{where}: must be an object")
    unknown = sorted(set(raw) - _KNOWN_KEYS)
    if unknown:
        raise TrustedClientsError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_KNOWN_KEYS))}")
    iss = raw.get("iss")
    if not isinstance(iss, str) or not iss.strip():
        raise TrustedClientsError(f"{where}.iss: required, the issuer URI exactly as the client sends it")
    algorithms = _str_list(raw.get("algorithms", list(DEFAULT_ALGORITHMS)), f"{where}.algorithms")
    bad = sorted(set(algorithms) - PERMITTED_ALGORITHMS)
    if bad or not algorithms:
        raise TrustedClientsError(
            f"{where}.algorithms: {', '.join(bad) or 'empty'} not permitted; choose from "
            f"{', '.join(sorted(PERMITTED_ALGORITHMS))} (none and HMAC are never acceptable)"
        )
    url_list = _str_list(raw.get("jwks_urls", []), f"{where}.jwks_urls")
    jwks_urls = _allowlist(url_list, f"{where}.jwks_urls")
    keys = parse_jwks(raw["jwks"], f"{where}.jwks") if "jwks" in raw else {}
    if not keys and not jwks_urls:
        raise TrustedClientsError(f"{where}: needs 'jwks' (inline public keys) and/or 'jwks_urls'")
    for kid, pub in keys.items():
        if not any(usable_signing_key(pub, alg) for alg in algorithms):
            raise TrustedClientsError(
                f"{where}.jwks: key {kid!r} cannot verify any of {', '.join(algorithms)} "
                "(RSA keys need >= 2048 bits; ES256 needs P-256, ES384 needs P-384)"
            )
    fhir_servers = _allowlist(raw.get("fhir_servers", []), f"{where}.fhir_servers")
    possible = raw.get("possible_cause_cards")
    if possible is not None and possible not in POSSIBLE_CAUSE_POLICIES:
        raise TrustedClientsError(f"{where}.possible_cause_cards: must be one of "
                                  f"{', '.join(POSSIBLE_CAUSE_POLICIES)} (or absent: CDS_POSSIBLE_CAUSE_CARDS applies)")
    return TrustedClient(
        possible_cause_cards=possible,
        iss=iss,
        algorithms=frozenset(algorithms),
        jwks_urls=jwks_urls,
        jwks_url_list=tuple(url_list),
        keys=keys,
        fhir_servers=fhir_servers,
    )


def parse_trusted_clients(data: Any, source: str = "trusted clients") -> TrustedClients:
    """Validate the decoded JSON document; TrustedClientsError says exactly what is wrong and where."""
    if not isinstance(data, Mapping) or not isinstance(data.get("clients"), list):
        raise TrustedClientsError(f"{source}: must be an object with a 'clients' array")
    clients: dict[str, TrustedClient] = {}
    for i, raw in enumerate(data["clients"]):
        client = _parse_client(raw, f"{source}: clients[{i}]")
        if client.iss in clients:
            raise TrustedClientsError(f"{source}: clients[{i}].iss {client.iss!r} is listed twice")
        clients[client.iss] = client
    if not clients:
        raise TrustedClientsError(f"{source}: 'clients' is empty, so no EHR could call the service")
    return TrustedClients(clients)


def load_trusted_clients(path: str | Path) -> TrustedClients:
    """Read and validate the file named by CDS_TRUSTED_CLIENTS."""
    p = Path(path)
    try:
        if p.stat().st_size > MAX_FILE_BYTES:
            raise TrustedClientsError(f"{p}: larger than {MAX_FILE_BYTES} bytes")
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise TrustedClientsError(f"CDS_TRUSTED_CLIENTS: cannot read {p} ({err.strerror})") from err
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise TrustedClientsError(f"{p}: not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})") from err
    return parse_trusted_clients(data, str(p))
