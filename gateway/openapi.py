"""One OpenAPI document: the gateway's own routes plus every service's, fetched from their /openapi.json."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

OPS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
API_PREFIX = "/api/v1"


def public_path(service: str, path: str) -> str:
    """Where a service's path is reachable at the gateway (ops routes under /api/v1/ops/<service>)."""
    if path in OPS_PATHS:
        return f"{API_PREFIX}/ops/{service}{path}"
    return API_PREFIX + path


def _rewrite_refs(node: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/components/schemas/"):
                name = value.removeprefix("#/components/schemas/")
                out[key] = "#/components/schemas/" + renames.get(name, name)
            else:
                out[key] = _rewrite_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, renames) for v in node]
    return node


EDGE_RESPONSES: dict[str, Any] = {
    "429": {"description": "Too Many Requests (see Retry-After)", "content": {"application/problem+json": {}}},
    "503": {"description": "Service Unavailable (see Retry-After)", "content": {"application/problem+json": {}}},
}

SECURITY_SCHEMES: dict[str, Any] = {
    "OAuth2Password": {
        "type": "oauth2",
        "flows": {
            "password": {
                "tokenUrl": f"{API_PREFIX}/auth/token",
                "refreshUrl": f"{API_PREFIX}/auth/refresh",
                "scopes": {},  # required by OpenAPI 3; roles, not scopes, decide (see docs/gateway.md)
            }
        },
    },
    "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}


def merge_openapi(gateway_doc: dict[str, Any], service_docs: Mapping[str, dict[str, Any] | None]) -> dict[str, Any]:
    """The gateway's document with every service path added under /api/v1 and the schemas merged."""
    merged = copy.deepcopy(gateway_doc)
    paths: dict[str, Any] = merged.setdefault("paths", {})
    components = merged.setdefault("components", {})
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    merged["security"] = [{"OAuth2Password": []}, {"ApiKey": []}]
    missing = []
    for service, doc in service_docs.items():
        if not doc:
            missing.append(service)
            continue
        # Every service schema is namespaced: two services' "ActionItemRead" are different things, and a schema
        # equal by content may still refer to a namesake that is not.
        service_schemas = doc.get("components", {}).get("schemas", {})
        renames = {name: f"{service}__{name}" for name in service_schemas}
        for name, schema in service_schemas.items():
            schemas[renames[name]] = _rewrite_refs(schema, renames)
        for path, item in doc.get("paths", {}).items():
            target = public_path(service, path)
            new_item = _rewrite_refs(item, renames)
            for method, operation in new_item.items():
                if not isinstance(operation, dict) or method == "parameters":
                    continue
                if "operationId" in operation:
                    operation["operationId"] = f"{service}__{operation['operationId']}"
                operation.setdefault("tags", [service])
                operation.setdefault("responses", {})
                for status, response in EDGE_RESPONSES.items():
                    operation["responses"].setdefault(status, response)
            paths.setdefault(target, {}).update(new_item)
    if missing:
        merged.setdefault("info", {})["x-services-missing"] = missing
        merged["info"]["description"] = (
            merged["info"].get("description", "")
            + f"\n\nNot yet documented (service unreachable when last fetched): {', '.join(missing)}."
        )
    return merged
