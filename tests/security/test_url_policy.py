"""The FHIR server allowlist: exact origin, path continuation, https only, no tricks."""

from __future__ import annotations

import pytest

from cds_service.security.url_policy import Allowlist, UrlPolicyError, describe, parse_allowlist_entry, split_allowlist

ALLOW = Allowlist.parse(["https://ehr.example.org", "https://fhir.example.com/r4/", "http://127.0.0.1:8090/fhir"])


@pytest.mark.parametrize(
    "url",
    [
        "https://ehr.example.org",
        "https://ehr.example.org/",
        "https://ehr.example.org/fhir/Patient/1",
        "HTTPS://EHR.Example.ORG/fhir",
        "https://ehr.example.org:443/fhir",
        "https://ehr.example.org./fhir",  # trailing-dot FQDN is the same host
        "https://fhir.example.com/r4",
        "https://fhir.example.com/r4/Observation?patient=1&code=2823-3",
        "http://127.0.0.1:8090/fhir/Patient/1",
    ],
)
def test_allowed(url: str) -> None:
    assert ALLOW.allows(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://ehr.example.org.evil.test",
        "https://ehr.example.org.evil.test/fhir",
        "https://evil.test/https://ehr.example.org",
        "https://ehr.example.org:8443/fhir",
        "http://ehr.example.org/fhir",  # scheme downgrade
        "https://user:pw@ehr.example.org/fhir",
        "https://ehr.example.org@evil.test/fhir",
        "https://ehr.example.org/fhir#frag",
        "https://fhir.example.com/r4-admin",
        "https://fhir.example.com/r",
        "https://fhir.example.com/",
        "https://fhir.example.com/r4/../admin",
        "https://fhir.example.com/r4/%2e%2e/admin",
        "https://fhir.example.com/r4/./Patient",
        "http://127.0.0.1:8091/fhir",  # loopback, other port
        "http://127.0.0.2:8090/fhir",
        "http://localhost:8090/fhir",  # not the listed name
        "https://127.0.0.1:8090/fhir",  # other scheme
        "https://ehr.example.org\\@evil.test/",
        "https://ehr.example.org /fhir",
        "ftp://ehr.example.org/",
        "//ehr.example.org/fhir",
        "https://ehr.example.org:99999/",
        "",
        "not a url",
    ],
)
def test_denied(url: str) -> None:
    assert not ALLOW.allows(url)


@pytest.mark.parametrize(
    "entry",
    [
        "http://ehr.example.org/fhir",  # http only for loopback
        "https://ehr.example.org/fhir?x=1",
        "https://u@ehr.example.org/",
        "file:///etc/passwd",
        "https://ehr.example.org/#x",
    ],
)
def test_bad_entries_fail_at_start(entry: str) -> None:
    with pytest.raises(UrlPolicyError):
        parse_allowlist_entry(entry)


def test_loopback_http_entries() -> None:
    for entry in ("http://127.0.0.1:9000", "http://[::1]:9000/fhir", "http://localhost/fhir"):
        assert parse_allowlist_entry(entry).scheme == "http"


def test_empty_allowlist_allows_nothing() -> None:
    assert not Allowlist.parse([]).allows("https://hapi.fhir.org/baseR4")


def test_split_allowlist_accepts_comma_string_and_list() -> None:
    assert split_allowlist(" https://a.test/fhir, https://b.test ,") == ["https://a.test/fhir", "https://b.test"]
    assert split_allowlist(["https://a.test"]) == ["https://a.test"]
    assert split_allowlist(None) == []
    with pytest.raises(UrlPolicyError):
        split_allowlist(42)


def test_describe_keeps_origin_only() -> None:
    assert describe("https://ehr.example.org:8443/fhir/Patient/123?name=Smith") == "https://ehr.example.org:8443"
    assert describe("https://ehr.example.org:443/fhir") == "https://ehr.example.org"
    assert describe("::::") == "<malformed url>"
