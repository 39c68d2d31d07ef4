"""Where the golden cases are and which hook calls they make: the one reader of the tests/golden/ layout.

Layout:
  golden/<service id>/<case>.request.json    a hook call to that service; every file under a service's folder is a
                                            valid call of that service, so a test may post it there as it is
  golden/<service id>/<case>.response.json   the expected {"status", "body"}

The order-select and order-sign services run the same rules on the same context (draft orders and the chart), so an
order case is stored once, as its order-select call in golden/leg-pain-order-select/ (order-sign's context plus
`selections`), and run for both order services: order-sign gets the same call without `selections`
(`order_sign_call`). Both services answer with the same cards today, so one <case>.response.json holds the answer;
should a service ever answer differently, its own answer goes beside it as <case>.<service id>.response.json
(`expected_path`), which `pytest --update-golden` writes only where the answers differ.
"""
from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).parent / "golden"
ORDER_SELECT_SERVICE = "leg-pain-order-select"
ORDER_SIGN_SERVICE = "leg-pain-order-sign"


def hook_instance(service_id: str, case: str) -> str:
    """A stable hookInstance per service and case, so that regenerated files do not change."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:leg-pain-cds:golden:{service_id}/{case}"))


def order_sign_call(select_call: dict[str, Any], case: str) -> dict[str, Any]:
    """The order-sign call of a stored order-select call: the same drafts and chart, without `selections` (which
    only order-select defines)."""
    call = copy.deepcopy(select_call)
    call["hook"] = "order-sign"
    call["hookInstance"] = hook_instance(ORDER_SIGN_SERVICE, case)
    del call["context"]["selections"]
    return call


def case_name(request_path: Path) -> str:
    return request_path.name.split(".")[0]


def shared_expected_path(request_path: Path) -> Path:
    """The answer of the service a call is stored for (and of any other it is run for that answers the same)."""
    return request_path.with_name(f"{case_name(request_path)}.response.json")


def own_expected_path(request_path: Path, service_id: str) -> Path:
    """Where the answer of a service run on another service's stored call goes when it differs from the shared one."""
    return request_path.with_name(f"{case_name(request_path)}.{service_id}.response.json")


def expected_path(request_path: Path, service_id: str) -> Path:
    """The expected answer of `service_id` to a stored call: its own file where it answers differently from the
    service the call is stored for, else the shared one."""
    own = own_expected_path(request_path, service_id)
    if service_id != request_path.parent.name and own.exists():
        return own
    return shared_expected_path(request_path)


@dataclass(frozen=True)
class GoldenCall:
    """One hook call a golden case makes: a stored call, or a stored call run for another service."""

    service_id: str
    request_path: Path
    request: dict[str, Any]

    @property
    def case(self) -> str:
        return case_name(self.request_path)

    @property
    def name(self) -> str:
        return f"{self.service_id}/{self.case}"

    @property
    def expected_path(self) -> Path:
        return expected_path(self.request_path, self.service_id)

    def expected(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.expected_path.read_text())
        return result


def request_paths() -> list[Path]:
    """Every stored call, sorted by service and case."""
    return sorted(GOLDEN.glob("*/*.request.json"))


def calls_of(request_path: Path) -> list[GoldenCall]:
    """The calls one stored case makes: to the service it is stored for, and an order case to order-sign too."""
    stored = json.loads(request_path.read_text())
    out = [GoldenCall(request_path.parent.name, request_path, stored)]
    if request_path.parent.name == ORDER_SELECT_SERVICE:
        out.append(GoldenCall(ORDER_SIGN_SERVICE, request_path, order_sign_call(stored, case_name(request_path))))
    return out


def calls() -> list[GoldenCall]:
    """Every golden hook call, each order case once per order service."""
    return [call for path in request_paths() for call in calls_of(path)]
