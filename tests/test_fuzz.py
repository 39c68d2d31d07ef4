"""Fuzzing every route: never a 5xx, and every error a JSON OperationOutcome.

Hypothesis drives each route the app serves (discovery, the hook call of every service and of an unknown one, feedback,
the benchmark parse route, health, any other path and method) with generated bodies: arbitrary JSON, bytes that are
no JSON, wrong content types, and valid requests - the golden hook calls, a chart on which most rules fire, and a
feedback body for a card just issued - mutated element by element (replaced by any JSON value, removed, given unknown
members, a resource's member given another JSON type); and, with client authentication on, any Authorization header
(JWT-shaped tokens with generated headers and claims). Whatever comes in, the answer is a 2xx, or a 4xx whose body
is an OperationOutcome saying what was wrong; never a 5xx, never a redirect.

Bounded and reproducible: a fixed number of examples per test, derandomized (the same inputs on every run), no
per-example deadline (no timed assertions: machines are noisy); the file runs in well under a minute on 2 cores.
"""
from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any, Callable, Iterator

import jwt
import orjson
import pytest
from cards import registry
from cds_service import create_app
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests import golden_cases
from tests.postgres_server import emptied
from tests.test_any_json_type import hook_call

# Every golden hook call, by service (order cases for both order services): starting points that mutation takes apart.
CALLS: list[tuple[str, dict[str, Any]]] = [(c.service_id, c.request) for c in golden_cases.calls()]
SERVICE_IDS = [s.id for s in registry.services()]
# And one chart per service that makes most rules fire, with every element a reader uses (tests/test_any_json_type.py).
RICH: list[tuple[str, dict[str, Any]]] = [(service, hook_call(service)) for service in SERVICE_IDS]

FUZZ = settings(max_examples=400, deadline=None, derandomize=True, database=None, report_multiple_bugs=False,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

# Member names the service reads, so that generated objects often hit a reader rather than being ignored.
KNOWN_KEYS = ["hook", "hookInstance", "context", "prefetch", "fhirServer", "fhirAuthorization", "extension",
              "userId", "patientId", "encounterId", "draftOrders", "selections", "resourceType", "entry", "resource",
              "id", "status", "intent", "code", "coding", "system", "display", "text", "valueQuantity", "value",
              "unit", "comparator", "valueString", "subject", "reference", "effectiveDateTime", "effectivePeriod",
              "issued", "referenceRange", "low", "high", "interpretation", "component", "medicationCodeableConcept",
              "medicationReference", "contained", "dosageInstruction", "dosage", "clinicalStatus", "birthDate",
              "gender", "feedback", "card", "outcome", "acceptedSuggestions", "overrideReason", "reason",
              "userComment", "outcomeTimestamp", "access_token", "token_type", "scope", "expires_in"]
KNOWN_VALUES = ["patient-view", "order-select", "order-sign", "Observation", "Patient", "Bundle", "Condition",
                "MedicationRequest", "MedicationStatement", "final", "active", "draft", "accepted", "overridden",
                "Patient/pat-1", "pat-1", "2026-11-20T08:00:00Z", "2026-11-20", "2823-3", "http://loinc.org",
                "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "\x00", "", "\ud7ff" * 3]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20),
                    st.sampled_from(KNOWN_VALUES))
keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=10))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(keys, inner, max_size=5)),
                           max_leaves=25)


def assert_answer(resp: Any) -> None:
    """Not a 5xx, never a redirect; an error is a JSON OperationOutcome with at least one issue that says something."""
    text = resp.get_data(as_text=True)
    assert resp.status_code < 500, f"{resp.status_code}: {text[:300]}"
    assert not 300 <= resp.status_code < 400, f"{resp.status_code} to {resp.headers.get('Location')}"
    if resp.status_code >= 400:
        assert resp.mimetype == "application/json", f"{resp.status_code} {resp.mimetype}: {text[:300]}"
        body = json.loads(text)
        assert body["resourceType"] == "OperationOutcome", text[:300]
        assert body["issue"] and all(issue["code"] and issue["diagnostics"] for issue in body["issue"]), text[:300]


@pytest.fixture
def app_overrides(app_overrides: dict[str, Any]) -> dict[str, Any]:
    # No FHIR server is ever contacted: a generated fhirServer is refused (and 127.0.0.1 is not fuzzed into).
    return {**app_overrides, "ALLOW_FHIR_SERVER": lambda url: False}


def _post(client: FlaskClient, path: str, body: bytes, content_type: str = "application/json") -> Any:
    return client.post(path, data=body, content_type=content_type)


# ---------------------------------------------------------------------------------------------- mutation


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, sub in value.items():
            out += _paths(sub, prefix + (key,))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            out += _paths(sub, prefix + (index,))
    return out


# A small value of each JSON type: what an element of a resource is most often set to (a generated value is mostly
# a string or a number, and rarely meets the one element that breaks).
RETYPED = st.sampled_from([None, True, 7, 0.5, "x", [1], [{"a": 1}], {"a": 1}, {}, []])


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def retype(draw: Callable[..., Any], doc: Any, changes: int) -> Any:
    """`doc` (a fresh copy, changed in place) with `changes` members of its resources (objects with a resourceType,
    Bundles included) set to a small value of some JSON type, or to any JSON value."""
    for _ in range(changes):
        owners = [p for p in _paths(doc) if isinstance(_at(doc, p), dict) and "resourceType" in _at(doc, p)]
        if not owners:
            break
        resource = _at(doc, owners[draw(st.integers(0, len(owners) - 1))])
        members = sorted(k for k in resource if k != "resourceType")
        if members:
            value = draw(st.one_of(RETYPED, json_values))
            resource[members[draw(st.integers(0, len(members) - 1))]] = copy.deepcopy(value)
    return doc


def mutate(draw: Callable[..., Any], doc: Any, changes: int) -> Any:
    """`doc` (a fresh copy, changed in place) with `changes` random edits: an element replaced by any JSON value,
    removed, or a member added to an object."""
    for _ in range(changes):
        paths = _paths(doc)
        path = paths[draw(st.integers(0, len(paths) - 1))]
        if not path:
            doc = draw(json_values) if draw(st.integers(0, 9)) == 0 else doc
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "replace", "remove", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(json_values)
        elif action == "remove":
            del parent[path[-1]]
        elif isinstance(parent[path[-1]], dict):
            parent[path[-1]][draw(keys)] = draw(json_values)
    return doc


# ---------------------------------------------------------------------------------------------- tests


@FUZZ
@given(route=st.sampled_from([f"/cds-services/{s}" for s in SERVICE_IDS] + [
    f"/cds-services/{s}/feedback" for s in SERVICE_IDS] + ["/cds-services/no-such-service",
                                                           "/cds-services/no-such-service/feedback",
                                                           "/pages/demo/request"]),
       body=json_values)
def test_any_json_body_on_any_post_route(client: FlaskClient, route: str, body: Any) -> None:
    assert_answer(_post(client, route, orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)))


@FUZZ
@given(route=st.sampled_from([f"/cds-services/{SERVICE_IDS[0]}", f"/cds-services/{SERVICE_IDS[0]}/feedback"]),
       body=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode),
                      json_values.map(lambda v: orjson.dumps(v)[:-1])),
       content_type=st.sampled_from(["application/json", "application/json; charset=utf-16", "text/plain",
                                     "application/x-www-form-urlencoded", "", "application/fhir+json"]))
def test_bytes_that_are_no_json_and_wrong_content_types(client: FlaskClient, route: str, body: bytes,
                                                        content_type: str) -> None:
    assert_answer(_post(client, route, body, content_type))


@FUZZ
@given(call=st.sampled_from(RICH), changes=st.integers(1, 4), data=st.data())
def test_retyped_resource_elements(client: FlaskClient, call: tuple[str, dict[str, Any]], changes: int,
                                   data: st.DataObject) -> None:
    """A chart on which most rules fire, with a few members of its resources (ids, codes, statuses, dates,
    values, references...) of another JSON type; the envelope stays valid, so that the resources are read."""
    service, body = call
    changed = retype(data.draw, orjson.loads(orjson.dumps(body)), changes)
    assert_answer(_post(client, f"/cds-services/{service}", orjson.dumps(changed)))


@FUZZ
@given(call=st.one_of(st.sampled_from(RICH), st.sampled_from(CALLS)), changes=st.integers(1, 6), data=st.data())
def test_mutated_hook_calls(client: FlaskClient, call: tuple[str, dict[str, Any]], changes: int,
                            data: st.DataObject) -> None:
    """A golden hook call, or a rich chart, with a few elements anywhere (envelope, context, prefetch, resources)
    changed."""
    service, body = call
    mutated = mutate(data.draw, orjson.loads(orjson.dumps(body)), changes)
    assert_answer(_post(client, f"/cds-services/{service}", orjson.dumps(mutated)))


def _issue_card(client: FlaskClient, build: Any) -> dict[str, Any]:
    resp = client.post("/cds-services/leg-pain-causes", json=build.hook_request(build.full_prefetch(
        build.potassium(2.9))))
    assert resp.status_code == 200
    return dict(resp.get_json()["cards"][0])


@pytest.fixture
def issued_card(client: FlaskClient, build: Any) -> dict[str, Any]:
    return _issue_card(client, build)


def feedback_body(card: dict[str, Any], outcome: str) -> dict[str, Any]:
    """Valid feedback (CDS Hooks 2.0 section "Feedback") on `card`, as a new object each time."""
    item: dict[str, Any] = {"card": card["uuid"], "outcome": outcome, "outcomeTimestamp": "2026-11-25T12:00:00Z"}
    if outcome == "accepted":
        item["acceptedSuggestions"] = [{"id": s["uuid"]} for s in card.get("suggestions", [])[:1]]
    else:
        reasons = card.get("overrideReasons") or [{"code": "not-relevant", "system": "http://example.org"}]
        item["overrideReason"] = {"reason": reasons[0], "userComment": "seen"}
    return orjson.loads(orjson.dumps({"feedback": [item]}))  # a copy: mutation must not change the card


@FUZZ
@given(changes=st.integers(0, 5), outcome=st.sampled_from(["accepted", "overridden"]), data=st.data())
def test_mutated_feedback(client: FlaskClient, issued_card: dict[str, Any], changes: int, outcome: str,
                          data: st.DataObject) -> None:
    """Feedback for a card just issued, with elements changed."""
    mutated = mutate(data.draw, feedback_body(issued_card, outcome), changes)
    assert_answer(_post(client, "/cds-services/leg-pain-causes/feedback", orjson.dumps(mutated)))


# ---------------------------------------------------------------------------------------------- on PostgreSQL


@pytest.fixture
def pg_client(app_overrides: dict[str, Any], postgres_url: str) -> Iterator[FlaskClient]:
    app = create_app({**app_overrides, "DATABASE_URL": emptied(postgres_url)})
    yield app.test_client()
    app.extensions["cds_store"].close()  # no connections left open across tests


@pytest.mark.server
@settings(FUZZ, max_examples=300)
@given(route=st.sampled_from(["feedback", "hook"]), changes=st.integers(0, 5),
       outcome=st.sampled_from(["accepted", "overridden"]), call=st.sampled_from(RICH + CALLS), data=st.data())
def test_mutated_feedback_and_hook_calls_on_postgresql(pg_client: FlaskClient, build: Any, route: str,
                                                       changes: int, outcome: str,
                                                       call: tuple[str, dict[str, Any]], data: st.DataObject) -> None:
    """What SQLite stores, PostgreSQL may refuse (lengths, NUL characters): the writes of feedback and of hook calls
    (issued cards, audit rows) on a real PostgreSQL server answer the same way, never with a 5xx."""
    if route == "feedback":
        card = _issue_card(pg_client, build)
        mutated = mutate(data.draw, feedback_body(card, outcome), changes)
        assert_answer(_post(pg_client, "/cds-services/leg-pain-causes/feedback", orjson.dumps(mutated)))
    else:
        service, body = call
        mutated = mutate(data.draw, orjson.loads(orjson.dumps(body)), changes)
        assert_answer(_post(pg_client, f"/cds-services/{service}", orjson.dumps(mutated)))


@FUZZ
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
       path=st.one_of(st.sampled_from(["/cds-services", "/healthz", "/readyz", "/metrics", "/", "/cds-services/",
                                       "/static/x", f"/cds-services/{SERVICE_IDS[0]}",
                                       f"/cds-services//{SERVICE_IDS[0]}", "/_bench/parse", "/cds-services/x/feedback/",
                                       # the pages (on: the test app has CDS_AUTH=none)
                                       "/pages/demo/request", "/pages/static/pages.css", "/pages/static/x",
                                       "/rules", "/rules/codes.json", "/analytics", "/analytics/plots",
                                       "/analytics/issued-per-day.csv", "/analytics/x.csv", "/trend",
                                       "/trend/launch", "/trend/codes.json"]),
                      # not "//" first: the test client would read what follows as a host name
                      st.text(st.characters(min_codepoint=33, max_codepoint=0x2FFF, exclude_characters="?#%"),
                              max_size=30).map(lambda t: "/" + t.lstrip("/"))),
       query=st.dictionaries(st.text(max_size=6), st.text(max_size=12), max_size=3),
       body=st.one_of(st.none(), json_values))
def test_any_method_path_and_query(client: FlaskClient, method: str, path: str, query: dict[str, str],
                                   body: Any) -> None:
    data = None if body is None else orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
    resp = client.open(path, method=method, query_string=query, data=data,
                       content_type="application/json" if data is not None else None)
    assert_answer(resp)


def test_the_fuzzed_routes_are_all_the_routes(app: Flask) -> None:
    """A new route is fuzzed too: listed here, or this fails."""
    fuzzed = {"/cds-services", "/cds-services/<service_id>", "/cds-services/<service_id>/feedback",
              "/healthz", "/readyz", "/metrics", "/static/<path:filename>",
              "/", "/pages/demo/request", "/pages/static/<path:filename>", "/rules", "/rules/codes.json",
              "/analytics", "/analytics/plots", "/analytics/<chart_id>.csv", "/trend", "/trend/launch",
              "/trend/codes.json"}
    assert {rule.rule for rule in app.url_map.iter_rules()} <= fuzzed


# ---------------------------------------------------------------------------------------------- client authentication

ISSUER = "https://inline.test"


@pytest.fixture
def secured_client(tmp_path: Path) -> FlaskClient:
    """The app with client authentication on: one trusted client whose key is inline (no JWKS fetch)."""
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = {**json.loads(jwt.get_algorithm_by_name("ES384").to_jwk(key.public_key())), "kid": "k1", "alg": "ES384"}
    trusted = tmp_path / "trusted.json"
    trusted.write_text(json.dumps({"clients": [{"iss": ISSUER, "jwks": {"keys": [jwk]}, "algorithms": ["ES384"]}]}))
    app = create_app({"AUTH": "jwt", "TRUSTED_CLIENTS": str(trusted), "PUBLIC_BASE_URL": "https://cds.test",
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'cds.sqlite3'}", "ALLOW_FHIR_SERVER": lambda url: False})
    return app.test_client()


def _b64(value: Any) -> str:
    raw = value if isinstance(value, bytes) else orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# Tokens shaped like JWTs (header.payload.signature) whose header and claims are generated: a known issuer, any alg
# (none, HS256 with the public key as secret...), kid and jku of any type, and plain garbage.
jwt_like = st.builds(lambda header, claims, signature: f"{_b64(header)}.{_b64(claims)}.{_b64(signature)}",
                     st.one_of(json_values, st.fixed_dictionaries({
                         "alg": st.one_of(st.sampled_from(["ES384", "RS384", "none", "HS256", "ES256"]), json_values),
                         "typ": st.sampled_from(["JWT", "jwt"]), "kid": st.one_of(st.just("k1"), json_values),
                         "jku": st.one_of(st.just("http://127.0.0.1:9/jwks.json"), json_values)})),
                     st.one_of(json_values, st.fixed_dictionaries({
                         "iss": st.one_of(st.just(ISSUER), json_values), "sub": st.one_of(st.just(ISSUER), json_values),
                         "aud": st.one_of(st.just("https://cds.test/cds-services"), json_values),
                         "exp": st.one_of(st.integers(0, 2**40), json_values), "iat": json_values,
                         "jti": st.one_of(st.text(max_size=20), json_values)})),
                     st.binary(max_size=100))
authorization = st.one_of(st.text(max_size=60), jwt_like.map(lambda t: "Bearer " + t), jwt_like,
                          st.sampled_from(["Bearer", "Bearer ", "bearer x", "Basic dXNlcjpwYXNz", "Bearer a.b.c"]))


@FUZZ
@given(route=st.sampled_from([("GET", "/cds-services"), ("POST", f"/cds-services/{SERVICE_IDS[0]}"),
                              ("POST", f"/cds-services/{SERVICE_IDS[0]}/feedback"), ("GET", "/healthz"),
                              ("GET", "/readyz")]),
       header=st.one_of(st.none(), authorization), body=json_values)
# Found by this test with more examples: an "alg" that is an array or object was looked up in a set (TypeError, 500).
@example(route=("GET", "/cds-services"), body=None,
         header=f"Bearer {_b64({'alg': [], 'typ': 'JWT', 'kid': 'k1'})}.{_b64({'iss': ISSUER})}.AAAA")
@example(route=("POST", f"/cds-services/{SERVICE_IDS[0]}"), body={},
         header=f"Bearer {_b64({'alg': {'a': 1}, 'typ': 'JWT', 'kid': 'k1'})}.{_b64({'iss': ISSUER})}.AAAA")
def test_any_authorization_header(secured_client: FlaskClient, route: tuple[str, str], header: str | None,
                                  body: Any) -> None:
    """No valid token can be generated here: every CDS endpoint answers 401 with an OperationOutcome."""
    method, path = route
    # An HTTP header value cannot carry CR or LF (RFC 9110 5.5; the test client refuses them before the service sees
    # them): those become spaces, every other character is kept.
    value = None if header is None else header.replace("\r", " ").replace("\n", " ")
    headers = {} if value is None else {"Authorization": value.encode("utf-8", "replace").decode("latin-1")}
    resp = secured_client.open(path, method=method, headers=headers, data=orjson.dumps(body),
                               content_type="application/json")
    assert_answer(resp)
    if path not in ("/healthz", "/readyz"):
        assert resp.status_code == 401, resp.get_data(as_text=True)[:300]
