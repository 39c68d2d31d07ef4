"""A throwaway PostgreSQL server for the tests that run on both databases (feedback, store).

The cluster is made with initdb in a temporary folder and listens on 127.0.0.1 on a free port. PostgreSQL refuses
to run as root, so as root the cluster runs as the `postgres` system user. Where no PostgreSQL server binaries (or
no psycopg) are installed, the tests that need it are skipped with the reason.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_postgres(base: Path) -> Iterator[str]:
    """Start a cluster under ``base``; yield its SQLAlchemy URL; stop it. pytest.skip when it cannot run here, except
    under scripts/test.sh where the server is installed (LEG_PAIN_CDS_REQUIRE_POSTGRES): there that is a failure."""
    required = bool(os.environ.get("LEG_PAIN_CDS_REQUIRE_POSTGRES"))
    psycopg = pytest.importorskip("psycopg", reason="psycopg is in the test extra: pip install '.[test]'")
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        if required:
            pytest.fail("LEG_PAIN_CDS_REQUIRE_POSTGRES is set but there are no PostgreSQL server binaries")
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    data = base / "data"
    prefix: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as an unprivileged user")
        prefix = ["runuser", "-u", "postgres", "--"]
        os.chmod(base, 0o777)
        for parent in base.parents:  # the postgres user must be able to reach the folder
            if str(parent).startswith(tempfile.gettempdir()):
                os.chmod(parent, os.stat(parent).st_mode | 0o011)
    port = _free_port()
    subprocess.run([*prefix, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
                   check=True, capture_output=True, timeout=120)
    log = base / "server.log"
    subprocess.run([*prefix, pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
                    f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=off", "start"],
                   check=True, capture_output=True, timeout=90)
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(dsn(url)).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield url
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60)


def dsn(url: str) -> str:
    """The libpq form of a ``postgresql+psycopg://`` SQLAlchemy URL."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def emptied(url: str, *, migrate: bool = True) -> str:
    """``url`` after dropping every table (a fresh public schema): each test starts from an empty database. With
    `migrate` (the default) the schema is then brought to the current revision, as `leg-pain-cds db upgrade` does
    before a deployment: the service refuses to start on a PostgreSQL database that is not at it."""
    import psycopg
    from sqlalchemy import create_engine

    from cds_service.persistence import migrations

    with psycopg.connect(dsn(url), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    if migrate:
        engine = create_engine(url)
        try:
            migrations.upgrade(engine)
        finally:
            engine.dispose()
    return url
