"""Serving with gunicorn: the worker `leg-pain-cds serve` runs, and `serve_subprocess` (benchmark, black-box tests).

``JsonErrorWorker`` is gunicorn's threaded worker with three changes, each for something a client would otherwise
see from outside the app:

* errors gunicorn answers itself (a request line over ``limit_request_line``: 414; headers over the header limits:
  431; a malformed request: 400; ...) are a JSON OperationOutcome like every other error, never gunicorn's HTML
  page, and the log line names the error type only (never the request line or header it quotes);
* a request whose ``Content-Length`` is over the body limit (CDS_MAX_BODY_MB) gets no ``100 Continue``: the app's
  413 is the only answer, and the connection is closed after it (a client that waits for 100 never sends the body);
* on SIGTERM the worker takes every connection already queued on the listening socket and closes its copy of that
  socket (the master closed its own): connections queued and never accepted would be reset when the last copy
  closes, while a closed socket refuses new ones cleanly. Kept-alive connections get gunicorn's own graceful stop.
"""
from __future__ import annotations

import errno
import logging
import os
import socket
import ssl
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import orjson
import requests
# gunicorn ships no type stubs.
from gunicorn import util as gunicorn_util  # type: ignore[import-untyped]
from gunicorn.http import errors as http_errors  # type: ignore[import-untyped]
from gunicorn.workers.gthread import TConn, ThreadWorker  # type: ignore[import-untyped]

from cds_service.security.headers import SECURITY_HEADERS

log = logging.getLogger(__name__)

# Headers gunicorn parses before the app sees the request. One header field may hold up to HEADER_FIELD_MAX bytes so
# that an oversized bearer token reaches the app and is refused there like any other bad token (401, with its audit
# row); at most HEADER_FIELDS_MAX fields, so a request head is bounded by about their product (32 MiB), the order
# of the body limit (CDS_MAX_BODY_MB). Over either: 431. A request line over REQUEST_LINE_MAX: 414.
HEADER_FIELD_MAX = 1024 * 1024 + 1024
HEADER_FIELDS_MAX = 32
REQUEST_LINE_MAX = 8190

# gunicorn's parse errors -> (HTTP status, reason phrase, OperationOutcome issue code, what to tell the client).
# Fixed texts: the exception's own text quotes the request line or a header, which may carry anything. Named, not
# imported: older gunicorn versions lack some of these classes. The first that matches applies.
_PARSE_ERROR_ANSWERS: tuple[tuple[str, int, str, str, str], ...] = (
    ("LimitRequestLine", 414, "URI Too Long", "too-long",
     f"The request line is longer than {REQUEST_LINE_MAX} bytes."),
    ("LimitRequestHeaders", 431, "Request Header Fields Too Large", "too-long",
     f"The request headers are too large (at most {HEADER_FIELDS_MAX} fields of at most {HEADER_FIELD_MAX} bytes)."),
    ("UnsupportedTransferCoding", 501, "Not Implemented", "not-supported",
     "The request's Transfer-Encoding is not supported."),
    ("ExpectationFailed", 417, "Expectation Failed", "not-supported",
     "The request's Expect header is not supported (only 100-continue is)."),
    ("ForbiddenProxyRequest", 403, "Forbidden", "forbidden", "Request forbidden."),
    ("ConfigurationProblem", 500, "Internal Server Error", "exception",
     "The server is misconfigured; the request was not evaluated."),
    ("ParseException", 400, "Bad Request", "invalid",
     "The request is not valid HTTP/1.1 (request line, header or chunked body)."),
)
_PARSE_ERRORS: tuple[tuple[type[BaseException], int, str, str, str], ...] = tuple(
    (getattr(http_errors, name), *answer) for name, *answer in _PARSE_ERROR_ANSWERS if hasattr(http_errors, name)
) + ((ssl.SSLError, 403, "Forbidden", "forbidden", "The TLS handshake failed."),)


def error_response(status: int, reason: str, code: str, diagnostics: str) -> bytes:
    """A complete HTTP/1.1 response (closing the connection) whose body is a JSON OperationOutcome."""
    body = orjson.dumps({"resourceType": "OperationOutcome", "issue": [
        {"severity": "error" if status < 500 else "fatal", "code": code, "diagnostics": diagnostics}]})
    headers = [f"HTTP/1.1 {status} {reason}", "Connection: close", "Content-Type: application/json",
               f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in SECURITY_HEADERS.items())]
    return ("\r\n".join(headers) + "\r\n\r\n").encode("latin-1") + body


def _declared_length(req: Any) -> int | None:
    for name, value in req.headers:
        if name == "CONTENT-LENGTH":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class JsonErrorWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker: JSON errors, no 100 Continue for an oversized body, queued connections served on
    stop (module docstring)."""

    _listeners_closed = False

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        for kind, status, reason, code, text in _PARSE_ERRORS:
            if isinstance(exc, kind):
                break
        else:
            if hasattr(req, "method") and hasattr(req, "path"):
                self.log.exception("Error handling request %s", req.method)
            else:
                self.log.exception("Error handling request (no request line read)")
            status, reason, code = 500, "Internal Server Error", "exception"
            text = "Internal error; the service could not evaluate this request."
        if status < 500:  # a client's error: its type only, never the text (it quotes the request)
            log.warning("request refused before the app status=%d error=%s", status, type(exc).__name__)
        try:
            gunicorn_util.write_nonblock(client, error_response(status, reason, code, text))
        except Exception:  # the client is gone: nothing to answer
            self.log.debug("Failed to send error message.")

    def handle_request(self, req: Any, conn: Any) -> bool:
        limit = getattr(self.wsgi, "config", {}).get("MAX_CONTENT_LENGTH")
        declared = _declared_length(req)
        if limit is not None and declared is not None and declared > limit:
            # gunicorn answers "Expect: 100-continue" before the app runs; for a body the app will refuse (413)
            # that invites the client to send it all. Refuse without it, and close the connection after the 413.
            # (gunicorn 27 decides on the flag; earlier versions looked at the header itself when building environ.)
            req._expected_100_continue = False
            req.headers = [(name, value) for name, value in req.headers if name != "EXPECT"]
            req.force_close()
        return bool(super().handle_request(req, conn))

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled)
        if not enabled and not self.alive and not self._listeners_closed:
            self._listeners_closed = True
            self._take_queued_connections()

    def _take_queued_connections(self) -> None:
        """Accept what is already queued on each listening socket (answered with Connection: close, the worker is
        stopping), then close the socket: later connects are refused, none is left queued to be reset."""
        for listener in self.sockets:
            try:
                listener.setblocking(False)
                while True:
                    try:
                        client, addr = listener.accept()
                    except OSError as err:
                        if err.errno in (errno.ECONNABORTED, errno.EINTR):
                            continue  # that one gave up (or a signal): take the next
                        break  # EAGAIN: nothing left queued
                    self.nr_conns += 1
                    client.setblocking(True)
                    self.enqueue_req(TConn(self.cfg, client, addr, listener.getsockname()))
            finally:
                listener.close()


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
