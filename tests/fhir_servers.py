"""Start and stop a real third-party FHIR R4 server (sekmet-fhir) for the integration tests.

sekmet-fhir 0.1.1 is a FastAPI + SQLite FHIR R4 server. Its own ``serve`` command
(``python -m sekmet.cli serve --config FILE --host H --port P``) reads a YAML settings file; we write one
per server into a temporary directory so that the database, keys and traffic log live there and nothing
touches the working directory. See docs/fhir-servers.md for what the server supports and where it falls short.

Authentication modes (sekmet ``server_auth.types``):

* ``open``   — ``["none"]``: no Authorization header needed (like the public HAPI / SMART sandboxes).
* ``bearer`` — ``["bearer", "smart"]``: a static bearer token from the settings file is accepted (401 for a
  missing or unknown token); in addition a SMART Backend Services client with a client secret can obtain a
  scoped HS256 token at ``/auth/token``: a token whose scopes do not cover a resource type gets **403**, which
  is how the tests produce a "forbidden" answer from a real server.
"""
from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

#: Bounded readiness poll: the server normally answers /metadata within 2-4 s of being started.
STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
SMART_CLIENT_ID = "leg-pain-cds-tests"


class FhirServerError(RuntimeError):
    """The FHIR server could not be started or answered unexpectedly."""


def free_port() -> int:
    """A port that was free a moment ago on 127.0.0.1 (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SekmetServer:
    """A running sekmet-fhir server process."""

    base_url: str
    mode: str
    workdir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    token: str | None = None
    smart_client_secret: str | None = None
    _log_file: Any = field(default=None, repr=False)

    @property
    def root_url(self) -> str:
        return self.base_url[: -len("/fhir")]

    def headers(self, token: str | None = None) -> dict[str, str]:
        """Request headers for this server: the configured token unless another is given."""
        tok = token if token is not None else self.token
        out = {"Accept": "application/fhir+json"}
        if tok:
            out["Authorization"] = f"Bearer {tok}"
        return out

    def count(self, resource_type: str, **params: str) -> int:
        """Number of current (non-deleted) resources of a type, through ``_summary=count``."""
        resp = requests.get(f"{self.base_url}/{resource_type}", params={"_summary": "count", **params},
                            headers=self.headers(), timeout=10)
        resp.raise_for_status()
        return int(resp.json()["total"])

    def counts(self, resource_types: list[str] | tuple[str, ...]) -> dict[str, int]:
        return {rt: self.count(rt) for rt in resource_types}

    def smart_token(self, scope: str) -> str:
        """A SMART Backend Services access token with the given scopes (bearer mode only).

        A token whose scopes do not cover a resource type is answered with 403 by the server.
        """
        if self.smart_client_secret is None:
            raise FhirServerError("SMART tokens exist only in bearer mode")
        resp = requests.post(f"{self.root_url}/auth/token", data={"grant_type": "client_credentials",
                                                                  "scope": scope},
                             auth=(SMART_CLIENT_ID, self.smart_client_secret), timeout=10)
        if resp.status_code != 200:
            raise FhirServerError(f"token endpoint answered {resp.status_code}: {resp.text[:300]}")
        return str(resp.json()["access_token"])

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Terminate the process (SIGTERM, then SIGKILL after a bounded wait)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT_S)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


def _settings(mode: str, port: int, workdir: Path, token: str | None, smart_secret: str | None) -> dict[str, Any]:
    base_url = f"http://127.0.0.1:{port}/fhir"
    if mode == "open":
        auth: dict[str, Any] = {"types": ["none"]}
    elif mode == "bearer":
        auth = {"types": ["bearer", "smart"], "tokens": [token],
                "smart_clients": [{"client_id": SMART_CLIENT_ID, "client_secret": smart_secret,
                                   "scopes": "system/*.read system/*.write system/Patient.read"}],
                "enforce_scopes": True}
    else:
        raise ValueError(f"unknown mode {mode!r}: use 'open' or 'bearer'")
    return {
        "base_url": base_url,  # used in search paging links and fullUrls, so it must be the real address
        "host": "127.0.0.1",
        "port": port,
        "data_dir": str(workdir / "data"),
        "db_path": str(workdir / "data" / "sekmet.db"),
        "own_private_key_path": str(workdir / "keys" / "sekmet_private.pem"),
        "server_auth": auth,
        # The workflow simulator reacts to MedicationRequest/ServiceRequest writes by creating resources of its
        # own (dispenses, tasks); that would make resource counts drift, so it is off.
        "simulator": {"enabled": False},
        "validation": {"inbound": "strict"},  # rejects structurally invalid resources with 400, as HAPI does
        "log_inbound": False,
    }


def start_sekmet(workdir: Path, mode: str = "bearer", *, attempts: int = 3) -> SekmetServer:
    """Start sekmet-fhir on 127.0.0.1 on a free port and wait until /metadata answers.

    The port is chosen by binding port 0 and releasing it; should another process take it in between, the
    server exits at once and we retry on a fresh port (``attempts`` times).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "data").mkdir(exist_ok=True)
    (workdir / "keys").mkdir(exist_ok=True)
    last_error = ""
    for attempt in range(attempts):
        port = free_port()
        token = secrets.token_urlsafe(24) if mode == "bearer" else None
        smart_secret = secrets.token_urlsafe(24) if mode == "bearer" else None
        config = workdir / f"settings-{attempt}.yaml"
        # JSON is a subset of YAML, which is what sekmet reads.
        config.write_text(json.dumps(_settings(mode, port, workdir, token, smart_secret), indent=2))
        log_path = workdir / f"server-{attempt}.log"
        log_file = log_path.open("wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SEKMET_")}
        env["SEKMET_CONFIG"] = str(config)
        proc = subprocess.Popen(
            [sys.executable, "-m", "sekmet.cli", "serve", "--config", str(config), "--host", "127.0.0.1",
             "--port", str(port)],
            cwd=workdir, env=env, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        server = SekmetServer(base_url=f"http://127.0.0.1:{port}/fhir", mode=mode, workdir=workdir, process=proc,
                              log_path=log_path, token=token, smart_client_secret=smart_secret, _log_file=log_file)
        try:
            _wait_ready(server)
            return server
        except FhirServerError as err:
            last_error = f"{err}\n--- server log ---\n{server.log_tail()}"
            server.stop()
    raise FhirServerError(f"sekmet-fhir did not start after {attempts} attempts: {last_error}")


def _wait_ready(server: SekmetServer) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    delay = 0.05
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise FhirServerError(f"server exited with code {server.process.returncode}")
        try:
            resp = requests.get(f"{server.base_url}/metadata", timeout=2)
            if resp.status_code == 200 and resp.json().get("resourceType") == "CapabilityStatement":
                return
        except (requests.RequestException, ValueError):
            pass
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
    raise FhirServerError(f"no CapabilityStatement within {STARTUP_TIMEOUT_S:.0f} s")
