"""Verify a CDS client's JWT (CDS Hooks 2.0 "Trusting CDS Clients") — framework-free.

Order matters: everything that can be decided from the token alone (algorithm, typ, kid, issuer, jku allowlist)
is checked before any key is fetched, and the jti is recorded only after the signature and claims verified, so
a rejected token never causes a fetch from an unlisted URL and never leaves a row behind.
Signature and claim checks are PyJWT's; nothing here verifies by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import jwt
from jwt.exceptions import (
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAudienceError,
    InvalidIssuedAtError,
    InvalidIssuerError,
    InvalidSignatureError,
    InvalidTokenError,
    MissingRequiredClaimError,
)

from cds_service.security.jwks import JwksCache, JwksFetchError
from cds_service.security.replay import ReplayGuard
from cds_service.security.trusted_clients import PERMITTED_ALGORITHMS, PublicKey, TrustedClient, TrustedClients, usable_signing_key

REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat", "jti")  # not sub: CDS Hooks 2.0 dropped it
MAX_TOKEN_CHARS = 16384
MAX_JTI_CHARS = 256


class AuthRejected(Exception):
    """The call is not authenticated. ``reason`` is a fixed code for the log and audit; never shown to clients."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail
        self.claimed_issuer: str | None = None  # set once the issuer is known to be a configured one


@dataclass(frozen=True)
class AuthSettings:
    """Claim-check tolerances."""

    leeway_s: float = 60.0  # clock skew between EHR and service
    max_lifetime_s: float = 3600.0  # exp - iat; bounds how long jtis are kept (best practice: <= 1 h)


@dataclass(frozen=True)
class VerifiedClient:
    """The outcome of a successful verification."""

    client: TrustedClient
    jti: str
    kid: str
    alg: str

    @property
    def issuer(self) -> str:
        """The verified issuer."""
        return self.client.iss


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header, or AuthRejected."""
    if not authorization:
        raise AuthRejected("missing-token")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthRejected("not-bearer")
    if len(token) > MAX_TOKEN_CHARS:
        raise AuthRejected("malformed-token", "token too long")
    return token


class Authenticator:
    """Verifies tokens against the trusted clients, their keys and the replay guard."""

    def __init__(
        self, clients: TrustedClients, jwks: JwksCache, replay: ReplayGuard, settings: AuthSettings
    ) -> None:
        self.clients = clients
        self.jwks = jwks
        self.replay = replay
        self.settings = settings

    def verify(self, authorization: str | None, audiences: Sequence[str]) -> VerifiedClient:
        """Verify the Authorization header for a call whose acceptable ``aud`` values are given."""
        token = bearer_token(authorization)
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except InvalidTokenError as err:
            raise AuthRejected("malformed-token", type(err).__name__) from err
        alg = header.get("alg")
        # none, HS*, PS*, anything odd (an array or object is not hashable: checked first): before any key lookup
        if not isinstance(alg, str) or alg not in PERMITTED_ALGORITHMS:
            raise AuthRejected("alg-not-permitted", f"alg={str(alg)[:16]!r}")
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.upper() != "JWT":
            raise AuthRejected("bad-typ")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthRejected("missing-kid")
        client = self.clients.get(unverified.get("iss"))
        if client is None:
            raise AuthRejected("unknown-issuer")
        try:
            if alg not in client.algorithms:
                raise AuthRejected("alg-not-configured", f"alg={alg}")
            key = self._key(client, header, kid, alg)
            claims = self._decode(token, key, alg, client, audiences)
            jti = claims["jti"]
            if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_CHARS:
                raise AuthRejected("bad-jti")
            exp, iat = claims["exp"], claims["iat"]
            # PyJWT accepts numeric strings ("1700000000"); RFC 7519 NumericDate is a JSON number.
            if not (isinstance(exp, (int, float)) and isinstance(iat, (int, float))
                    and not isinstance(exp, bool) and not isinstance(iat, bool)):
                raise AuthRejected("bad-time-claims")
            if exp - iat > self.settings.max_lifetime_s:
                raise AuthRejected("lifetime-too-long", f"exp-iat={exp - iat}")
            if not self.replay.first_use(client.iss, jti, float(exp) + self.settings.leeway_s):
                raise AuthRejected("replayed-jti")
        except AuthRejected as rej:
            rej.claimed_issuer = client.iss
            raise
        return VerifiedClient(client=client, jti=jti, kid=kid, alg=alg)

    def _key(self, client: TrustedClient, header: dict[str, object], kid: str, alg: str) -> PublicKey:
        jku = header.get("jku")
        key = client.keys.get(kid)
        if key is None:
            if jku is not None:
                # Never fetch from a URL the client chose unless configuration lists it for this issuer.
                if not isinstance(jku, str) or not client.jwks_urls.exactly_lists(jku):
                    raise AuthRejected("jku-not-allowed")
                urls: Sequence[str] = (jku,)
            else:
                urls = client.jwks_url_list  # out-of-band: the configured JWK Set URLs (spec: jku optional)
            for url in urls:
                try:
                    key = self.jwks.find(url, kid)
                except JwksFetchError as err:
                    raise AuthRejected("jwks-unavailable", str(err)) from err
                if key is not None:
                    break
        if key is None:
            raise AuthRejected("unknown-kid")
        if not usable_signing_key(key, alg):
            raise AuthRejected("key-alg-mismatch", f"alg={alg}")
        return key

    def _decode(
        self, token: str, key: PublicKey, alg: str, client: TrustedClient, audiences: Sequence[str]
    ) -> dict[str, object]:
        try:
            return jwt.decode(
                token,
                key=key.key,
                algorithms=[alg],
                audience=list(audiences),
                issuer=client.iss,
                leeway=self.settings.leeway_s,
                options={"require": list(REQUIRED_CLAIMS), "verify_signature": True},
            )
        except ExpiredSignatureError as err:
            raise AuthRejected("expired") from err
        except (ImmatureSignatureError, InvalidIssuedAtError) as err:
            raise AuthRejected("not-yet-valid") from err
        except InvalidAudienceError as err:
            raise AuthRejected("wrong-audience") from err
        except InvalidSignatureError as err:
            raise AuthRejected("bad-signature") from err
        except MissingRequiredClaimError as err:
            raise AuthRejected("missing-claim", f"claim={err.claim}") from err
        except InvalidIssuerError as err:
            raise AuthRejected("unknown-issuer") from err
        except InvalidTokenError as err:
            raise AuthRejected("invalid-token", type(err).__name__) from err
