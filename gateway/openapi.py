"""One OpenAPI document: the gateway's own routes plus every service's, fetched from their /openapi.json."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from shared.openapi import PROBLEM_CONTENT, PROBLEM_SCHEMA, problem_responses

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
    "429": {"description": "Too Many Requests (see Retry-After)", "content": PROBLEM_CONTENT},
    "503": {"description": "Service Unavailable (see Retry-After)", "content": PROBLEM_CONTENT},
}
# A write the gateway sent but never heard back about (gateway.upstream.OutcomeUnknown).
OUTCOME_UNKNOWN_RESPONSE: dict[str, Any] = {
    "description": "Gateway Timeout: the write was sent but not answered, its outcome is unknown (see the detail "
    "for how to retry safely)",
    "content": PROBLEM_CONTENT,
}
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})

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
    merged["servers"] = [{"url": "/", "description": "this gateway"}]
    paths: dict[str, Any] = merged.setdefault("paths", {})
    components = merged.setdefault("components", {})
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    schemas.setdefault("Problem", PROBLEM_SCHEMA)
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
        renames["Problem"] = "Problem"  # one shared Problem (shared.openapi), not one per service
        for name, schema in service_schemas.items():
            if name != "Problem":
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
                if method in WRITE_METHODS:
                    operation["responses"].setdefault("504", OUTCOME_UNKNOWN_RESPONSE)
                problem_responses(operation)
            paths.setdefault(target, {}).update(new_item)
    known_tags = {tag["name"] for tag in merged.setdefault("tags", [])}
    used_tags = {
        tag for item in paths.values() for op in item.values() if isinstance(op, dict) for tag in op.get("tags", [])
    }
    merged["tags"].extend({"name": tag} for tag in sorted(used_tags - known_tags))
    if missing:
        merged.setdefault("info", {})["x-services-missing"] = missing
        merged["info"]["description"] = (
            merged["info"].get("description", "")
            + f"\n\nNot yet documented (service unreachable when last fetched): {', '.join(missing)}."
        )
    return merged


HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_TEMPLATE_PARAMETER = re.compile(r"\\\{[^/]+?\\\}")


class MethodIndex:
    """Which methods each documented path template answers: a known path called with another method is a 405
    naming the real ones (``Allow``), decided at the gateway for its own routes and every service's."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        # Templates by their number of segments: a path is only matched against those of its own length.
        self.templates: dict[int, list[tuple[re.Pattern[str], frozenset[str]]]] = {}
        for path, item in document.get("paths", {}).items():
            methods = frozenset(m.upper() for m in item if m in HTTP_METHODS)  # FastAPI's GETs do not answer HEAD
            pattern = re.compile("^" + _TEMPLATE_PARAMETER.sub("[^/]+", re.escape(path.rstrip("/"))) + "$")
            self.templates.setdefault(path.rstrip("/").count("/"), []).append((pattern, methods))

    def allowed(self, path: str) -> frozenset[str] | None:
        """The methods of every template matching ``path`` (None: the path is not documented)."""
        path = path.rstrip("/")
        found: set[str] = set()
        matched = False
        for regex, methods in self.templates.get(path.count("/"), ()):
            if regex.match(path):
                matched = True
                found |= methods
        return frozenset(found) if matched else None
