"""A real HTTP server on 127.0.0.1 that answers canned replies and records every request and every connection.

Why real: the code under test opens its own sockets (JWKS fetches, the FHIR client); a refused URL must be refused
before any connection is made, which only a server that records connections (`verify_request`) can show.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = tuple[int, dict[str, str], bytes]  # status, headers, body
NOT_FOUND: Reply = (404, {}, b"{}")


@dataclass
class RecordingServer:
    """Answers GET `path` from `routes`, else from `fallback(path)`, else 404; records (path, headers) per request
    and "host:port" per connection."""

    routes: dict[str, Reply] = field(default_factory=dict)
    fallback: Callable[[str], Reply] | None = None
    connections: list[str] = field(default_factory=list)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.server_address[1]

    @property
    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def set_json(self, path: str, body: object, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.routes[path] = (status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body).encode())

    def fetches(self, path: str) -> int:
        return self.paths.count(path)

    def reply(self, path: str) -> Reply:
        found = self.routes.get(path)  # .get: a test may give a dict that answers every path
        if found is not None:
            return found
        return self.fallback(path) if self.fallback is not None else NOT_FOUND

    def start(self) -> RecordingServer:
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                rec.requests.append((self.path, dict(self.headers)))
                status, headers, body = rec.reply(self.path)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                return

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request: Any, client_address: Any) -> bool:
                rec.connections.append(f"{client_address[0]}:{client_address[1]}")
                return True

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def stop(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def recording_server(fallback: Callable[[str], Reply] | None = None) -> Iterator[RecordingServer]:
    """A started RecordingServer, stopped on exit."""
    rec = RecordingServer(fallback=fallback).start()
    try:
        yield rec
    finally:
        rec.stop()
