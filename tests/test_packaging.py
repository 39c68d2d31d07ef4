"""The service's distribution carries the service only: the benchmark, its load client, the synthetic workloads and
the FHIR stand-in live in tools/ (distribution leg-pain-cds-bench), installed next to it for tests and benchmarks."""
from __future__ import annotations

import importlib.metadata
import importlib.util

TOOLING = ("bench", "bench_client", "workload", "fhir_standin")


def test_the_service_package_carries_no_tooling() -> None:
    for name in TOOLING:
        assert importlib.util.find_spec(f"cds_service.{name}") is None, name
    shipped = {str(f) for f in importlib.metadata.files("leg-pain-cds") or ()}
    assert not [f for f in shipped if f.startswith("cds_service/") and f.rsplit("/", 1)[-1][:-3] in TOOLING]


def test_the_load_client_dependency_is_the_tools_not_the_service() -> None:
    service = importlib.metadata.requires("leg-pain-cds") or []
    tools = importlib.metadata.requires("leg-pain-cds-bench") or []
    assert not [r for r in service if r.startswith("aiohttp")]
    assert [r for r in tools if r.startswith("aiohttp")]


def test_the_tools_are_importable_where_the_tests_run() -> None:
    for name in TOOLING:
        assert importlib.util.find_spec(f"leg_pain_cds_bench.{name}") is not None, name
