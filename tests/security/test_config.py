"""Start-up validation of the security settings and the trusted clients file: clear messages, no start."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from cds_service.config import ConfigError
from cds_service.security import web as security
from cds_service.security.trusted_clients import TrustedClientsError, load_trusted_clients, parse_trusted_clients

from .conftest import public_jwk

REPO = Path(__file__).resolve().parents[2]


def client(**kw: Any) -> dict[str, Any]:
    return {"iss": "https://ehr.test", "jwks_urls": ["https://ehr.test/jwks.json"], **kw}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({}, "'clients' array"),
        ({"clients": []}, "is empty"),
        ({"clients": [{"jwks_urls": ["https://e.test/j"]}]}, "clients[0].iss: required"),
        ({"clients": [client(algorithms=["HS256"])]}, "HS256 not permitted"),
        ({"clients": [client(algorithms=["none"])]}, "none not permitted"),
        ({"clients": [client(algorithms=[])]}, "algorithms"),
        ({"clients": [client(jwks_url=["x"])]}, "unknown key(s) jwks_url"),
        ({"clients": [client(jwks_urls=["http://ehr.test/jwks.json"])]}, "loopback"),
        ({"clients": [client(fhir_servers=["https://ehr.test/fhir#x"])]}, "fragment"),
        ({"clients": [client(fhir_servers="https://ehr.test/fhir")]}, "fhir_servers: must be an array"),
        ({"clients": [{"iss": "https://ehr.test"}]}, "needs 'jwks'"),
        ({"clients": [client(), client()]}, "listed twice"),
        ({"clients": [client(jwks={"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]})]}, "symmetric"),
    ],
)
def test_bad_trusted_clients_documents(doc: Any, message: str) -> None:
    with pytest.raises(TrustedClientsError) as err:
        parse_trusted_clients(doc, "test.json")
    assert message in str(err.value)


def test_private_key_in_file_is_refused(keys: Any) -> None:
    import jwt

    private = json.loads(jwt.get_algorithm_by_name("ES384").to_jwk(keys.ec384))
    with pytest.raises(TrustedClientsError, match="PRIVATE"):
        parse_trusted_clients({"clients": [client(jwks={"keys": [{**private, "kid": "k"}]})]})


def test_key_that_cannot_verify_the_configured_algorithms(keys: Any) -> None:
    jwk = public_jwk(keys.ec384, "k", "ES384")
    jwk.pop("alg")
    with pytest.raises(TrustedClientsError, match="cannot verify"):
        parse_trusted_clients({"clients": [client(jwks={"keys": [jwk]}, algorithms=["RS384"])]})


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(TrustedClientsError, match="cannot read"):
        load_trusted_clients(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{\n  'clients': []\n}")
    with pytest.raises(TrustedClientsError, match="line 2"):
        load_trusted_clients(bad)


def test_example_file_in_the_repo_is_valid() -> None:
    clients = load_trusted_clients(REPO / "deploy" / "trusted-clients.example.json")
    assert clients.get("https://sandbox.cds-hooks.org") is not None
    assert len(clients) >= 2


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"AUTH": "maybe"}, "CDS_AUTH"),
        ({"AUTH": "jwt"}, "CDS_TRUSTED_CLIENTS"),
        ({}, "CDS_TRUSTED_CLIENTS"),  # unset means jwt
        ({"AUTH": "none", "ALLOWED_FHIR_SERVERS": "http://ehr.test/fhir"}, "CDS_ALLOWED_FHIR_SERVERS"),
        ({"AUTH": "none", "PUBLIC_BASE_URL": "cds.example.org"}, "CDS_PUBLIC_BASE_URL"),
        ({"AUTH": "none", "AUTH_LEEWAY_S": "soon"}, "CDS_AUTH_LEEWAY_S"),
        ({"AUTH": "none", "MAX_JSON_DEPTH": 2}, "CDS_MAX_JSON_DEPTH"),
        ({"AUTH": "none", "AUTH_ALLOW_HTTP_LOOPBACK_JWKS": "maybe"}, "CDS_AUTH_ALLOW_HTTP_LOOPBACK_JWKS"),
    ],
)
def test_bad_settings_stop_the_start(config: dict[str, Any], message: str, tmp_path: Path) -> None:
    """init_app checks the settings with the one settings table (config.validate), also outside create_app."""
    app = Flask("t")
    app.config.update(config, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with pytest.raises(ConfigError, match=message):
        security.init_app(app)


def test_init_app_reports_a_bad_trusted_clients_file(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"clients": [client(algorithms=["HS512"])]}))
    app = Flask("t")
    app.config.update(TRUSTED_CLIENTS=str(path), DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with pytest.raises(ConfigError, match=r"CDS_TRUSTED_CLIENTS: .*HS512"):
        security.init_app(app)
