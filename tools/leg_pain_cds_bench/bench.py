"""``leg-pain-cds bench``: the performance targets of issue 6, measured as ratios in one run on one machine.

Cases, run in turn in one process (docs/performance.md explains each and the design behind the figures):

1. in process, through the Flask app's test client, vs ``orjson.loads`` of the same body (small/typical/heavy);
2. over loopback against ``leg-pain-cds serve`` (gunicorn, its default workers) started as a subprocess: latency of
   the hook vs the parse-only route ``POST /_bench/parse`` given the same body, p50 and p99;
3. throughput with 8 concurrent connections, hook vs parse-only route;
4. FHIR fallback without prefetch against the FHIR stand-in answering each query after 5 ms, in its own process:
   all queries of one call together vs the slowest single query;
5. peak memory (tracemalloc) added by a heavy request vs ``orjson.loads`` of its body;
and the cost per resource (least-squares slope over several patient sizes).

Baseline and service are measured alternately, so that other load on the machine hits both alike. HTTP load comes
from a separate process (leg_pain_cds_bench.bench_client, aiohttp), only to 127.0.0.1, bounded in count and time.
``--check`` exits 1 when a target is missed; ``--quick`` runs every case on the small workload in seconds (what the
test suite runs - it never asserts times). Figures are medians unless a percentile is named.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import orjson
import requests

from cds_service.runtime import serve as serving
from leg_pain_cds_bench import baseline, workload
from leg_pain_cds_bench.baseline import PARSE_PATH

SERVICE_PATH = f"/cds-services/{workload.SERVICE_ID}"
BASELINE_APP = "leg_pain_cds_bench.baseline:create_app"  # `serve --app`: the service plus PARSE_PATH
FALLBACK_DELAY_S = 0.005
CONCURRENCY = 8
HTTP_ROUNDS = 6  # runs per route and HTTP case, alternating (throughput: `--seconds` in all per route)
SLOPE_SIZES = (20, 250, 500, 1000, 2500, 5000)
QUICK_SLOPE_SIZES = (10, 20)
# Different patients per size: each measured once in process; a pool of them sent in turn over HTTP.
IN_PROCESS_PATIENTS = {"small": 300, "typical": 100, "heavy": 15}
HTTP_POOL = {"small": 20, "typical": 20, "heavy": 8}


@dataclass
class Target:
    """One issue-6 target: `measured` compared with `limit` by `op` ("<=" or ">=")."""

    id: str
    text: str
    measured: float | None
    limit: float
    op: str
    unit: str = "x"
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.measured is None:
            return None
        return self.measured <= self.limit if self.op == "<=" else self.measured >= self.limit


@dataclass
class Run:
    """Everything measured in one run (written as JSON)."""

    quick: bool
    started: str
    machine: dict[str, Any]
    workloads: dict[str, dict[str, Any]] = field(default_factory=dict)
    cases: dict[str, Any] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- helpers


def _ms(seconds: float) -> float:
    return seconds * 1000.0


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))  # nearest-rank
    return ordered[rank]


def _alternate(baseline: Callable[[], Any], service: Callable[[], Any], repeats: int) -> tuple[list[float], list[float]]:
    """Time baseline and service alternately (ms), so that background load hits both alike."""
    base: list[float] = []
    serv: list[float] = []
    for _ in range(repeats):
        started = time.perf_counter()
        baseline()
        base.append(_ms(time.perf_counter() - started))
        started = time.perf_counter()
        service()
        serv.append(_ms(time.perf_counter() - started))
    return base, serv


@contextmanager
def _frozen_gc() -> Iterator[None]:
    """gc.freeze() for the measurements, undone afterwards (the caller may be a long-lived process, e.g. pytest)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _load() -> list[float] | None:
    """1/5/15-minute load averages: other work on the machine shows in absolute figures (ratios resist it)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _now() -> datetime:
    return workload.default_now()


def _app(tmp: Path, now: datetime, fhir_server: str = "") -> Any:
    """The production app, in process: no client authentication (the bench signs no JWTs), a fixed clock."""
    return baseline.create_app({"AUTH": "none", "DATABASE_URL": f"sqlite:///{tmp / 'inproc.db'}",
                       "CLOCK": lambda: now, "ALLOWED_FHIR_SERVERS": fhir_server})


def _post(client: Any, path: str, body: bytes) -> Any:
    return client.post(path, data=body, content_type="application/json")


def _checked(resp: Any, what: str) -> dict[str, Any]:
    if resp.status_code != 200:
        raise RuntimeError(f"bench: {what} answered HTTP {resp.status_code}: {resp.get_data(as_text=True)[:300]}")
    return dict(resp.get_json())


# ---------------------------------------------------------------------------------------------- case 1


def patients(size: str, count: int, now: datetime, observations: int | None = None) -> list[bytes]:
    """`count` different patients of one size (seeds 1..count), as request bodies.

    Different patients, not one body repeated: the service keeps validated elements across requests (codes,
    ranges and fixed-precision values repeat across charts, cards/facts/memo.py), and a benchmark that sent one body
    over and over would measure only hits. Each patient is measured once, so the figures include the misses of
    a memo that warms up as it would on a ward's first patients of the day.
    """
    return [orjson.dumps(workload.hook_request(size, seed=seed, now=now, observations=observations))
            for seed in range(1, count + 1)]


def _alternate_over(client: Any, bodies: list[bytes]) -> tuple[list[float], list[float]]:
    """orjson.loads(body) and the service given the same body, alternately, each body once (ms)."""
    base: list[float] = []
    serv: list[float] = []
    for body in bodies:
        b, s = _alternate(partial(orjson.loads, body), partial(_post, client, SERVICE_PATH, body), 1)
        base += b
        serv += s
    return base, serv


def _loads_collector_paused(body: bytes) -> None:
    """orjson.loads with the cyclic collector off, as the service runs (cds_service/runtime/gc_pause.py); parsed and freed.
    Like GcPause, it only re-enables a collector it turned off itself."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        orjson.loads(body)
    finally:
        if was_enabled:
            gc.enable()


def collector_effect(bodies: list[bytes]) -> dict[str, Any]:
    """orjson.loads with the collector on (the baseline) and paused (as the service runs), alternately (ms).

    Reported beside the targets, not judged: the service pauses the collector during a request, the baseline is a
    plain call. Timed in a pass of its own, so that the judged pairs keep their order (a parse right after
    another parse finds warm memory and runs faster).
    """
    plain: list[float] = []
    paused: list[float] = []
    for body in bodies:
        p, q = _alternate(partial(orjson.loads, body), partial(_loads_collector_paused, body), 1)
        plain += p
        paused += q
    return {"orjson_ms": plain, "orjson_collector_paused_ms": paused,
            "paused_to_plain": _median([q / p for p, q in zip(plain, paused)])}


def in_process(app: Any, bodies: dict[str, list[bytes]]) -> dict[str, Any]:
    """Service time through the Flask test client vs orjson.loads of the same body, one patient after another."""
    client = app.test_client()
    out: dict[str, Any] = {}
    for size, patients_ in bodies.items():
        answer = _checked(_post(client, SERVICE_PATH, patients_[0]), f"{size} request")
        base, serv = _alternate_over(client, patients_)
        out[size] = {"orjson_ms": base, "service_ms": serv, "orjson_p50_ms": _median(base),
                     "service_p50_ms": _median(serv), "ratio": _median(serv) / _median(base),
                     "patients": len(patients_), "cards": len(answer["cards"])}
    for size, patients_ in bodies.items():
        effect = collector_effect(patients_)
        out[size]["collector"] = effect
        out[size]["ratio_to_collector_paused"] = out[size]["ratio"] / effect["paused_to_plain"]
    return out


# ---------------------------------------------------------------------------------------------- cases 2 and 3


@contextmanager
def served(tmp: Path) -> Iterator[str]:
    """`leg-pain-cds serve` as a subprocess on 127.0.0.1 with its default workers; yields the base URL."""
    settings = {"CDS_AUTH": "none", "CDS_DATABASE_URL": f"sqlite:///{tmp / 'served.db'}"}
    with serving.serve_subprocess(tmp, settings, args=("--app", BASELINE_APP)) as (_, base):
        yield base


def drive(url: str, body_paths: list[Path], *, concurrency: int, count: int, seconds: float,
          warmup: int = 3) -> dict[str, Any]:
    """One bounded load run from a separate process (leg_pain_cds_bench.bench_client), the bodies sent in turn."""
    spec = {"url": url, "body_paths": [str(p) for p in body_paths], "concurrency": concurrency, "count": count,
            "seconds": seconds, "warmup": warmup}
    done = subprocess.run([sys.executable, "-m", "leg_pain_cds_bench.bench_client"], input=json.dumps(spec).encode(),
                          capture_output=True, timeout=seconds + 120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench: load client failed: {done.stderr.decode(errors='replace')[-800:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    if result["errors"]:
        raise RuntimeError(f"bench: {url} answered errors {result['errors']}")
    return result


def over_http(base: str, paths: dict[str, list[Path]], *, latency_counts: dict[str, int], seconds: float,
              rounds: int) -> dict[str, Any]:
    """Latency (one connection) and throughput (CONCURRENCY connections), hook vs parse-only, in alternating runs.

    Each route runs on its own (a run sends one route only): sent one after the other on one connection, each
    route slowed the other down (parse-only p50 +25-45 %), which would flatter the ratio. `rounds` runs per route
    and case, alternating, so that this VM's changes of speed (2-3x within seconds) hit both routes alike; the
    throughput ratio is the median of the ratios of adjacent runs (each run opens new connections, and which worker
    gets which keep-alive connection varies from run to run).
    """
    out: dict[str, Any] = {}
    for size, count in latency_counts.items():
        lat: dict[str, list[float]] = {"parse": [], "service": []}
        for _ in range(rounds):
            for route, path in (("parse", PARSE_PATH), ("service", SERVICE_PATH)):
                result = drive(base + path, paths[size], concurrency=1, count=max(count // rounds, 1),
                               seconds=seconds * 2)
                lat[route] += result["latencies_ms"]
        out[f"latency_{size}"] = {
            "parse_ms": lat["parse"], "service_ms": lat["service"],
            "parse_p50_ms": _median(lat["parse"]), "service_p50_ms": _median(lat["service"]),
            "parse_p99_ms": _percentile(lat["parse"], 99), "service_p99_ms": _percentile(lat["service"], 99),
            "p50_ratio": _median(lat["service"]) / _median(lat["parse"]),
        }
    size = "typical" if "typical" in paths else next(iter(paths))
    rps: dict[str, list[float]] = {"parse": [], "service": []}
    for _ in range(rounds):
        for route, path in (("parse", PARSE_PATH), ("service", SERVICE_PATH)):
            result = drive(base + path, paths[size], concurrency=CONCURRENCY, count=1_000_000,
                           seconds=seconds / rounds, warmup=CONCURRENCY)
            rps[route].append(result["completed"] / result["elapsed_s"])
    out["throughput"] = {"size": size, "concurrency": CONCURRENCY, "parse_rps": rps["parse"],
                         "service_rps": rps["service"],
                         "ratio": _median([s / p for s, p in zip(rps["service"], rps["parse"])])}
    return out


# ---------------------------------------------------------------------------------------------- case 4


def fallback(tmp: Path, request: dict[str, Any], now: datetime, repeats: int) -> dict[str, Any]:
    """No prefetch: all fallback queries of one call (gather.gather) vs the slowest single query alone."""
    from cards import registry

    from cds_service.fhir import gather
    from cds_service import schemas
    from leg_pain_cds_bench.fhir_standin import StandInProcess

    service = registry.service(workload.SERVICE_ID)
    server = StandInProcess(workload.resources_of(request), delay_s=FALLBACK_DELAY_S).start()
    try:
        base = server.base_url
        app = _app(tmp, now, fhir_server=base)  # the stand-in's loopback URL on the fhirServer allowlist
        settings = gather.FetchSettings.from_config(app.config)
        bare = {k: v for k, v in request.items() if k != "prefetch"}
        bare["fhirServer"] = base
        body = orjson.dumps(bare)
        call = schemas.load_hook_request(orjson.loads(body), service)
        queries = {k.key: k.fallback_query(workload.PATIENT_ID, now) for k in service.data_keys}
        single: dict[str, list[float]] = {key: [] for key in queries}
        totals: list[float] = []
        calls: list[float] = []
        client = app.test_client()
        answer = _checked(_post(client, SERVICE_PATH, body), "fallback request")
        with requests.Session() as session:
            for _ in range(repeats):
                for key, query in queries.items():  # each query alone, as a FHIR client would time it
                    started = time.perf_counter()
                    resp = session.get(f"{base}/{query}", headers={"Accept": "application/fhir+json"}, timeout=10)
                    resp.content  # noqa: B018 - the whole body is part of the query's time
                    single[key].append(_ms(time.perf_counter() - started))
                    resp.raise_for_status()
                started = time.perf_counter()
                data = gather.gather(call, service, now=now, settings=settings,
                                        allow_server=gather.allow_all_servers)
                totals.append(_ms(time.perf_counter() - started))
                started = time.perf_counter()
                _post(client, SERVICE_PATH, body)
                calls.append(_ms(time.perf_counter() - started))
    finally:
        server.stop()
    per_key = {key: _median(v) for key, v in single.items()}
    slowest = max(per_key.values())
    return {"delay_ms": _ms(FALLBACK_DELAY_S), "queries": queries, "single_p50_ms": per_key,
            "slowest_single_p50_ms": slowest, "gather_ms": totals, "gather_p50_ms": _median(totals),
            "call_p50_ms": _median(calls), "requests_per_call": dict(data.fetched),
            "ratio": _median(totals) / slowest, "cards": len(answer["cards"])}


# ---------------------------------------------------------------------------------------------- case 5


def _peak(action: Callable[[], Any]) -> int:
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    result = action()
    peak = tracemalloc.get_traced_memory()[1] - before
    del result
    return peak


def memory(app: Any, body: bytes) -> dict[str, Any]:
    """Peak memory a request adds vs what orjson.loads of its body adds (tracemalloc, after one warm-up)."""
    client = app.test_client()
    _post(client, SERVICE_PATH, body)  # first-call caches (value sets, models) are not per-request memory
    tracemalloc.start()
    try:
        parse = [_peak(lambda: orjson.loads(body)) for _ in range(2)]
        service = [_peak(lambda: _post(client, SERVICE_PATH, body).status_code) for _ in range(2)]
    finally:
        tracemalloc.stop()
    return {"body_bytes": len(body), "orjson_peak_bytes": min(parse), "service_peak_bytes": min(service),
            "ratio": min(service) / min(parse)}


# ---------------------------------------------------------------------------------------------- slope


def slope(app: Any, now: datetime, sizes: tuple[int, ...]) -> dict[str, Any]:
    """Least-squares cost per resource, service and orjson.loads, over patients of several sizes."""
    client = app.test_client()
    points = []
    for n in sizes:
        bodies = patients("typical", max(3, min(40, 20_000 // max(n, 1))), now, observations=n)
        body = bodies[0]
        resources = len(workload.resources_of(orjson.loads(body)))
        _checked(_post(client, SERVICE_PATH, body), f"{n}-observation request")
        base, serv = _alternate_over(client, bodies)
        points.append({"observations": n, "resources": resources, "bytes": len(body),
                       "orjson_p50_ms": _median(base), "service_p50_ms": _median(serv)})
    xs = [float(p["resources"]) for p in points]
    fit_s = statistics.linear_regression(xs, [p["service_p50_ms"] for p in points])
    fit_o = statistics.linear_regression(xs, [p["orjson_p50_ms"] for p in points])
    corr = statistics.correlation(xs, [p["service_p50_ms"] for p in points])
    return {"points": points, "service_us_per_resource": fit_s.slope * 1000,
            "service_intercept_ms": fit_s.intercept, "orjson_us_per_resource": fit_o.slope * 1000,
            "service_r2": corr * corr}


# ---------------------------------------------------------------------------------------------- run


def run(*, quick: bool, seconds: float, log: Callable[[str], None] = print) -> Run:
    """Every case in turn; returns the figures and the targets they meet or miss."""
    now = _now()
    result = Run(quick=quick, started=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 machine={"python": platform.python_version(), "platform": platform.platform(),
                          "cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                          "load_average_at_start": _load()})
    sizes = ("small",) if quick else ("small", "typical", "heavy")
    requests_ = {s: workload.hook_request(s, now=now) for s in sizes}
    for s, r in requests_.items():
        result.workloads[s] = {"bytes": len(orjson.dumps(r)), "resources": len(workload.resources_of(r)),
                               "observations": workload.SIZES[s].observations,
                               "medication_entries": workload.SIZES[s].medications}
    # One patient per measured call in process; a pool sent in turn over HTTP (what a server sees all day).
    counts = {"small": 30, "typical": 3, "heavy": 2} if quick else IN_PROCESS_PATIENTS
    log("generating patients ...")
    bodies = {s: patients(s, counts[s], now) for s in sizes}
    with tempfile.TemporaryDirectory(prefix="leg-pain-bench-") as tmpdir:
        tmp = Path(tmpdir)
        paths: dict[str, list[Path]] = {}
        for s, patients_ in bodies.items():
            paths[s] = []
            for i, body in enumerate(patients_[:HTTP_POOL[s]]):
                paths[s].append(tmp / f"{s}-{i + 1}.json")
                paths[s][-1].write_bytes(body)
        app = _app(tmp, now)
        _post(app.test_client(), SERVICE_PATH, orjson.dumps(requests_[sizes[0]]))  # first-call caches: value sets
        with _frozen_gc():  # as `leg-pain-cds serve` does before forking its workers
            log("case 1: in process (Flask test client) vs orjson.loads ...")
            result.cases["in_process"] = in_process(app, bodies)

            log("cases 2-3: over loopback against `leg-pain-cds serve` ...")
            http_counts = {"small": 20} if quick else {"typical": 300, "heavy": 60}
            with served(tmp) as base:
                result.cases["http"] = over_http(base, {s: paths[s] for s in http_counts},
                                                 latency_counts=http_counts, seconds=0.5 if quick else seconds,
                                                 rounds=1 if quick else HTTP_ROUNDS)

            log("case 4: FHIR fallback against the stand-in (5 ms per query) ...")
            fb_size = "small" if quick else "typical"
            result.cases["fallback"] = fallback(tmp, requests_[fb_size], now, repeats=3 if quick else 40)
            result.cases["fallback"]["size"] = fb_size

            log("case 5: peak memory (tracemalloc) ...")
            mem_size = "small" if quick else "heavy"
            result.cases["memory"] = {**memory(app, orjson.dumps(requests_[mem_size])), "size": mem_size}

            log("cost per resource ...")
            result.cases["slope"] = slope(app, now, QUICK_SLOPE_SIZES if quick else SLOPE_SIZES)
    result.machine["load_average_at_end"] = _load()
    result.targets = targets(result)
    return result


def targets(run_: Run) -> list[Target]:
    """Issue 6 targets 1-5 from the figures; in a quick run only what the small workload can show is judged."""
    c = run_.cases
    ip = c["in_process"]
    http = c["http"]
    quick = run_.quick
    typical = ip.get("typical", {})
    heavy = ip.get("heavy", {})
    lat_t = http.get("latency_typical", {})
    lat_h = http.get("latency_heavy", {})
    na = "not measured in --quick" if quick else ""
    return [
        Target("1a", "in process, typical / orjson.loads", typical.get("ratio"), 2.0, "<=", note=na),
        Target("1b", "in process, heavy / orjson.loads", heavy.get("ratio"), 1.6, "<=", note=na),
        Target("1c", "in process, small request", ip["small"]["service_p50_ms"], 3.0, "<=", "ms"),
        Target("2a", "HTTP typical p50 / parse-only p50", lat_t.get("p50_ratio"), 2.5, "<=", note=na),
        Target("2b", "HTTP typical p99", lat_t.get("service_p99_ms"), 50.0, "<=", "ms", note=na),
        Target("2c", "HTTP heavy p99", lat_h.get("service_p99_ms"), 250.0, "<=", "ms", note=na),
        Target("3", f"throughput, {CONCURRENCY} connections / parse-only",
               None if quick else http["throughput"]["ratio"], 0.5, ">=", note=na),
        Target("4", "FHIR fallback, all queries / slowest one", None if quick else c["fallback"]["ratio"],
               1.6, "<=", note=na),
        Target("5", "peak memory, heavy / orjson.loads", None if quick else c["memory"]["ratio"], 2.0, "<=",
               note=na),
    ]


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:.2f} ms" if unit == "ms" else f"{value:.2f}x"


def table(run_: Run) -> str:
    """The targets table (Markdown, so that docs/performance.md can show it as printed)."""
    rows = [("#", "measure", "measured", "target", "met")]
    for t in run_.targets:
        met = {True: "yes", False: "NO", None: t.note or "-"}[t.met]
        rows.append((t.id, t.text, _fmt(t.measured, t.unit), f"{t.op} {_fmt(t.limit, t.unit)}", met))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def details(run_: Run) -> str:
    """The raw medians behind the ratios."""
    c = run_.cases
    out = [f"machine: {run_.machine['cpus']} CPUs, Python {run_.machine['python']}, load average "
           f"{run_.machine.get('load_average_at_start')} at start, {run_.machine.get('load_average_at_end')} at end"]
    out += ["workloads: " + ", ".join(f"{s} {w['resources']} resources / {w['bytes'] / 1000:.0f} kB"
                                     for s, w in run_.workloads.items())]
    for size, v in c["in_process"].items():
        out.append(f"in process {size}: service {v['service_p50_ms']:.2f} ms, orjson.loads {v['orjson_p50_ms']:.2f} ms,"
                   f" {v['cards']} cards; orjson.loads with the collector paused, as the service runs, takes"
                   f" {v['collector']['paused_to_plain']:.2f}x the plain call: service / that"
                   f" {v['ratio_to_collector_paused']:.2f}x (not judged)")
    for key, v in c["http"].items():
        if key.startswith("latency_"):
            out.append(f"HTTP {key[8:]}: service p50 {v['service_p50_ms']:.2f} / p99 {v['service_p99_ms']:.2f} ms;"
                       f" parse-only p50 {v['parse_p50_ms']:.2f} / p99 {v['parse_p99_ms']:.2f} ms")
    tp = c["http"]["throughput"]
    out.append(f"throughput ({tp['size']}, {tp['concurrency']} connections): service "
               f"{_median(tp['service_rps']):.0f} req/s, parse-only {_median(tp['parse_rps']):.0f} req/s")
    fb = c["fallback"]
    out.append(f"fallback ({fb['size']}): gather {fb['gather_p50_ms']:.2f} ms, slowest single query "
               f"{fb['slowest_single_p50_ms']:.2f} ms, whole call {fb['call_p50_ms']:.2f} ms, "
               f"requests {fb['requests_per_call']}")
    mem = c["memory"]
    out.append(f"memory ({mem['size']}): service +{mem['service_peak_bytes'] / 1e6:.1f} MB, orjson.loads "
               f"+{mem['orjson_peak_bytes'] / 1e6:.1f} MB (body {mem['body_bytes'] / 1e6:.1f} MB)")
    sl = c["slope"]
    out.append(f"cost per resource: service {sl['service_us_per_resource']:.1f} us/resource (R^2 "
               f"{sl['service_r2']:.3f}, intercept {sl['service_intercept_ms']:.2f} ms); orjson.loads "
               f"{sl['orjson_us_per_resource']:.1f} us/resource")
    return "\n".join(out)


def _bench(args: argparse.Namespace) -> int:
    result = run(quick=args.quick, seconds=args.seconds, log=lambda m: print(m, file=sys.stderr, flush=True))
    print(table(result))
    print()
    print(details(result))
    if args.json:
        Path(args.json).write_text(json.dumps(asdict(result), indent=1, default=str) + "\n")
    missed = [t.id for t in result.targets if t.met is False]
    if args.check and missed:
        print(f"\ntargets missed: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


def register(subparsers: Any) -> None:
    """Add `leg-pain-cds bench` to the CLI (cds_service.cli PLUGINS)."""
    bench = subparsers.add_parser("bench", help="measure the performance targets (ratios to orjson.loads and to "
                                  "a parse-only route) on synthetic patients")
    bench.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    bench.add_argument("--quick", action="store_true", help="small workload only, a few seconds (the test suite)")
    bench.add_argument("--json", metavar="PATH", help="write the raw figures as JSON to PATH")
    bench.add_argument("--seconds", type=float, default=6.0,
                       help="seconds of load per throughput measurement (default 6)")
    bench.set_defaults(func=_bench)
