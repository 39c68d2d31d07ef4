"""Several replicas, one truth: two `leg-pain-cds serve` instances (real gunicorn, different ports) on one real
PostgreSQL server, with client JWT authentication on (a trusted clients file with a local JWK Set).

Feedback for a card one replica issued is matched when sent to the other; a token's jti used at one is refused at
the other; feedback written concurrently through both loses nothing (rows counted against acknowledged 200s).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import create_engine, func, select

from cds_service.persistence.store import FeedbackRow, Store
from cds_service.runtime.serve import serve_subprocess
from tests.postgres_server import emptied, running_postgres

pytestmark = pytest.mark.server
pytest.importorskip("psycopg", reason="psycopg is in the test extra: pip install '.[test]'")

BASE = "https://cds.test"  # CDS_PUBLIC_BASE_URL of both replicas: the URL EHRs call, behind the load balancer
ISS = "https://ehr.test"
SERVICE = "/cds-services/leg-pain-causes"


@dataclass
class Cluster:
    database_url: str
    replicas: tuple[str, str]  # base URLs of the two instances
    key: Any

    def token(self, jti: str | None = None) -> str:
        now = int(time.time())
        claims = {"iss": ISS, "aud": BASE, "iat": now, "exp": now + 300, "jti": jti or str(uuid.uuid4())}
        return jwt.encode(claims, self.key, algorithm="ES384", headers={"kid": "ehr-1", "typ": "JWT"})

    def post(self, replica: int, path: str, body: Any, token: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token or self.token()}"}
        return requests.post(self.replicas[replica] + path, json=body, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    key = ec.generate_private_key(ec.SECP384R1())
    public = json.loads(jwt.get_algorithm_by_name("ES384").to_jwk(key.public_key()))
    work = tmp_path_factory.mktemp("replicas")
    trusted = work / "trusted-clients.json"
    trusted.write_text(json.dumps({"clients": [{
        "iss": ISS, "name": "Test EHR", "algorithms": ["ES384"],
        "jwks": {"keys": [{**public, "kid": "ehr-1", "alg": "ES384", "use": "sig"}]}}]}))
    (work / "pg").mkdir()
    with running_postgres(work / "pg") as server:
        url = emptied(server, migrate=False)
        # The deployment step: the schema is migrated once, before the replicas start (they refuse otherwise).
        env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")} | {"CDS_DATABASE_URL": url}
        done = subprocess.run([sys.executable, "-m", "cds_service.cli", "db", "upgrade"], env=env, cwd=work,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        settings = {"CDS_DATABASE_URL": url, "CDS_AUTH": "jwt", "CDS_TRUSTED_CLIENTS": str(trusted),
                    "CDS_PUBLIC_BASE_URL": BASE, "CDS_WORKERS": "2", "CDS_WARMUP": "false"}
        with ExitStack() as stack:
            bases = []
            for name in ("a", "b"):
                workdir = work / name
                workdir.mkdir()
                _, base = stack.enter_context(serve_subprocess(workdir, settings))
                bases.append(base)
            yield Cluster(url, (bases[0], bases[1]), key)


def _issue_card(cluster: Cluster, replica: int, build: Any) -> dict[str, Any]:
    recent = (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = build.hook_request(build.full_prefetch(build.potassium(2.9, when=recent)))
    resp = cluster.post(replica, SERVICE, body)
    assert resp.status_code == 200, resp.text
    cards = resp.json()["cards"]
    assert cards, resp.text
    return dict(cards[0])


def test_feedback_for_a_card_issued_by_one_replica_is_matched_at_the_other(cluster: Cluster, build: Any) -> None:
    card = _issue_card(cluster, 0, build)
    suggestion = card["suggestions"][0]["uuid"]
    resp = cluster.post(1, SERVICE + "/feedback", {"feedback": [{
        "card": card["uuid"], "outcome": "accepted", "acceptedSuggestions": [{"id": suggestion}],
        "outcomeTimestamp": datetime.now(timezone.utc).isoformat()}]})
    assert resp.status_code == 200 and resp.json() == {"stored": 1}  # no "unknownCards": B knows A's card
    store = Store(cluster.database_url)
    try:
        [record] = store.feedback_for(card["uuid"])
    finally:
        store.close()
    assert record.card_known and record.suggestions_known is True and record.accepted_suggestions == [suggestion]
    assert record.issued_topic == card["source"]["topic"]["code"]


@pytest.mark.parametrize("first, second", [(0, 1), (1, 0)])
def test_a_jti_used_at_one_replica_is_refused_at_the_other(cluster: Cluster, first: int, second: int) -> None:
    token = cluster.token()
    assert requests.get(cluster.replicas[first] + "/cds-services", timeout=30,
                        headers={"Authorization": f"Bearer {token}"}).status_code == 200
    replayed = requests.get(cluster.replicas[second] + "/cds-services", timeout=30,
                            headers={"Authorization": f"Bearer {token}"})
    assert replayed.status_code == 401 and replayed.headers["WWW-Authenticate"].startswith("Bearer")
    # A fresh token is still welcome there: the refusal is the replay, not the replica.
    assert requests.get(cluster.replicas[second] + "/cds-services", timeout=30,
                        headers={"Authorization": f"Bearer {cluster.token()}"}).status_code == 200


def test_concurrent_feedback_through_both_replicas_loses_nothing(cluster: Cluster) -> None:
    run = uuid.uuid4().hex[:8]
    now = datetime.now(timezone.utc).isoformat()

    def send(n: int) -> tuple[str, int]:
        card = f"card-{run}-{n}"
        try:
            resp = cluster.post(n % 2, SERVICE + "/feedback", {"feedback": [
                {"card": card, "outcome": "overridden", "outcomeTimestamp": now}]})
        except requests.RequestException:
            return card, 0
        return card, resp.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(send, range(120)))
    acknowledged = {card for card, status in results if status == 200}
    engine = create_engine(cluster.database_url)
    try:
        with engine.connect() as conn:
            stored = [r[0] for r in conn.execute(select(FeedbackRow.card_uuid).where(
                FeedbackRow.card_uuid.like(f"card-{run}-%")))]
            total = conn.execute(select(func.count()).select_from(FeedbackRow.__table__)).scalar_one()
    finally:
        engine.dispose()
    assert len(stored) == len(set(stored))  # each acknowledged write once, none twice
    assert acknowledged <= set(stored)  # every acknowledged write is in the database
    assert len(acknowledged) == len(results) == 120, [s for _, s in results if s != 200][:5]
    assert total >= 120
