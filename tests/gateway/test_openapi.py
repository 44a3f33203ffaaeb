"""The one public OpenAPI document is valid, and no service's schema is documented with another's."""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from typing import Any

from openapi_spec_validator import validate

from gateway.app import create_app as create_gateway
from gateway.config import GatewaySettings
from gateway.openapi import merge_openapi
from services.complaints.app import create_app as create_complaints
from services.complaints.config import ComplaintsSettings
from services.goals.app import create_app as create_goals
from services.goals.config import GoalsSettings
from services.risk.app import create_app as create_risk
from services.risk.config import RiskSettings
from services.scoring.app import create_app as create_scoring
from services.scoring.config import ScoringSettings
from shared.money import AMOUNT_PATTERN, NON_NEGATIVE_AMOUNT_PATTERN
from tests.support import service_settings

SERVICES = {
    "scoring": (create_scoring, ScoringSettings),
    "complaints": (create_complaints, ComplaintsSettings),
    "risk": (create_risk, RiskSettings),
    "goals": (create_goals, GoalsSettings),
}


@functools.cache
def _merged() -> dict[str, Any]:
    """The merged document of every service's app and the gateway's (built once: the tests only read it)."""
    url = "sqlite+aiosqlite:///:memory:"
    docs = {
        name: factory(service_settings(settings, database_url=url, nats_url=None)).openapi()
        for name, (factory, settings) in SERVICES.items()
    }
    gateway = create_gateway(service_settings(GatewaySettings, database_url=url, nats_url=None))
    return merge_openapi(gateway.openapi(), docs)


def _refs(node: Any) -> set[str]:
    """Every schema name a part of the document refers to."""
    return set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(node)))


def test_the_merged_document_is_valid_openapi():
    validate(_merged())


def test_every_service_operation_refers_only_to_its_own_schemas():
    merged = _merged()
    checked = 0
    for path, item in merged["paths"].items():
        service = path.removeprefix("/api/v1/").split("/", 1)[0]
        if service not in SERVICES:
            continue
        for ref in _refs(item):
            assert ref.startswith(f"{service}__") or ref == "Problem", (path, ref)
            checked += 1
    assert checked > 100
    # The two services' action items are two documented schemas, each at its own path.
    risk_items = json.dumps(merged["paths"]["/api/v1/risk/action-items"])
    assert "goals__" not in risk_items and "risk__" in risk_items


def _operations(document: dict[str, Any]):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in {"get", "put", "post", "patch", "delete"}:
                yield path, method, operation


def _header_names(operation: dict[str, Any]) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p.get("in") == "header"}


def test_every_error_response_is_the_shared_problem_with_a_request_id():
    merged = _merged()
    problem = merged["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "instance", "request_id", "errors"} <= set(problem["properties"])
    assert not any(name.endswith("__Problem") for name in merged["components"]["schemas"])
    errors = 0
    for path, method, operation in _operations(merged):
        for status, response in operation["responses"].items():
            if status[0] in "45":
                content = response.get("content")
                assert content == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}, (
                    path,
                    method,
                    status,
                )
                errors += 1
        if method != "get" and path.startswith("/api/v1/") and "/auth/" not in path:
            assert "504" in operation["responses"] or not any(path.startswith(f"/api/v1/{s}") for s in SERVICES), path
    assert errors > 500


def test_idempotency_key_if_match_and_etag_are_declared_where_routes_use_them():
    merged = _merged()
    operations = {(method, path): op for path, method, op in _operations(merged)}
    # Known users of each (services/risk: credit limit requests take an Idempotency-Key, action items an If-Match).
    limit_request = operations[("post", "/api/v1/risk/accounts/{account_id}/limit-requests")]
    assert "Idempotency-Key" in _header_names(limit_request)
    action_item = operations[("patch", "/api/v1/risk/action-items/{item_id}")]
    assert "If-Match" in _header_names(action_item) and "412" in action_item["responses"]
    assert "ETag" in action_item["responses"]["200"]["headers"]
    credit = operations[("get", "/api/v1/risk/accounts/{account_id}/credit")]
    assert "ETag" in credit["responses"]["200"]["headers"]
    counted = Counter(name for op in operations.values() for name in _header_names(op))
    assert counted["Idempotency-Key"] >= 5 and counted["If-Match"] >= 15, counted
    # Never on a read, and an Idempotency-Key only on POST.
    for (method, path), op in operations.items():
        if method == "get":
            assert not {"If-Match", "Idempotency-Key"} & _header_names(op), path
        if "Idempotency-Key" in _header_names(op):
            assert method == "post", path


def test_money_is_documented_as_a_decimal_string_with_a_pattern():
    merged = _merged()
    schemas = merged["components"]["schemas"]
    limit_request = json.dumps(schemas["risk__LimitRequestCreate"])
    assert (
        AMOUNT_PATTERN.replace("\\", "\\\\") in limit_request
        or NON_NEGATIVE_AMOUNT_PATTERN.replace("\\", "\\\\") in limit_request
    ), limit_request[:500]
    patterned = sum(
        1
        for schema in schemas.values()
        for prop in schema.get("properties", {}).values()
        if prop.get("type") == "string" and prop.get("pattern") in {AMOUNT_PATTERN, NON_NEGATIVE_AMOUNT_PATTERN}
    )
    assert patterned >= 10
    assert re.match(AMOUNT_PATTERN, "-12500.5000") and not re.match(AMOUNT_PATTERN, "1e5")
    assert not re.match(NON_NEGATIVE_AMOUNT_PATTERN, "-1")


def test_servers_and_tags_are_present_and_times_are_wall_clock_patterns():
    merged = _merged()
    assert merged["servers"] == [{"url": "/", "description": "this gateway"}]
    declared = {tag["name"] for tag in merged["tags"]}
    used = {tag for _, _, op in _operations(merged) for tag in op.get("tags", [])}
    assert used and used <= declared
    assert '"format": "time"' not in json.dumps(merged)
