"""The benchmark command runs end to end on the small workload and writes its figures; the workloads are
deterministic and as messy as promised. No timing is asserted anywhere (issue 6)."""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest

from leg_pain_cds_bench import bench, workload

pytestmark = pytest.mark.perf
NOW = datetime(2026, 11, 25, tzinfo=timezone.utc)


def _resources(request: dict[str, Any], rtype: str) -> list[dict[str, Any]]:
    return [r for r in workload.resources_of(request) if r["resourceType"] == rtype]


def test_workloads_are_deterministic() -> None:
    first = orjson.dumps(workload.hook_request("typical", seed=3, now=NOW))
    assert first == orjson.dumps(workload.hook_request("typical", seed=3, now=NOW))
    assert first != orjson.dumps(workload.hook_request("typical", seed=4, now=NOW))


@pytest.mark.parametrize("size", ["small", "typical", "heavy"])
def test_workload_sizes(size: str) -> None:
    request = workload.hook_request(size, now=NOW)
    spec = workload.SIZES[size]
    assert len(_resources(request, "Observation")) == spec.observations
    entries = [r for r in workload.resources_of(request)
               if r["resourceType"] in ("MedicationStatement", "MedicationRequest")]
    assert len(entries) == spec.medications
    if size == "typical":  # the typical request: ~600 kB
        assert 450_000 < len(orjson.dumps(request)) < 900_000


def test_typical_workload_is_messy_like_real_charts() -> None:
    request = workload.hook_request("typical", now=NOW)
    observations = _resources(request, "Observation")
    statuses = Counter(o["status"] for o in observations)
    assert {"final", "amended", "cancelled", "entered-in-error"} <= set(statuses)
    assert any("component" in o and o["code"]["coding"][0]["code"] == "77194-9" for o in observations)  # ABI
    assert any("component" in o and o["code"]["coding"][0]["code"] == "BP" for o in observations)
    assert any("referenceRange" in o for o in observations) and any("interpretation" in o for o in observations)
    assert any("valueString" in o for o in observations) or any(
        o.get("valueQuantity", {}).get("comparator") for o in observations)
    dates = [o.get("effectiveDateTime", "") for o in observations]
    assert dates != sorted(dates) and dates != sorted(dates, reverse=True)
    meds = _resources(request, "MedicationStatement") + _resources(request, "MedicationRequest")
    assert any("contained" in m for m in meds)
    assert any(m.get("medicationReference", {}).get("reference", "").startswith("Medication/") for m in meds)
    assert _resources(request, "Medication")  # included Medication resources
    assert {"active", "resolved"} <= {c["clinicalStatus"]["coding"][0]["code"]
                                      for c in _resources(request, "Condition")}


def test_targets_are_judged_only_where_measured() -> None:
    run = bench.Run(quick=True, started="", machine={})
    run.cases = {"in_process": {"small": {"service_p50_ms": 5.0}}, "http": {}, "fallback": {}, "memory": {}}
    judged = {t.id: t.met for t in bench.targets(run)}
    assert judged["1c"] is False
    assert {k for k, v in judged.items() if v is None} == {"1a", "1b", "2a", "2b", "2c", "3", "4", "5"}
    run.cases["in_process"]["small"]["service_p50_ms"] = 2.0
    assert {t.id: t.met for t in bench.targets(run)}["1c"] is True


@pytest.mark.server
def test_bench_quick_runs_every_case_and_writes_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from cds_service import cli
    monkeypatch.chdir(tmp_path)  # the served app's relative paths, if any, stay in tmp_path
    out = tmp_path / "bench.json"
    assert cli.main(["bench", "--quick", "--json", str(out)]) == 0  # no --check: times are never asserted
    figures = json.loads(out.read_text())
    assert figures["quick"] is True
    assert set(figures["cases"]) == {"in_process", "http", "fallback", "memory", "slope"}
    assert figures["cases"]["in_process"]["small"]["cards"] > 0  # the workload exercises card building
    assert figures["cases"]["in_process"]["small"]["collector"]["orjson_collector_paused_ms"]  # reported, not judged
    assert figures["cases"]["fallback"]["cards"] > 0
    assert figures["cases"]["http"]["latency_small"]["service_ms"]
    assert {t["id"] for t in figures["targets"]} == {"1a", "1b", "1c", "2a", "2b", "2c", "3", "4", "5"}
    printed = capsys.readouterr().out
    assert "| 1c " in printed and "cost per resource" in printed


def test_baseline_app_adds_only_the_parse_route(app_overrides: dict[str, Any], build: Any) -> None:
    """The baseline the ratios are measured against: the service's app plus a route that parses and answers no cards,
    with the same body checks as a hook call (content type, JSON, nesting depth)."""
    from leg_pain_cds_bench import baseline

    client = baseline.create_app(app_overrides).test_client()
    resp = client.post(baseline.PARSE_PATH, json=build.hook_request(build.full_prefetch(build.potassium(2.0))))
    assert resp.status_code == 200 and resp.get_json() == {"cards": []}
    bad = client.post(baseline.PARSE_PATH, data="{", content_type="application/json")
    assert bad.status_code == 400 and bad.get_json()["resourceType"] == "OperationOutcome"
    assert client.post(baseline.PARSE_PATH, data="{}", content_type="text/plain").status_code == 415
    hook = client.post("/cds-services/leg-pain-causes", json=build.hook_request(build.full_prefetch(build.potassium(2.0))))
    assert hook.status_code == 200 and hook.get_json()["cards"]
