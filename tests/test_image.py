"""The container image and the local compose set-up: deploy/Dockerfile, .dockerignore, deploy/compose.yaml.

Building an image needs a Docker daemon, which a test machine usually lacks: the Dockerfile and .dockerignore are
checked statically here (a pinned base image, a numeric non-root user matching the Helm chart's, LICENSE in the
image, the PostgreSQL driver installed, a build context that holds what the wheel is made of and nothing else), and
the commands the compose file runs are run for real against a real PostgreSQL: the migration step first, then the
service, whose compose health check must pass. Where `docker info` answers, the image is also built and run.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from sqlalchemy.engine import make_url

from cds_service import config
from cds_service.runtime.serve import free_port, serve_subprocess

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
COMPOSE = ROOT / "deploy" / "compose.yaml"
CHART_VALUES = ROOT / "deploy" / "helm" / "leg-pain-cds" / "values.yaml"
CHART_DEPLOYMENT = ROOT / "deploy" / "helm" / "leg-pain-cds" / "templates" / "deployment.yaml"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


# ------------------------------------------------------------------------------------------ Dockerfile


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if pending and line.lstrip().startswith("#"):
            continue  # a comment inside a continued instruction
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        keyword, _, args = whole.partition(" ")
        result.append((keyword.upper(), args.strip()))
    assert not pending, "the Dockerfile ends inside a continued instruction"
    return result


def stages(text: str) -> tuple[dict[str, str], list[list[tuple[str, str]]]]:
    """(global ARG defaults, the instructions of each stage from its FROM on)."""
    args: dict[str, str] = {}
    found: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions(text):
        if keyword == "FROM":
            found.append([])
        if not found and keyword == "ARG":
            name, _, default = rest.partition("=")
            args[name] = default
        elif found:
            found[-1].append((keyword, rest))
    return args, found


def expand(value: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: args[m.group(1)], value)


ARGS, STAGES = stages(DOCKERFILE.read_text())
FINAL = STAGES[-1]


def final(keyword: str) -> list[str]:
    return [rest for kw, rest in FINAL if kw == keyword]


def test_base_image_is_pinned_to_an_exact_python_release() -> None:
    names = set()
    for stage in STAGES:
        image, *alias = expand(stage[0][1], ARGS).split()
        names.add(image)
        # python:<major>.<minor>.<patch>-slim-<debian release>, optionally @sha256:<digest>: never a moving tag like
        # python:3.11-slim or :latest.
        match = re.fullmatch(r"python:(\d+)\.(\d+)\.(\d+)-slim-(bookworm|trixie)(@sha256:[0-9a-f]{64})?", image)
        assert match, f"unpinned base image {image!r}"
        requires = PYPROJECT["project"]["requires-python"]
        assert requires == f">={match.group(1)}.{match.group(2)}", (image, requires)
    assert len(names) == 1, names  # the wheels are built with the interpreter they run on


def test_runs_as_a_numeric_non_root_user_the_chart_also_runs_as() -> None:
    keywords = [kw for kw, _ in FINAL]
    last_user = len(keywords) - 1 - keywords[::-1].index("USER")
    assert "RUN" not in keywords[last_user:], "nothing may run as root after USER"
    uid, _, gid = final("USER")[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0 and gid.isdigit() and int(gid) != 0
    chart = CHART_DEPLOYMENT.read_text()
    assert f"runAsUser: {uid}" in chart and f"runAsGroup: {gid}" in chart and "runAsNonRoot: true" in chart


def test_the_license_is_in_the_repository_and_the_image() -> None:
    license_text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in license_text and "Version 2.0" in license_text
    assert PYPROJECT["project"]["license"] == {"text": "Apache-2.0"}
    assert any(re.fullmatch(r"LICENSE /usr/share/licenses/leg-pain-cds/LICENSE", c) for c in final("COPY"))
    assert any('org.opencontainers.image.licenses="Apache-2.0"' in label for label in final("LABEL"))


def test_the_image_installs_the_postgres_driver_and_serves() -> None:
    assert any(dep.startswith("psycopg[binary]") for dep in PYPROJECT["project"]["optional-dependencies"]["postgres"])
    build_runs = [rest for kw, rest in STAGES[0] if kw == "RUN"]
    assert any("pip wheel" in run and "'.[postgres]'" in run for run in build_runs)
    assert any("pip install" in run and "--no-index" in run and "'leg-pain-cds[postgres]'" in run
               for run in final("RUN"))
    assert json.loads(final("CMD")[-1])[:2] == ["leg-pain-cds", "serve"]
    assert PYPROJECT["project"]["scripts"]["leg-pain-cds"] == "cds_service.cli:main"


def test_the_build_copies_what_the_wheel_is_made_of() -> None:
    copied = set()
    for kw, rest in STAGES[0]:
        if kw == "COPY":
            *sources, _ = shlex.split(rest)
            copied.update(sources)
    packages = {name.split(".")[0] for name in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert copied == {"pyproject.toml", PYPROJECT["project"]["readme"], "LICENSE", *packages}


# ------------------------------------------------------------------------------------------ .dockerignore


def _ignore_rules() -> list[tuple[bool, str]]:
    rules = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            negated = line.startswith("!")
            rules.append((negated, os.path.normpath(line.lstrip("!").lstrip("/"))))
    return rules


def _matches(pattern: str, path: str) -> bool:
    """Docker's rule: a pattern matches a path or one of its parent folders; `*` stays within one path element,
    `**` spans any number of them."""
    regex = ""
    for part in re.split(r"(\*\*/?|\*|\?)", pattern):
        regex += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(part, re.escape(part))
    parts = path.split("/")
    return any(re.fullmatch(regex, "/".join(parts[:n])) for n in range(1, len(parts) + 1))


def ignored(path: str) -> bool:
    """Whether `docker build` leaves `path` (relative to the context) out: the last matching rule decides."""
    excluded = False
    for negated, pattern in _ignore_rules():
        if _matches(pattern, path):
            excluded = not negated
    return excluded


@pytest.mark.parametrize("path", [
    ".venv/bin/python", ".venv-dev/lib/python3.11/site.py", ".git/HEAD", ".git/objects/ab/cdef", "build/lib/x.py",
    "dist/leg_pain_cds-0.1.0-py3-none-any.whl", "leg_pain_cds.egg-info/PKG-INFO", "tests/test_image.py",
    "tests/golden/x.json", "tools/leg_pain_cds_bench/bench.py", "cds_service/__pycache__/app.cpython-311.pyc",
    "cards/rules/__pycache__/x.pyc", ".pytest_cache/v/x", ".hypothesis/examples/x", ".mypy_cache/3.11/x.json",
    "leg-pain-cds.sqlite3", "cds_service/data.sqlite3-wal", "bench-results.json", "docs/api.md", ".ci/run",
    "deploy/helm/leg-pain-cds/values.yaml", "scripts/test.sh", "examples/x.json", ".gitignore",
])
def test_dockerignore_keeps_out(path: str) -> None:
    assert ignored(path), path


def test_dockerignore_lets_in_every_file_the_wheel_needs() -> None:
    wanted = ["pyproject.toml", "README.md", "LICENSE"]
    for package in ("cds_service", "cards", "terminology"):
        for path in (ROOT / package).rglob("*"):
            relative = path.relative_to(ROOT).as_posix()
            if path.is_file() and "__pycache__" not in relative and not relative.endswith(".pyc"):
                wanted.append(relative)
    assert len(wanted) > 100
    assert [p for p in wanted if ignored(p)] == []


# ------------------------------------------------------------------------------------------ compose


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())  # type: ignore[no-any-return]


def test_compose_starts_postgres_then_migrates_then_serves(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "migrate", "cds"}
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["cds"]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert services["migrate"]["command"] == ["leg-pain-cds", "db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    for name in ("migrate", "cds"):
        build = services[name]["build"]
        assert (COMPOSE.parent / build["context"]).resolve() == ROOT
        assert (ROOT / build["dockerfile"]).resolve() == DOCKERFILE
        assert services[name]["image"] == services["cds"]["image"]
        assert services[name]["read_only"] is True and services[name]["cap_drop"] == ["ALL"]
    # Health checks: PostgreSQL accepts connections; the service is ready (/readyz: database and schema).
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"][1]
    assert "/readyz" in services["cds"]["healthcheck"]["test"][-1]
    # Published on the loopback address only.
    assert services["cds"]["ports"] == ["127.0.0.1:8080:8080"]
    assert services["cds"]["tmpfs"] == ["/tmp"]


def test_compose_uses_no_host_paths(compose: dict[str, Any]) -> None:
    named = set(compose.get("volumes", {}))
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            assert isinstance(volume, str), (name, volume)  # the long form could be type: bind
            source = volume.split(":")[0]
            assert source in named, f"{name}: {volume} is not a named volume"
        assert "env_file" not in service and "secrets" not in service and "configs" not in service


def test_compose_database_url_names_the_compose_postgres(compose: dict[str, Any]) -> None:
    services = compose["services"]
    pg = services["postgres"]["environment"]
    for name in ("migrate", "cds"):
        url = make_url(services[name]["environment"]["CDS_DATABASE_URL"])
        assert (url.drivername, url.host, url.port) == ("postgresql+psycopg", "postgres", 5432)
        assert (url.username, url.password, url.database) == (pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"],
                                                              pg["POSTGRES_DB"])
    conf: dict[str, Any] = {k.removeprefix("CDS_"): v for k, v in services["cds"]["environment"].items()}
    config.validate(conf)  # every CDS_* value is one the service accepts
    assert conf["LOG_FORMAT"] == "json"


def _script(name: str) -> str:
    """A console script of the environment running the tests (the image runs the same one)."""
    path = Path(sys.executable).parent / name
    return str(path) if path.exists() else shutil.which(name) or pytest.fail(f"no {name} console script")


@pytest.mark.server
def test_compose_commands_migrate_then_serve_on_a_real_postgres(compose: dict[str, Any], tmp_path: Path) -> None:
    """What `docker compose up` runs, run here: the migrate service's command, then the cds service with its
    environment, against a real PostgreSQL (the URL points at it instead of the compose host), until the compose
    health check passes."""
    from tests.postgres_server import running_postgres

    services = compose["services"]
    (tmp_path / "pg").mkdir()
    with running_postgres(tmp_path / "pg") as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")}
        env.update(services["migrate"]["environment"], CDS_DATABASE_URL=url)
        command = [_script(services["migrate"]["command"][0]), *services["migrate"]["command"][1:]]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        check = subprocess.run([command[0], "db", "check"], env=env, capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stdout + check.stderr
        assert "local-try-only" not in done.stdout + done.stderr

        settings = {**services["cds"]["environment"], "CDS_DATABASE_URL": url, "CDS_WARMUP": "false"}
        port = free_port()
        with serve_subprocess(tmp_path, settings, command=(_script("leg-pain-cds"),), port=port):
            test = services["cds"]["healthcheck"]["test"]
            assert test[:2] == ["CMD", "python"]
            probe = [sys.executable, *test[2:-1], test[-1].replace(":8080/", f":{port}/")]
            health = subprocess.run(probe, capture_output=True, text=True, timeout=30)
            assert health.returncode == 0, health.stderr
        lines = [line for line in (tmp_path / "serve.log").read_text().splitlines() if line.startswith("{")]
        assert lines and all(json.loads(line)["level"] for line in lines)  # CDS_LOG_FORMAT=json


# ------------------------------------------------------------------------------------------ a real build


# What a daemon says when it cannot reach the registry for the base image: the build is impossible here, which
# says nothing about the Dockerfile.
UNREACHABLE_REGISTRY = (r"failed to resolve source metadata|pull access denied|dial tcp|no such host|"
                        r"TLS handshake timeout|failed to do request|temporary failure in name resolution")


def _docker_works() -> str | None:
    if shutil.which("docker") is None:
        return "no docker command"
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return "docker info did not answer"
    said = (info.stderr.strip().splitlines() or ["no answer"])[-1]
    return None if info.returncode == 0 else f"no Docker daemon ({said})"


@pytest.fixture(scope="module")
def built_image() -> Iterator[str]:
    reason = _docker_works()
    if reason:
        pytest.skip(f"building the image needs a Docker daemon: {reason}")
    tag = f"leg-pain-cds:test-{os.getpid()}"
    build = subprocess.run(["docker", "build", "-f", str(DOCKERFILE), "-t", tag, str(ROOT)],
                           capture_output=True, text=True, timeout=1800)
    said = build.stdout[-3000:] + build.stderr[-3000:]
    if build.returncode != 0 and re.search(UNREACHABLE_REGISTRY, said, re.IGNORECASE):
        pytest.skip(f"the daemon cannot pull the base image {ARGS['PYTHON_IMAGE']} (no registry access here)")
    assert build.returncode == 0, said
    try:
        yield tag
    finally:
        subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True, timeout=120)


@pytest.mark.server
def test_the_built_image_runs_as_non_root_migrates_and_carries_the_license(built_image: str) -> None:
    def run(*args: str) -> str:
        done = subprocess.run(["docker", "run", "--rm", "--read-only", "--tmpfs", "/tmp", "--network", "none",
                               built_image, *args], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    assert run("id", "-u").strip() == "10001"
    assert "Apache License" in run("cat", "/usr/share/licenses/leg-pain-cds/LICENSE")
    assert run("python", "-c", "import psycopg; print(psycopg.__version__)").strip()
    migrated = subprocess.run(["docker", "run", "--rm", "--network", "none", built_image, "sh", "-c",
                               "leg-pain-cds db upgrade && leg-pain-cds db check"],
                              capture_output=True, text=True, timeout=300)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    listed = run("python", "-c", "import os; print(sorted(os.listdir('/')))")
    assert "src" not in listed and "wheels" not in listed
