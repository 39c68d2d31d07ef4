"""Fixtures for the security tests: real keys, a real JWKS server on 127.0.0.1, real tokens, real SQLite."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from flask import Flask, jsonify

from cds_service.security import web as security
from tests.http_servers import RecordingServer

BASE = "https://cds.test"


@pytest.fixture
def http_server() -> Iterator[Callable[[], RecordingServer]]:
    """Factory: start as many recording servers as a test needs; all are shut down afterwards."""
    started: list[RecordingServer] = []

    def make() -> RecordingServer:
        rec = RecordingServer().start()
        started.append(rec)
        return rec

    yield make
    for rec in started:
        rec.stop()


@dataclass(frozen=True)
class Keys:
    rsa: Any
    rsa_rotated: Any
    rsa_attacker: Any
    ec384: Any
    ec_inline: Any


@pytest.fixture(scope="session")
def keys() -> Keys:
    """Keys generated for this test run: RSA 2048 and P-384."""
    return Keys(
        rsa=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        rsa_rotated=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        rsa_attacker=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        ec384=ec.generate_private_key(ec.SECP384R1()),
        ec_inline=ec.generate_private_key(ec.SECP384R1()),
    )


def public_jwk(private_key: Any, kid: str, alg: str) -> dict[str, Any]:
    """The public JWK of a private key (PyJWT does the encoding)."""
    algo = jwt.get_algorithm_by_name(alg)
    data = json.loads(algo.to_jwk(private_key.public_key()))
    return {**data, "kid": kid, "alg": alg, "use": "sig"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenFactory:
    keys: Keys
    jwks_url: str
    iss: str = "https://ehr.test"

    def make(
        self,
        aud: object = f"{BASE}/cds-services/svc",
        *,
        key: Any = None,
        alg: str = "RS384",
        kid: str | None = "rsa-1",
        jku: str | None = "default",
        typ: str | None = "JWT",
        iss: str | None = None,
        exp_in: float = 300,
        iat_in: float = 0,
        jti: str | None = None,
        drop: tuple[str, ...] = (),
        extra: dict[str, Any] | None = None,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": iss or self.iss,
            "aud": aud,
            "exp": now + int(exp_in),
            "iat": now + int(iat_in),
            "jti": jti or str(uuid.uuid4()),
            **(extra or {}),
        }
        for name in drop:
            claims.pop(name, None)
        headers: dict[str, Any] = {}
        if kid is not None:
            headers["kid"] = kid
        if jku is not None:
            headers["jku"] = self.jwks_url if jku == "default" else jku
        headers["typ"] = typ  # PyJWT drops a None typ (and adds "JWT" when the key is absent)
        signing_key = key if key is not None else (self.keys.rsa if alg.startswith("RS") else self.keys.ec384)
        return jwt.encode(claims, signing_key, algorithm=alg, headers=headers)

    def hs256_with_public_key(self, aud: str) -> str:
        """The classic algorithm-confusion attack: HS256 'signed' with the RSA public key PEM as the secret."""
        pem = self.keys.rsa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        header = {"alg": "HS256", "typ": "JWT", "kid": "rsa-1", "jku": self.jwks_url}
        now = int(time.time())
        payload = {"iss": self.iss, "aud": aud, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
        signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
        sig = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64(sig)}"

    def unsigned(self, aud: str) -> str:
        """alg none."""
        now = int(time.time())
        payload = {"iss": self.iss, "aud": aud, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
        header = {"alg": "none", "typ": "JWT", "kid": "rsa-1", "jku": self.jwks_url}
        return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}."


@dataclass
class Env:
    """A running test app with its JWKS server and token factory."""

    app: Flask
    client: Any
    jwks: RecordingServer
    tokens: TokenFactory
    calls: list[str]
    trusted_file: Path

    def jwks_fetches(self) -> int:
        return self.jwks.fetches("/ehr/jwks.json")

    def stored_jtis(self) -> int:
        st = security.state(self.app)
        assert st.authenticator is not None
        return st.authenticator.replay.count()

    def post(self, path: str, token: str | None, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.post(path, json={"hook": "patient-view"}, headers=headers, **kw)


def tiny_app(config: dict[str, Any], calls: list[str]) -> Flask:
    """A minimal Flask app with the three CDS endpoints, secured by security.init_app."""
    app = Flask("security-test")
    app.config.update(config)

    @app.get("/cds-services")
    def discovery() -> Any:
        calls.append("discovery")
        return jsonify(services=[])

    @app.post("/cds-services/<service_id>")
    def service(service_id: str) -> Any:
        calls.append(service_id)
        security.note_hook_instance("d1577c69-dfbe-44ad-ba6d-3e05e953b2ea")
        allow = security.fhir_server_policy()
        return jsonify(cards=[{"uuid": "card-1", "summary": "x"}], allowed=allow("https://ehr.test/fhir/r4/Patient/1"))

    @app.post("/cds-services/<service_id>/feedback")
    def feedback(service_id: str) -> Any:
        calls.append("feedback")
        return jsonify(ok=True)

    @app.get("/health")
    def health() -> Any:
        return jsonify(ok=True)

    security.init_app(app)
    return app


def trusted_clients_doc(keys: Keys, jwks_url: str) -> dict[str, Any]:
    return {
        "clients": [
            {
                "iss": "https://ehr.test",
                "name": "Test EHR (jku)",
                "jwks_urls": [jwks_url],
                "algorithms": ["RS384", "ES384"],
                "fhir_servers": ["https://ehr.test/fhir/r4"],
            },
            {
                "iss": "https://inline.test",
                "jwks": {"keys": [public_jwk(keys.ec_inline, "inline-ec", "ES384")]},
                "algorithms": ["ES384"],
            },
        ]
    }


@pytest.fixture
def make_env(tmp_path: Path, keys: Keys, http_server: Callable[[], RecordingServer]) -> Iterator[Callable[..., Env]]:
    """Factory for a secured tiny app; keyword arguments override app config."""
    envs: list[Env] = []

    def make(**overrides: Any) -> Env:
        jwks = http_server()
        jwks.set_json(
            "/ehr/jwks.json",
            {"keys": [public_jwk(keys.rsa, "rsa-1", "RS384"), public_jwk(keys.ec384, "ec-1", "ES384")]},
            headers={"Cache-Control": "max-age=600"},
        )
        jwks_url = jwks.url("/ehr/jwks.json")
        trusted = tmp_path / f"trusted-{len(envs)}.json"
        trusted.write_text(json.dumps(trusted_clients_doc(keys, jwks_url)))
        calls: list[str] = []
        config = {
            "AUTH": "jwt",
            "TRUSTED_CLIENTS": str(trusted),
            "DATABASE_URL": f"sqlite:///{tmp_path / f'db-{len(envs)}.sqlite3'}",
            "PUBLIC_BASE_URL": BASE,
            "AUTH_ALLOW_HTTP_LOOPBACK_JWKS": True,
            "AUTH_JWKS_MIN_REFRESH_S": 0,
            **overrides,
        }
        app = tiny_app(config, calls)
        env = Env(app, app.test_client(), jwks, TokenFactory(keys, jwks_url), calls, trusted)
        envs.append(env)
        return env

    yield make
    for env in envs:
        st = security.state(env.app)
        if st.authenticator is not None:
            st.authenticator.jwks.close()
        st.audit.engine.dispose()
