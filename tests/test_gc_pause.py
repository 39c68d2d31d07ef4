"""CDS_GC_PAUSE: the cyclic collector is off while requests are in flight and back on after, cycles left behind are
still collected under load that never drains, and a collector someone else turned off stays off."""
from __future__ import annotations

import gc
import threading
import weakref
from typing import Any, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_service import create_app
from cds_service.runtime.gc_pause import GcPause


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    (gc.enable if enabled else gc.disable)()


def test_off_while_in_flight_and_on_after() -> None:
    gc.enable()
    pause = GcPause()
    pause.enter()
    pause.enter()
    assert not gc.isenabled()
    pause.leave()
    assert not gc.isenabled()  # one request still in flight
    pause.leave()
    assert gc.isenabled() and pause.active == 0


def test_a_collector_turned_off_elsewhere_stays_off() -> None:
    gc.disable()
    pause = GcPause()
    pause.enter()
    pause.leave()
    assert not gc.isenabled()


def test_cycles_are_collected_under_load_that_never_drains() -> None:
    gc.enable()
    pause = GcPause(collect_every=5, full_every=2)
    collections: list[int] = []

    def seen(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop":
            collections.append(info["generation"])

    class Node:
        def __init__(self) -> None:
            self.me = self  # a reference cycle: only the cyclic collector frees it

    pause.enter()  # a long request that never ends while the others come and go
    gc.callbacks.append(seen)
    try:
        probe = None
        for i in range(20):
            pause.enter()
            if i == 0:
                node = Node()
                probe = weakref.ref(node)
                del node
            pause.leave()
        assert not gc.isenabled()
        assert collections.count(1) >= 2 and 2 in collections  # every 5 leaves: gen 1, every 2nd of those: full
        assert probe is not None and probe() is None  # the cycle was freed while the collector was paused
    finally:
        gc.callbacks.remove(seen)
        pause.leave()
    assert gc.isenabled()


def test_threads_leave_the_collector_on_at_the_end() -> None:
    gc.enable()
    pause = GcPause()
    barrier = threading.Barrier(8)

    def request() -> None:
        pause.enter()
        barrier.wait()  # all eight in flight at once
        pause.leave()
        for _ in range(200):
            pause.enter()
            pause.leave()

    threads = [threading.Thread(target=request) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert pause.active == 0 and gc.isenabled()


def test_the_app_pauses_the_collector_during_a_hook_call(client: FlaskClient, app: Flask, build: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    gc.enable()
    seen: list[bool] = []
    from cds_service import pipeline
    real = pipeline.build_facts

    def spy(*a: Any, **k: Any) -> Any:
        seen.append(gc.isenabled())
        return real(*a, **k)

    monkeypatch.setattr(pipeline, "build_facts", spy)
    resp = client.post("/cds-services/leg-pain-causes", json=build.hook_request(build.full_prefetch(
        build.potassium(2.9))))
    assert resp.status_code == 200 and resp.get_json()["cards"]
    assert seen == [False] and gc.isenabled()
    bad = client.post("/cds-services/leg-pain-causes", data=b"{not json", content_type="application/json")
    assert bad.status_code == 400 and gc.isenabled()  # errors end the pause too


def test_cds_gc_pause_false_leaves_the_collector_alone(app_overrides: dict[str, Any], build: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    gc.enable()
    app = create_app({**app_overrides, "GC_PAUSE": False})
    assert "cds_gc_pause" not in app.extensions
    seen: list[bool] = []
    from cds_service import pipeline
    real = pipeline.build_facts
    monkeypatch.setattr(pipeline, "build_facts", lambda *a, **k: seen.append(gc.isenabled()) or real(*a, **k))
    app.test_client().post("/cds-services/leg-pain-causes", json=build.hook_request(build.full_prefetch()))
    assert seen == [True]
