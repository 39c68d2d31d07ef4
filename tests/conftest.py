"""Shared fixtures: an app on a real SQLite file in tmp_path, a fixed clock, counting uuids, golden updates."""
from __future__ import annotations

import itertools
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from flask.testing import FlaskClient

from cds_service import create_app
from tests.postgres_server import emptied, running_postgres
pytest_plugins = ["tests.conftest_fhir"]

# Every golden request is evaluated as of this instant (requests carry absolute dates).
GOLDEN_NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
HOOK_INSTANCE = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"
PATIENT_ID = "pat-1"


def counting_uuids() -> Callable[[], str]:
    """UUID_FACTORY for tests: each response numbers its uuids from 1, so golden files are stable."""
    counter = itertools.count(1)
    return lambda: f"00000000-0000-4000-8000-{next(counter):012d}"


def loopback_only(url: str) -> bool:
    """Tests never touch the network: only servers they start on 127.0.0.1 may be called."""
    return urlsplit(url).hostname == "127.0.0.1"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/**/*.response.json from the current service (review the diff!)")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "cds.sqlite3"  # parent does not exist yet: the store creates it


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throw-away PostgreSQL server for the module that asks for it (tests/postgres_server.py)."""
    with running_postgres(tmp_path_factory.mktemp("pg")) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.server)])
def database_url(request: pytest.FixtureRequest, db_path: Path) -> str:
    """The test's database on SQLite (a new file) and on PostgreSQL (emptied, at the current schema revision): a
    test that takes it runs on both."""
    if request.param == "sqlite":
        db_path.parent.mkdir(parents=True, exist_ok=True)  # for tests that open their own engine on it
        return f"sqlite:///{db_path}"
    return emptied(request.getfixturevalue("postgres_url"))


@pytest.fixture
def app_overrides(db_path: Path) -> dict[str, Any]:
    return {"AUTH": "none", "DATABASE_URL": f"sqlite:///{db_path}", "CLOCK": lambda: GOLDEN_NOW,
            "UUID_FACTORY": counting_uuids, "FHIR_TIMEOUT_S": 2.0,
            "FHIR_TOTAL_BUDGET_S": 4.0, "ALLOW_FHIR_SERVER": loopback_only}


@pytest.fixture
def app(app_overrides: dict[str, Any]) -> Flask:
    return create_app(app_overrides)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def bundle(*resources: dict[str, Any], next_url: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
    if resources:
        out["entry"] = [{"resource": r} for r in resources]
    if next_url:
        out["link"] = [{"relation": "next", "url": next_url}]
    return out


def potassium(value: float, when: str = "2026-11-20T08:00:00Z", rid: str = "k1") -> dict[str, Any]:
    return {"resourceType": "Observation", "id": rid, "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}], "text": "Potassium"},
            "subject": {"reference": f"Patient/{PATIENT_ID}"}, "effectiveDateTime": when,
            "valueQuantity": {"value": value, "unit": "mmol/L", "system": "http://unitsofmeasure.org",
                              "code": "mmol/L"}}


def patient() -> dict[str, Any]:
    return {"resourceType": "Patient", "id": PATIENT_ID, "gender": "male", "birthDate": "1950-01-01"}


def hook_request(prefetch: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"hook": "patient-view", "hookInstance": HOOK_INSTANCE,
                            "context": {"userId": "Practitioner/1", "patientId": PATIENT_ID}}
    if prefetch is not None:
        body["prefetch"] = prefetch
    body.update(extra)
    return body


def full_prefetch(*observations: dict[str, Any]) -> dict[str, Any]:
    """Every data key of leg-pain-causes prefetched (so no FHIR call is needed)."""
    from cards import registry

    out: dict[str, Any] = {k.key: bundle() for k in registry.service("leg-pain-causes").data_keys}
    out["patient"] = patient()
    out["observations"] = bundle(*observations)
    return out


class Builders:
    """Request builders as a fixture (tests are imported with importlib mode, so no helper module imports)."""

    bundle = staticmethod(bundle)
    potassium = staticmethod(potassium)
    patient = staticmethod(patient)
    hook_request = staticmethod(hook_request)
    full_prefetch = staticmethod(full_prefetch)
    HOOK_INSTANCE = HOOK_INSTANCE
    PATIENT_ID = PATIENT_ID
    NOW = GOLDEN_NOW


@pytest.fixture
def build() -> type[Builders]:
    return Builders


@pytest.fixture(autouse=True)
def _no_leftover_log_handlers() -> Iterator[None]:
    """A test that runs the CLI installs the service's stderr handler on the root logger, bound to the stderr pytest
    captured for that test; later tests would log into that closed stream ("--- Logging error ---")."""
    import logging

    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_leg_pain_cds", False)]:
        root.removeHandler(handler)


@pytest.fixture(autouse=True)
def _no_cds_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A developer's CDS_* variables must not change what the tests see."""
    for name in [n for n in os.environ if n.startswith("CDS_")]:
        monkeypatch.delenv(name)
    yield


@pytest.fixture
def trusted_clients(tmp_path: Path) -> Path:
    """A trusted clients file with one EHR (https://ehr.test) and a fresh ES384 key: enough for CDS_AUTH=jwt to start."""
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = {**json.loads(jwt.get_algorithm_by_name("ES384").to_jwk(key.public_key())), "kid": "k1", "alg": "ES384"}
    path = tmp_path / "trusted.json"
    path.write_text(json.dumps({"clients": [{"iss": "https://ehr.test", "jwks": {"keys": [jwk]},
                                             "algorithms": ["ES384"]}]}))
    return path
