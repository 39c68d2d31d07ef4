"""Run `leg-pain-cds serve` as a subprocess on 127.0.0.1: for the benchmark and the black-box tests."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_subprocess(workdir: Path, settings: Mapping[str, str], *, args: Sequence[str] = (),
                     command: Sequence[str] = (sys.executable, "-m", "cds_service.cli"),
                     ready_s: float = 60.0, port: int | None = None
                     ) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Start `serve` with exactly `settings` as its CDS_* environment (inherited CDS_* dropped), wait until
    /healthz answers, yield (process, base URL); always stopped afterwards. Output goes to workdir/serve.log."""
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")}
    env.update(settings)
    log = (workdir / "serve.log").open("wb")
    proc = subprocess.Popen([*command, "serve", "--host", "127.0.0.1", "--port", str(port), *args], cwd=workdir,
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"`leg-pain-cds serve` exited with {proc.returncode}; see {workdir}/serve.log")
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"`leg-pain-cds serve` was not ready within {ready_s:.0f} s")
            time.sleep(0.1)
        yield proc, base
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
