"""GET /metrics (runtime/metrics.py): what is counted, that labels carry no patient data, the token, and gunicorn's
workers added up into one answer (a real `leg-pain-cds serve` with two workers)."""
from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from cards import registry
import requests
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from cds_service import cli, config, create_app
from cds_service.runtime.serve import serve_subprocess
from tests.http_servers import Reply, recording_server

from .conftest import GOLDEN_NOW

ROOT = Path(__file__).resolve().parents[1]
SERVICE = "leg-pain-causes"
HOOK = f"/cds-services/{SERVICE}"
TOKEN = "metrics-token-0123456789abcdef"


def parse(text: str) -> list[tuple[str, dict[str, str], float]]:
    """(sample name, labels, value) of every sample, read with prometheus_client's own parser."""
    return [(s.name, dict(s.labels), s.value) for family in text_string_to_metric_families(text)
            for s in family.samples]


def total(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called `name` whose labels include `labels`."""
    return sum(value for sample, got, value in parse(text)
               if sample == name and all(got.get(k) == v for k, v in labels.items()))


def scrape(client: FlaskClient) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    return response.get_data(as_text=True)


def hook_request() -> dict[str, Any]:
    return cli.example_request("low-potassium", GOLDEN_NOW.date())


def test_a_hook_call_is_timed_and_its_cards_counted_per_rule_and_indicator(
        client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    before = scrape(client)
    with caplog.at_level(logging.INFO, logger="cds_service.api.hooks"):
        response = client.post(HOOK, json=hook_request())
    assert response.status_code == 200
    cards = response.get_json()["cards"]
    answered = [r for r in caplog.records if r.getMessage() == "hook answered"]
    assert cards and len(answered) == 1
    after = scrape(client)
    count = "cds_http_request_duration_seconds_count"
    assert total(after, count, endpoint="hook", service=SERVICE, status="200") == \
        total(before, count, endpoint="hook", service=SERVICE, status="200") + 1
    added: Counter[str] = Counter()
    indicators = set()
    for name, labels, value in parse(after):
        if name == "cds_cards_issued_total" and value > total(before, name, **labels):
            added[labels["rule"]] += int(value - total(before, name, **labels))
            indicators.add(labels["indicator"])
    assert added == Counter(answered[0].rules)  # each card once per rule behind it
    assert indicators == {c["indicator"] for c in cards}


def test_unknown_services_share_one_label_and_no_request_value_reaches_a_label(client: FlaskClient) -> None:
    request = hook_request()
    patient = request["context"]["patientId"]
    for name in ("no-such-service", "Patient-123", patient):
        assert client.post(f"/cds-services/{name}", json=request).status_code == 404
    assert client.post(HOOK, json=request).status_code == 200
    feedback = {"feedback": [{"card": f"card-{patient}", "outcome": "overridden",
                              "outcomeTimestamp": "2026-11-25T12:05:00Z"}]}
    assert client.post(f"{HOOK}/feedback", json=feedback).status_code == 200
    text = scrape(client)
    assert total(text, "cds_http_request_duration_seconds_count", endpoint="hook", service="unknown",
                 status="404") >= 3
    services = {labels.get("service") for _, labels, _ in parse(text)} - {None}
    # The process's counters (earlier tests count too): only the services' own ids, never a requested path.
    assert services <= {"", "unknown"} | {s.id for s in registry.services()}, services
    # The raw text, not the parsed labels: no patient id, hookInstance or unknown path anywhere in it.
    for value in (patient, request["hookInstance"], "no-such-service", "Patient-123"):
        assert value not in text, value


def test_feedback_is_counted_by_outcome_and_whether_the_card_was_issued(client: FlaskClient) -> None:
    cards = client.post(HOOK, json=hook_request()).get_json()["cards"]
    before = scrape(client)
    items = [{"card": cards[0]["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-25T12:05:00Z"},
             {"card": "never-issued", "outcome": "overridden", "outcomeTimestamp": "2026-11-25T12:05:00Z"}]
    assert client.post(f"{HOOK}/feedback", json={"feedback": items}).status_code == 200
    after = scrape(client)
    name = "cds_feedback_items_total"
    for card in ("known", "unknown"):
        labels = {"service": SERVICE, "outcome": "overridden", "card": card}
        assert total(after, name, **labels) == total(before, name, **labels) + 1, card


def _fhir_reply(path: str) -> Reply:
    if "/broken/" in path:
        return 500, {}, b"{}"
    if "/Patient/" in path:
        return 200, {"Content-Type": "application/fhir+json"}, b'{"resourceType": "Patient", "id": "p"}'
    return 200, {"Content-Type": "application/fhir+json"}, b'{"resourceType": "Bundle", "type": "searchset"}'


def test_fhir_fallback_requests_are_timed_by_outcome(client: FlaskClient) -> None:
    with recording_server(fallback=_fhir_reply) as fhir:
        before = scrape(client)
        request = hook_request()
        del request["prefetch"]["medications"]
        assert client.post(HOOK, json={**request, "fhirServer": fhir.url("/fhir")}).status_code == 200
        assert client.post(HOOK, json={**request, "fhirServer": fhir.url("/broken")}).status_code == 412
        assert any(path.startswith("/fhir/") for path in fhir.paths)
    after = scrape(client)
    name = "cds_fhir_request_duration_seconds_count"
    for outcome in ("ok", "http-5xx"):
        assert total(after, name, outcome=outcome) > total(before, name, outcome=outcome), outcome
    assert "127.0.0.1" not in after and "/fhir" not in after.replace("cds_fhir_", "")


def test_jwt_rejections_are_counted_by_reason(tmp_path: Path) -> None:
    app = create_app({"AUTH": "jwt", "TRUSTED_CLIENTS": str(ROOT / "deploy" / "trusted-clients.example.json"),
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'cds.sqlite3'}"})
    client = app.test_client()
    before = scrape(client)  # /metrics is not behind the CDS Hooks client authentication
    for header in (None, "Basic dXNlcjpwYXNz", "Bearer not-a-jwt"):
        headers = {"Authorization": header} if header else {}
        assert client.post(HOOK, json=hook_request(), headers=headers).status_code == 401
    after = scrape(client)
    for reason in ("missing-token", "not-bearer", "malformed-token"):
        name = "cds_auth_rejections_total"
        assert total(after, name, reason=reason) == total(before, name, reason=reason) + 1, reason
    assert total(after, "cds_http_request_duration_seconds_count", endpoint="hook", status="401") >= 3


def test_with_a_token_metrics_need_it(app_overrides: dict[str, Any]) -> None:
    client = create_app({**app_overrides, "METRICS_TOKEN": TOKEN}).test_client()
    for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": f"Basic {TOKEN}"}):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401
        body = response.get_json()
        assert body["resourceType"] == "OperationOutcome" and body["issue"][0]["code"] == "login"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert TOKEN not in response.get_data(as_text=True)
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200 and "cds_http_request_duration_seconds" in response.get_data(as_text=True)


def test_the_token_is_checked_at_start_and_never_shown() -> None:
    conf: dict[str, Any] = {**config.DEFAULTS, "AUTH": "none", "METRICS_TOKEN": "short"}
    with pytest.raises(config.ConfigError, match="CDS_METRICS_TOKEN"):
        config.validate(conf)
    conf = {**config.DEFAULTS, "AUTH": "none", "METRICS_TOKEN": TOKEN}
    config.validate(conf)
    assert TOKEN not in str(config.effective(conf))


def test_metrics_off_means_no_route_and_nothing_observed(app_overrides: dict[str, Any]) -> None:
    app = create_app({**app_overrides, "METRICS": "off"})
    assert app.config["FHIR_REQUEST_OBSERVER"] is None
    client = app.test_client()
    assert client.post(HOOK, json=hook_request()).status_code == 200
    response = client.get("/metrics")
    assert response.status_code == 404 and response.get_json()["resourceType"] == "OperationOutcome"


# ---------------------------------------------------------------------------------------------- gunicorn workers


def _worker_files(folder: Path) -> set[int]:
    """Pids of the processes that recorded a histogram in `folder` (prometheus_client: histogram_<pid>.db)."""
    return {int(m.group(1)) for p in folder.iterdir() if (m := re.fullmatch(r"histogram_(\d+)\.db", p.name))}


def _hook_calls(base: str, count: int) -> int:
    """`count` hook calls, 8 at a time on fresh connections (each accepted by whichever worker is free)."""
    def call(_: int) -> int:
        with requests.Session() as session:
            return session.post(f"{base}{HOOK}", json=hook_request(), timeout=30).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(call, range(count)))
    assert statuses == [200] * count
    return count


@pytest.mark.server
def test_two_workers_add_up_in_every_scrape_and_a_dead_worker_keeps_its_counts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "prometheus"  # given by the operator: kept, so the per-worker files can be looked at
    folder.mkdir()
    settings = {"CDS_AUTH": "none", "CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'cds.sqlite3'}",
                "CDS_WARMUP": "false", "CDS_KEEPALIVE_S": "0", "CDS_METRICS_TOKEN": TOKEN}
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))  # serve_subprocess passes the environment on
    with serve_subprocess(tmp_path, settings, args=("--workers", "2")) as (_proc, base):
        sent = 0
        while len(_worker_files(folder)) < 2 and sent < 400:  # until both workers have answered calls
            sent += _hook_calls(base, 16)
        workers = _worker_files(folder)
        assert len(workers) == 2, f"one worker took all {sent} calls"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert requests.get(f"{base}/metrics", timeout=10).status_code == 401
        name = "cds_http_request_duration_seconds_count"
        for _ in range(6):  # each scrape is answered by one worker, and each shows both workers' calls
            text = requests.get(f"{base}/metrics", headers=auth, timeout=10).text
            assert total(text, name, endpoint="hook", service=SERVICE, status="200") == sent
            assert total(text, "cds_cards_issued_total") > 0
            assert "example-low-potassium" not in text  # the patient id of every call
        os.kill(min(workers), signal.SIGKILL)  # gunicorn starts another; child_exit marks this one dead
        deadline = time.monotonic() + 30
        while min(workers) in _pids_alive(workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        sent += _hook_calls(base, 8)
        text = requests.get(f"{base}/metrics", headers=auth, timeout=10).text
        assert total(text, name, endpoint="hook", service=SERVICE, status="200") == sent
    assert any(folder.iterdir()), "the operator's directory is left alone"


def _pids_alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        alive.add(pid)
    return alive


@pytest.mark.server
def test_serve_uses_a_fresh_private_directory_and_removes_it(tmp_path: Path) -> None:
    settings = {"CDS_AUTH": "none", "CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'cds.sqlite3'}",
                "CDS_WARMUP": "false", "CDS_KEEPALIVE_S": "0"}
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    with serve_subprocess(tmp_path, settings, args=("--workers", "2")) as (proc, base):
        sent = _hook_calls(base, 24)
        text = requests.get(f"{base}/metrics", timeout=10).text
        assert total(text, "cds_http_request_duration_seconds_count", endpoint="hook", status="200") == sent
        found = re.search(r"metrics: the workers count into (\S+)", (tmp_path / "serve.log").read_text())
        assert found, (tmp_path / "serve.log").read_text()[-2000:]
        folder = Path(found.group(1))
        assert folder.is_dir() and (folder.stat().st_mode & 0o077) == 0, "private to the service's user"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    assert not folder.exists()


@pytest.mark.server
def test_a_lost_metrics_directory_costs_the_counts_not_the_answers(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "prometheus"
    settings = {"CDS_AUTH": "none", "CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'cds.sqlite3'}",
                "CDS_WARMUP": "false"}
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))  # created by serve when missing
    with serve_subprocess(tmp_path, settings, args=("--workers", "1")) as (_proc, base):
        assert folder.is_dir()
        shutil.rmtree(folder)  # e.g. a /tmp cleaner, before the worker wrote its first count
        assert _hook_calls(base, 3) == 3
        item = {"card": "card-1", "outcome": "overridden", "outcomeTimestamp": "2026-11-25T12:05:00Z"}
        assert requests.post(f"{base}{HOOK}/feedback", json={"feedback": [item]}, timeout=10).status_code == 200
    assert "metrics are not being recorded: FileNotFoundError" in (tmp_path / "serve.log").read_text()
