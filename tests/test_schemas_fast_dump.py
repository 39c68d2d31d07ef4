"""The hot-path card serializer (schemas.card_json) equals the marshmallow contract (CardSchema) for every card the
rules produce on the golden requests and the benchmark patients: speed must not change a byte of a card."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from cards import engine, registry
from cards.facts import build_facts

from cds_service.fhir import gather as fhir_data
from cds_service import schemas
from leg_pain_cds_bench import workload
from tests import golden_cases

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def _cards(body: dict[str, Any], service_id: str) -> list[Any]:
    service = registry.service(service_id)
    call = schemas.load_hook_request(body, service)
    data = fhir_data.gather(call, service, now=NOW, settings=fhir_data.FetchSettings(),
                            allow_server=lambda _url: False)
    facts = build_facts(data.resources, now=NOW, patient_id=call.patient_id, draft_orders=call.draft_orders,
                        notes=data.notes, available=data.available)
    return engine.evaluate(service, facts)


def _requests() -> list[tuple[str, dict[str, Any], str]]:
    # Only the golden cases that answer 200 have cards to compare (their response files say so).
    out = [(c.name, c.request, c.service_id) for c in golden_cases.calls() if c.expected()["status"] == 200]
    out += [(f"bench-{size}", workload.hook_request(size, now=NOW), workload.SERVICE_ID)
            for size in ("small", "typical")]
    return out


@pytest.mark.parametrize("name,body,service_id", _requests(), ids=lambda v: v if isinstance(v, str) else "")
def test_fast_card_json_equals_card_schema(name: str, body: dict[str, Any], service_id: str) -> None:
    cards = _cards(body, service_id)
    for number, card in enumerate(cards):
        suggestions = [{"label": s.label, "uuid": f"s-{number}-{i}", "is_recommended": s.is_recommended,
                        "actions": list(s.actions)} for i, s in enumerate(card.suggestions)]
        assert schemas.card_json(card, f"c-{number}", suggestions) == \
            schemas.schema_card_json(card, f"c-{number}", suggestions), name
