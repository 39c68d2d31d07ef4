"""Pause CPython's cyclic garbage collector while requests are in flight (CDS_GC_PAUSE, on by default).

Why: a hook request is mostly a freshly parsed JSON tree (~150,000 containers for a heavy patient) that lives
for the request and is freed by reference counting when it ends; it holds no reference cycles. The cyclic
collector does not know that: every 700 new containers it scans the young ones, and its full collections walk
the whole growing tree, several times per parse. Profiled, a heavy request spent ~40 % of its time there
(docs/performance.md). Reference counting still frees everything at once; only the search for cycles waits.

How: a WSGI wrapper counts requests in flight in this process (gunicorn gthread runs several threads per
worker; the collector is per process). The first request in switches automatic collection off, the last one
out switches it back on, and the collector then runs on its usual thresholds. Under load that never drains
(requests overlapping without pause), every COLLECT_EVERY requests the request leaving runs a young and middle
generation collection (gc.collect(1)), and every FULL_EVERY of those a full one: the ~14 objects in cycles a
request leaves behind (Flask and werkzeug frames, exceptions) are still freed, in bounded, rare pauses.

A process where something else turned the collector off (a debugger, a test) is left as it is: the wrapper only
ever re-enables what it disabled itself.
"""
from __future__ import annotations

import gc
import threading
from typing import Any, Callable, Iterable

# Requests that may leave while others are in flight before a gc.collect(1) is forced; the objects in cycles a
# request leaves behind (~14) are then freed within a few hundred requests.
COLLECT_EVERY = 200
FULL_EVERY = 10  # every 10th forced collection is a full one (cycles that outlived the young generations)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class GcPause:
    """Counts requests in flight; the collector is off while any is."""

    def __init__(self, collect_every: int = COLLECT_EVERY, full_every: int = FULL_EVERY) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self._paused = False  # True only while *we* turned the collector off
        self._left_while_busy = 0
        self._forced = 0
        self.collect_every = collect_every
        self.full_every = full_every

    @property
    def active(self) -> int:
        return self._active

    def enter(self) -> None:
        with self._lock:
            self._active += 1
            if self._active == 1 and gc.isenabled():
                gc.disable()
                self._paused = True

    def leave(self) -> None:
        collect: int | None = None
        with self._lock:
            self._active -= 1
            if not self._paused:
                return
            if self._active == 0:
                gc.enable()  # the usual thresholds decide when the next collection runs
                self._paused = False
                self._left_while_busy = 0
                return
            self._left_while_busy += 1
            if self._left_while_busy >= self.collect_every:
                self._left_while_busy = 0
                self._forced += 1
                collect = 2 if self._forced % self.full_every == 0 else 1
        if collect is not None:
            gc.collect(collect)

    def wrap(self, app: WsgiApp) -> WsgiApp:
        """A WSGI app that runs `app` with the collector paused. Flask answers with a finished body, so the
        request is over when `app` returns."""

        def paused(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            self.enter()
            try:
                return app(environ, start_response)
            finally:
                self.leave()

        return paused
