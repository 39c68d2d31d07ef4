"""Load client for ``leg-pain-cds bench``: run as a separate process, POSTs bodies in turn over loopback, bounded.

Why aiohttp: the benchmark needs per-request latencies with sub-millisecond resolution, N keep-alive connections
driven concurrently, and a bound in both count and time, from a process other than the server's. aiohttp
(maintained, asyncio, C-accelerated HTTP parser) does that in a few lines. Locust rounds response times to whole
milliseconds below 100 ms (too coarse for a ~5 ms baseline route) and brings gevent monkey-patching, a web UI and
ZeroMQ into the service's default install; molotov has had no release since 2022; wrk/oha are not on PyPI.

Reads a JSON spec on stdin ``{"url", "body_paths", "concurrency", "count", "seconds", "warmup"}`` and writes
``{"latencies_ms": [...], "errors": {status: n}, "elapsed_s", "completed"}`` on stdout. Only 127.0.0.1 targets.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


async def _run(spec: dict[str, Any]) -> dict[str, Any]:
    url = str(spec["url"])
    if urlsplit(url).hostname not in LOOPBACK:
        raise SystemExit(f"bench_client: refusing non-loopback target {url!r}")
    bodies = [Path(p).read_bytes() for p in spec["body_paths"]]
    turn = itertools.cycle(bodies)  # one patient after another, the same order for every route
    concurrency = int(spec.get("concurrency", 1))
    count = int(spec["count"])
    seconds = float(spec["seconds"])
    warmup = int(spec.get("warmup", 0))
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one() -> float | None:
            started = time.perf_counter()
            async with session.post(url, data=next(turn), headers=headers) as resp:
                await resp.read()
                if resp.status != 200:
                    errors[str(resp.status)] += 1
                    return None
            return (time.perf_counter() - started) * 1000

        # Warm-up opens the connections and the server's code paths; not counted.
        await asyncio.gather(*(one() for _ in range(max(warmup, concurrency))))
        sent = 0
        deadline = time.perf_counter() + seconds
        begin = time.perf_counter()

        async def worker() -> None:
            nonlocal sent
            while sent < count and time.perf_counter() < deadline:
                sent += 1
                latency = await one()
                if latency is not None:
                    latencies.append(latency)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - begin
    return {"latencies_ms": latencies, "errors": dict(errors), "elapsed_s": elapsed, "completed": len(latencies)}


def main() -> int:
    spec = json.loads(sys.stdin.read())
    result = asyncio.run(_run(spec))
    sys.stdout.write(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
