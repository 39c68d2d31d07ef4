"""Configuration: CDS_* variables are typed and validated; a bad value stops start-up naming the variable."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cds_service import config, create_app
@pytest.mark.parametrize("name, value, message", [
    ("CDS_MAX_BODY_MB", "8", "at least 16"),
    ("CDS_MAX_BODY_MB", "lots", "expected an integer"),
    ("CDS_FHIR_TIMEOUT_S", "0", "at least 0.1"),
    ("CDS_FHIR_MAX_PAGES", "2.5", "expected an integer"),
    ("CDS_LOG_LEVEL", "LOUD", "expected DEBUG"),
    ("CDS_AUTH", "basic", "expected one of none, jwt"),
    ("CDS_CORS_ORIGINS", "ftp://x", "an origin looks like"),
    ("CDS_CORS_ORIGINS", "*,https://a.example", "cannot be combined"),
    ("CDS_DATABASE_URL", "not a url", "not a SQLAlchemy database URL"),
    ("CDS_PUBLIC_BASE_URL", "example.org", "absolute http(s) URL"),
    ("CDS_GC_PAUSE", "maybe", "true or false"),
    ("CDS_WORKERS", "0", "at least 1"),
])
def test_bad_values_stop_start_up(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str,
                                  message: str) -> None:
    monkeypatch.setenv("CDS_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    monkeypatch.setenv("CDS_AUTH", "none")
    monkeypatch.setenv(name, value)
    with pytest.raises(config.ConfigError) as err:
        create_app()
    assert name in str(err.value) and message in str(err.value)


def test_env_values_are_typed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CDS_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    monkeypatch.setenv("CDS_AUTH", "none")
    monkeypatch.setenv("CDS_FHIR_TIMEOUT_S", "5")
    monkeypatch.setenv("CDS_CORS_ORIGINS", "https://a.example,https://b.example:8443")
    monkeypatch.setenv("CDS_GC_PAUSE", "false")
    monkeypatch.setenv("CDS_LOG_LEVEL", "debug")
    conf = create_app().config
    assert conf["FHIR_TIMEOUT_S"] == 5.0 and isinstance(conf["FHIR_TIMEOUT_S"], float)
    assert conf["CORS_ORIGINS"] == ["https://a.example", "https://b.example:8443"]
    assert conf["GC_PAUSE"] is False and conf["LOG_LEVEL"] == "DEBUG"
    assert conf["MAX_CONTENT_LENGTH"] == 32 * 1024 * 1024


def test_defaults_suit_a_first_try(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("CDS_AUTH", "none")
    conf = create_app().config
    assert conf["DATABASE_URL"] == f"sqlite:///{tmp_path / 'xdg' / 'leg-pain-cds' / 'leg-pain-cds.sqlite3'}"
    assert (tmp_path / "xdg" / "leg-pain-cds" / "leg-pain-cds.sqlite3").exists()
    assert conf["CORS_ORIGINS"] == "*" and conf["MAX_BODY_MB"] >= 16


def test_default_jwt_auth_without_trusted_clients_refuses_to_start(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    """CDS_AUTH unset means jwt: without CDS_TRUSTED_CLIENTS the service would trust nobody, so it stops."""
    monkeypatch.setenv("CDS_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with pytest.raises(config.ConfigError, match="CDS_TRUSTED_CLIENTS"):
        create_app()


def test_effective_config_hides_the_database_password() -> None:
    conf: dict[str, Any] = dict(config.DEFAULTS, DATABASE_URL="postgresql://cds:hunter2@db.example/cds",
                                AUTH="none")
    config.validate(conf)
    shown = config.effective(conf)
    assert "hunter2" not in str(shown) and shown["CDS_DATABASE_URL"].startswith("postgresql://cds:***@")


def test_default_workers_suit_the_machine() -> None:
    assert 3 <= config.default_workers() <= 8


@pytest.mark.parametrize(("cores", "workers"), [(1, 3), (2, 5), (3, 7), (4, 8), (64, 8)])
def test_default_workers_are_two_per_core_plus_one_capped_at_eight(
        monkeypatch: pytest.MonkeyPatch, cores: int, workers: int) -> None:
    monkeypatch.setattr(config.os, "sched_getaffinity", lambda _pid: set(range(cores)), raising=False)
    assert config.default_workers() == workers


@pytest.mark.parametrize("url", ["nonsense://x", "sqlite:////proc/nope/x.db", "postgresql+nodriver://u@h/db"])
def test_an_unusable_database_url_stops_start_up_with_the_variable_named(url: str) -> None:
    from cds_service import create_app
    from cds_service.config import ConfigError

    with pytest.raises(ConfigError, match="CDS_DATABASE_URL"):
        create_app({"AUTH": "none", "DATABASE_URL": url})
