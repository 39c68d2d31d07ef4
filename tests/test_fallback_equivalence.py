"""Issue 5 end to end: for every sample patient the cards from the FHIR fallback path (no prefetch, fhirServer =
a real sekmet-fhir server in bearer-token mode) equal the cards from the prefetch path; a rejected token is 412.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cds_service import create_app, samples
from .conftest_fhir import SAMPLE_NOW
from .fhir_servers import SekmetServer

pytestmark = pytest.mark.server
SERVICE = "/cds-services/leg-pain-causes"


@pytest.fixture(scope="module")
def client(sekmet_samples: SekmetServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    db: Path = tmp_path_factory.mktemp("fallback-db") / "cds.sqlite3"
    app = create_app({"AUTH": "none", "CLOCK": lambda: SAMPLE_NOW, "DATABASE_URL": f"sqlite:///{db}",
                      "ALLOWED_FHIR_SERVERS": sekmet_samples.base_url, "TESTING": True})
    yield app.test_client()


def _cards(body: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Topic, indicator and detail of each card (uuids differ between calls by design)."""
    return [(c["source"]["topic"]["code"], c["indicator"], c.get("detail", "")) for c in body["cards"]]


@pytest.mark.parametrize("name", [s.id for s in samples.list_samples()])
def test_fallback_cards_equal_prefetch_cards(client: Any, sekmet_samples: SekmetServer, name: str) -> None:
    with_prefetch = client.post(SERVICE, json=samples.hook_request(name, SAMPLE_NOW))
    fallback = client.post(SERVICE, json=samples.hook_request(
        name, SAMPLE_NOW, with_prefetch=False, fhir_server=sekmet_samples.base_url,
        access_token=sekmet_samples.token))
    assert with_prefetch.status_code == 200 and fallback.status_code == 200, fallback.get_json()
    assert _cards(fallback.get_json()) == _cards(with_prefetch.get_json())
    expected = samples.sample(name).topics
    assert {t: i for t, i, _ in _cards(fallback.get_json())} == expected


@pytest.mark.parametrize("token_kind", ["unknown-401", "scoped-403"])
def test_rejected_token_is_412_with_outcome(client: Any, sekmet_samples: SekmetServer, token_kind: str) -> None:
    token = "not-a-token" if token_kind == "unknown-401" else sekmet_samples.smart_token("system/Patient.read")
    resp = client.post(SERVICE, json=samples.hook_request("lpc-rls-iron", SAMPLE_NOW, with_prefetch=False,
                                                          fhir_server=sekmet_samples.base_url,
                                                          access_token=token))
    assert resp.status_code == 412
    body = resp.get_json()
    assert body["resourceType"] == "OperationOutcome"
    assert token not in str(body), "the token never appears in an answer"
