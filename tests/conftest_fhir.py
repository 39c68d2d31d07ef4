"""pytest plugin: real FHIR servers for the integration tests (register with ``pytest_plugins``).

Fixtures:

* ``sekmet_server`` (session) — sekmet-fhir in bearer-token mode (static token ``server.token``; scoped SMART
  tokens via ``server.smart_token(scope)`` for 403 answers). Started once per test session, always stopped.
* ``sekmet_samples`` (session) — ``sekmet_server`` with every sample patient loaded (``samples load``) at
  ``SAMPLE_NOW``; for fallback-vs-prefetch comparisons. Tests must not modify those resources, and the service
  under test must run with its clock at ``SAMPLE_NOW`` (the loaded dates are relative to it), e.g.
  ``samples.hook_request(name, SAMPLE_NOW, with_prefetch=False, fhir_server=server.base_url,
  access_token=server.token)`` evaluated at ``SAMPLE_NOW``.
* ``sekmet_open_server`` (session) — sekmet-fhir without authentication, started only if a test asks for it.
* ``fhir_standin`` (function) — the stdlib stand-in (``leg_pain_cds_bench.fhir_standin``) for fault modes; stopped after
  each test.
* ``unreachable_fhir_url`` — a FHIR base URL on 127.0.0.1 where nothing listens (connection refused).
* ``sample_now`` — the fixed clock that sample patients are materialized against in tests.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from cds_service import samples
from leg_pain_cds_bench.fhir_standin import FhirStandIn

from .fhir_servers import SekmetServer, free_port, start_sekmet

SAMPLE_NOW = datetime(2026, 6, 15, 9, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def sekmet_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SekmetServer]:
    """A real sekmet-fhir R4 server on 127.0.0.1 requiring a bearer token."""
    server = start_sekmet(tmp_path_factory.mktemp("sekmet-bearer"), mode="bearer")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sekmet_samples(sekmet_server: SekmetServer) -> SekmetServer:
    """``sekmet_server`` with all sample patients loaded, relative dates resolved at ``SAMPLE_NOW``."""
    report = samples.load(sekmet_server.base_url, token=sekmet_server.token, now=SAMPLE_NOW)
    if not report.ok:
        raise RuntimeError(f"loading the samples into sekmet-fhir failed: {report.failures}")
    return sekmet_server


@pytest.fixture(scope="session")
def sekmet_open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SekmetServer]:
    """A real sekmet-fhir R4 server on 127.0.0.1 that needs no authentication."""
    server = start_sekmet(tmp_path_factory.mktemp("sekmet-open"), mode="open")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fhir_standin() -> Iterator[FhirStandIn]:
    """A started, empty stand-in FHIR server; configure it with ``add()`` and its fault attributes."""
    server = FhirStandIn()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sample_now() -> datetime:
    return SAMPLE_NOW


@pytest.fixture
def unreachable_fhir_url() -> str:
    """A base URL whose port was just free: connecting is refused (nothing listens there)."""
    return f"http://127.0.0.1:{free_port()}/fhir"
