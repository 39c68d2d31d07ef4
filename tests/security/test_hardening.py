"""Input limits and log redaction."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask

from cds_service.limits import (
    InputLimitExceeded,
    InvalidJson,
    check_prefetch_limits,
    json_depth_exceeds,
    parse_json_body,
)
from cds_service.security.headers import apply_security_headers
from cds_service.security.log_privacy import RedactingFilter, redact


def nested(depth: int) -> bytes:
    return b'{"a":' * (depth - 1) + b"{}" + b"}" * (depth - 1)


@pytest.mark.parametrize(("depth", "limit", "too_deep"), [(1, 8, False), (8, 8, False), (9, 8, True), (64, 64, False), (65, 64, True)])
def test_depth_limit_boundaries(depth: int, limit: int, too_deep: bool) -> None:
    assert json_depth_exceeds(parse_json_body(nested(depth), 10_000), limit) is too_deep


def test_too_deep_is_a_400_with_a_clear_message() -> None:
    with pytest.raises(InputLimitExceeded) as err:
        parse_json_body(nested(100), 64)
    assert (err.value.status, err.value.code) == (400, "structure")
    assert "CDS_MAX_JSON_DEPTH" in err.value.message


def test_pathological_nesting_never_hits_the_recursion_limit() -> None:
    with pytest.raises(InputLimitExceeded):
        parse_json_body(b"[" * 200_000 + b"]" * 200_000, 64)


def test_not_json() -> None:
    with pytest.raises(InvalidJson):
        parse_json_body(b"{nope", 64)


def bundle(n: int) -> dict[str, object]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {"resourceType": "Observation"}}] * n}


def test_bundle_entry_limit() -> None:
    check_prefetch_limits({"observations": bundle(10)}, max_bundle_entries=10, max_resources=100)
    with pytest.raises(InputLimitExceeded) as err:
        check_prefetch_limits({"observations": bundle(11)}, max_bundle_entries=10, max_resources=100)
    assert err.value.status == 413
    assert "'observations'" in err.value.message and "CDS_MAX_BUNDLE_ENTRIES" in err.value.message


def test_total_resource_limit() -> None:
    prefetch = {"a": bundle(6), "b": bundle(6), "patient": {"resourceType": "Patient"}, "none": None}
    check_prefetch_limits(prefetch, max_bundle_entries=10, max_resources=13)
    with pytest.raises(InputLimitExceeded, match="13 resources"):
        check_prefetch_limits(prefetch, max_bundle_entries=10, max_resources=12)


def test_security_headers_keep_deliberate_values() -> None:
    app = Flask("h")
    with app.test_request_context("/"):
        resp = app.response_class("x")
        resp.headers["Cache-Control"] = "max-age=60"
        apply_security_headers(resp, https=False)
    assert resp.headers["Cache-Control"] == "max-age=60"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in resp.headers


def test_redact_tokens_and_url_paths() -> None:
    line = ("GET https://ehr.test/fhir/Patient/123?name=Smith Authorization: Bearer abc.def-ghi "
            "token eyJhbGciOiJSUzM4NCJ9.eyJpc3MiOiJ4In0.c2ln done")
    out = redact(line)
    for secret in ("Patient/123", "Smith", "abc.def-ghi", "eyJhbGciOiJSUzM4NCJ9"):
        assert secret not in out
    assert "https://ehr.test/…" in out


def test_filter_drops_third_party_debug_and_redacts_the_rest() -> None:
    filt = RedactingFilter()
    third = logging.LogRecord("urllib3.connectionpool", logging.DEBUG, __file__, 1, "GET %s", ("/fhir/Patient/1",), None)
    assert filt.filter(third) is False
    own = logging.LogRecord("cds_service.fhir.gather", logging.INFO, __file__, 1, "fetch %s", ("https://e.test/fhir/Patient/1",), None)
    assert filt.filter(own) is True
    assert own.getMessage() == "fetch https://e.test/…"


def test_envelope_depth_covers_context_and_bundle_shape_not_resource_insides() -> None:
    import orjson

    from cds_service.limits import envelope_depth_exceeds

    deep = orjson.loads(nested(40))
    assert envelope_depth_exceeds({"hook": "patient-view", "context": {"x": deep}}, 32)
    assert envelope_depth_exceeds({"extension": deep}, 32)
    # Bundles nested in Bundles are walked by the service, so they count...
    bundle: dict = {"resourceType": "Patient"}
    for _ in range(20):
        bundle = {"resourceType": "Bundle", "entry": [{"resource": bundle}]}
    assert envelope_depth_exceeds({"prefetch": {"k": bundle}}, 32)
    # ...but the insides of a resource are read at fixed paths and validated by pydantic-core: not walked here.
    obs = {"resourceType": "Observation", "extension": [deep]}
    assert not envelope_depth_exceeds({"prefetch": {"k": {"resourceType": "Bundle", "entry": [{"resource": obs}]},
                                                    "p": obs}}, 32)


def test_a_deep_resource_in_prefetch_is_answered_not_crashed(client: Any, build: Any) -> None:
    deep: Any = {"url": "urn:x", "valueString": "leaf"}  # 200 levels: over CDS_MAX_JSON_DEPTH, under orjson's 1024
    for _ in range(200):
        deep = {"url": "urn:x", "extension": [deep]}
    potassium = build.potassium(2.9)
    potassium["valueQuantity"]["extension"] = [deep]
    request = build.hook_request(prefetch=build.full_prefetch(potassium))
    resp = client.post("/cds-services/leg-pain-causes", json=request)
    assert resp.status_code == 200, resp.get_data(as_text=True)


def _reference_skeleton(value: Any) -> Any:
    """The first implementation: a copy of what the service walks, then a full depth walk of the copy."""
    if not isinstance(value, dict):
        return value
    if value.get("resourceType") != "Bundle":
        return {}
    entries = value.get("entry")
    if not isinstance(entries, list):
        return {}
    return {"entry": [{"resource": _reference_skeleton(e.get("resource"))} if isinstance(e, dict) else e
                      for e in entries]}


def _leaf_or_nested() -> Any:
    from hypothesis import strategies as st

    leaves = st.one_of(st.none(), st.integers(), st.text(max_size=3))
    json_ = st.recursive(leaves, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(st.sampled_from(["a", "resource", "entry"]),
                                                                        inner, max_size=3)), max_leaves=12)
    return st.recursive(
        st.one_of(json_, st.just({"resourceType": "Observation", "valueQuantity": {"value": 1}})),
        lambda inner: st.fixed_dictionaries({"resourceType": st.just("Bundle"), "entry": st.one_of(
            st.lists(st.one_of(st.fixed_dictionaries({"resource": inner}), json_), max_size=3), json_)}),
        max_leaves=10)


def test_the_in_place_bundle_depth_count_answers_as_the_skeleton_walk() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from cds_service.limits import envelope_depth_exceeds, json_depth_exceeds

    @given(prefetch=st.dictionaries(st.sampled_from(["patient", "observations", "x"]), _leaf_or_nested(),
                                    max_size=3),
           context=_leaf_or_nested(), max_depth=st.integers(1, 12))
    @settings(max_examples=600, deadline=None)
    def same(prefetch: dict[str, Any], context: Any, max_depth: int) -> None:
        body = {"hook": "patient-view", "context": context, "prefetch": prefetch}
        reference = {"hook": "patient-view", "context": context,
                     "prefetch": {k: _reference_skeleton(v) for k, v in prefetch.items()}}
        assert envelope_depth_exceeds(body, max_depth) == json_depth_exceeds(reference, max_depth)

    same()


def test_the_plain_entry_shortcut_leaves_every_odd_entry_to_the_walk() -> None:
    """_plain_entries_fit decides only plain entries without nested Bundles or arrays; the walk does the rest."""
    from cds_service.limits import _plain_entries_fit, envelope_depth_exceeds

    class Sub(dict):  # type: ignore[type-arg]
        pass

    obs = {"resourceType": "Observation", "valueQuantity": {"value": 1}}
    assert _plain_entries_fit([{"resource": obs}, {"resource": None}, {"fullUrl": "x"}])
    for odd in ([{"resource": {"resourceType": "Bundle", "entry": []}}], [{"resource": [[1]]}], [Sub(resource=obs)],
                [{"resource": Sub(obs)}], [[{"resource": obs}]], []):
        assert not _plain_entries_fit(odd)
    nested = {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Bundle", "entry": [{"resource": obs}]}}]}
    body = {"hook": "patient-view", "prefetch": {"x": nested}}
    # body (1) prefetch (2) Bundle (3) entry[] (4) entry (5) Bundle (6) entry[] (7) entry (8) resource (9)
    assert envelope_depth_exceeds(body, 8) and not envelope_depth_exceeds(body, 9)
