"""The API conventions written into every OpenAPI document (each service's and the gateway's): one ``Problem``
schema for every error response, the ``Idempotency-Key`` header (with 409 and 422) on every POST that honours it,
the ``If-Match`` request header (with 412 and 428) and the ``ETag`` response header where a route uses them,
``If-None-Match`` and 304 on the reads that set an ETag, ``servers`` and described tags."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from shared.errors import PROBLEM_JSON

PROBLEM_REF = "#/components/schemas/Problem"
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "An RFC 9457 problem: every error answer of the platform (`application/problem+json`).",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "https://kam.example/problems/<code>"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "What went wrong, naming the field where one is at fault"},
        "instance": {"type": "string", "description": "The request path"},
        "request_id": {"type": "string", "description": "The request's X-Request-ID (quote it when reporting)"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                "additionalProperties": True,
            },
        },
        "field": {"type": "string"},
        "allowed": {"type": "array", "items": {"type": "string"}},
        "retry_after": {"type": "integer"},
    },
    "additionalProperties": True,
}
PROBLEM_CONTENT: dict[str, Any] = {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}

IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes the POST safe to retry: the same key with the same request answers the first (2xx) "
    "result again with `Idempotent-Replayed: true` and runs nothing; the same key with another request is a 422, and "
    "a 409 while the first is still running (1–200 printable ASCII characters; a UUID is a good key). A first "
    "attempt answered 4xx/5xx leaves the key free for a corrected request.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
}
IDEMPOTENCY_RESPONSES: dict[str, dict[str, Any]] = {
    "409": {"description": "Conflict (also: a request with this Idempotency-Key is still running, see Retry-After)"},
    "422": {"description": "Unprocessable Content (also: this Idempotency-Key was used with a different request)"},
}
IDEMPOTENT_REPLAYED_HEADER: dict[str, Any] = {
    "description": "`true` when this is the stored answer of an earlier request with the same Idempotency-Key",
    "schema": {"type": "string", "enum": ["true"]},
}
IF_MATCH_PARAMETER: dict[str, Any] = {
    "name": "If-Match",
    "in": "header",
    "required": True,
    "description": "The ETag last read (GET the resource first): without it the change is refused with 428, and a "
    "change made since is refused with 412 instead of being overwritten.",
    "schema": {"type": "string", "maxLength": 200},
}
IF_MATCH_UPSERT_PARAMETER: dict[str, Any] = {
    **IF_MATCH_PARAMETER,
    "required": False,
    "description": "The ETag last read: required once the resource exists (428 without it, 412 when stale); a "
    "create of a resource that does not exist yet goes without.",
}
IF_NONE_MATCH_PARAMETER: dict[str, Any] = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "ETags already held (weak comparison, a list or `*`): when one is current the answer is 304 "
    "without a body.",
    "schema": {"type": "string", "maxLength": 2000},
}
ETAG_HEADER: dict[str, Any] = {
    "description": "The resource's version; send it back as If-Match to change it safely.",
    "schema": {"type": "string"},
}

NOT_MODIFIED_RESPONSE: dict[str, Any] = {
    "description": "Not Modified: the If-None-Match sent is the current ETag (no body)",
    "headers": {"ETag": ETAG_HEADER},
}
PRECONDITION_RESPONSES: dict[str, dict[str, Any]] = {
    "412": {"description": "Precondition Failed: the If-Match sent is stale (GET the resource again)"},
    "428": {"description": "Precondition Required: If-Match is missing (GET the resource and send its ETag)"},
}

# What a route's code (its endpoint or any dependency) mentions when it honours a header.
_USES_IF_MATCH = ("check_if_match", '"if-match"', "If-Match")
_USES_IF_MATCH_UPSERT = ("check_if_match_upsert",)
_USES_ETAG = ("set_etag", '"ETag"', "_with_etag(")
_UNUSED_DEFAULTS = ("HTTPValidationError", "ValidationError")


# A ``datetime.time`` travels as a wall-clock time in the company zone ("09:00:00", DESIGN §4), which JSON Schema's
# "time" format (RFC 3339: an offset required) would call invalid; it is documented by its pattern instead.
WALL_CLOCK_TIME: dict[str, Any] = {
    "type": "string",
    "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?$",
    "description": "A wall-clock time in the company's zone (HH:MM[:SS]), without an offset",
}


def _wall_clock_times(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") == "string" and node.get("format") == "time":
            del node["format"]
            node.setdefault("pattern", WALL_CLOCK_TIME["pattern"])
            node.setdefault("description", WALL_CLOCK_TIME["description"])
        for value in node.values():
            _wall_clock_times(value)
    elif isinstance(node, list):
        for value in node:
            _wall_clock_times(value)


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    if dependant.call is not None:
        yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def _source_of(route: Any) -> str:
    parts = []
    for call in _calls(route.dependant):
        try:
            parts.append(inspect.getsource(call))
        except (OSError, TypeError):
            continue
    return "\n".join(parts)


def _mentions(source: str, markers: Iterable[str]) -> bool:
    return any(marker in source for marker in markers)


def _add_parameter(operation: dict[str, Any], parameter: dict[str, Any]) -> None:
    parameters: list[dict[str, Any]] = operation.setdefault("parameters", [])
    names = {(p.get("name", "").lower(), p.get("in")) for p in parameters}
    if (parameter["name"].lower(), parameter["in"]) not in names:
        parameters.append(dict(parameter))


def problem_responses(operation: dict[str, Any]) -> None:
    """Every 4xx/5xx response of an operation documented as the shared Problem (problem+json)."""
    for status, response in operation.get("responses", {}).items():
        if status[:1] in {"4", "5"} and isinstance(response, dict):
            response["content"] = PROBLEM_CONTENT


def _idempotent(operation: dict[str, Any]) -> None:
    """The ``Idempotency-Key`` header, its 409/422 and the replay marker on a POST (shared.idempotency)."""
    _add_parameter(operation, IDEMPOTENCY_KEY_PARAMETER)
    responses = operation.setdefault("responses", {})
    for status, response in IDEMPOTENCY_RESPONSES.items():
        responses.setdefault(status, dict(response))["content"] = PROBLEM_CONTENT
    for status, response in responses.items():
        if status.startswith("2"):
            response.setdefault("headers", {})["Idempotent-Replayed"] = IDEMPOTENT_REPLAYED_HEADER


def _conventions_of_route(operation: dict[str, Any], source: str, method: str, *, idempotent: bool) -> None:
    problem_responses(operation)
    if method == "post" and idempotent:
        _idempotent(operation)
    if method in {"put", "patch", "delete", "post"} and _mentions(source, _USES_IF_MATCH):
        upsert = _mentions(source, _USES_IF_MATCH_UPSERT)
        _add_parameter(operation, IF_MATCH_UPSERT_PARAMETER if upsert else IF_MATCH_PARAMETER)
        for status, response in PRECONDITION_RESPONSES.items():
            operation["responses"].setdefault(status, dict(response))["content"] = PROBLEM_CONTENT
    if _mentions(source, _USES_ETAG):
        for status, response in operation["responses"].items():
            if status.startswith("2"):
                response.setdefault("headers", {})["ETag"] = ETAG_HEADER
        if method == "get" and "200" in operation["responses"]:
            _add_parameter(operation, IF_NONE_MATCH_PARAMETER)
            operation["responses"].setdefault("304", dict(NOT_MODIFIED_RESPONSE))


def apply_conventions(
    document: dict[str, Any], routes: Iterable[Any], *, idempotent: Callable[[str], bool] | None = None
) -> dict[str, Any]:
    """Write the conventions into ``document`` (generated from ``routes``) and return it; ``idempotent`` says which
    POST paths honour ``Idempotency-Key`` (the app's IdempotencyMiddleware; None: none)."""
    document.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    paths: dict[str, Any] = document.get("paths", {})
    for route in iter_route_contexts(list(routes)):  # included routers flattened, with their prefixes
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        if route.path_format not in paths:
            continue
        source = _source_of(route)
        for method in route.methods or ():
            operation = paths[route.path_format].get(method.lower())
            if isinstance(operation, dict):
                honours_key = idempotent is not None and idempotent(route.path_format)
                _conventions_of_route(operation, source, method.lower(), idempotent=honours_key)
    schemas = document["components"]["schemas"]
    text = repr(document["paths"])
    for name in _UNUSED_DEFAULTS:  # FastAPI's own 422 body, replaced by Problem above
        if name in schemas and f"/{name}'" not in text and f"/{name}'" not in repr(schemas):
            del schemas[name]
    _wall_clock_times(document)
    document.setdefault("servers", [{"url": "/", "description": "this host"}])
    tags = {
        tag for item in paths.values() for op in item.values() if isinstance(op, dict) for tag in op.get("tags", [])
    }
    known = {t["name"] for t in document.get("tags", [])}
    document.setdefault("tags", []).extend({"name": t} for t in sorted(tags - known))
    return document


def install_openapi_conventions(app: FastAPI, *, idempotent: Callable[[str], bool] | None = None) -> None:
    """Make ``app.openapi()`` return its document with the conventions applied (once, then cached)."""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = apply_conventions(base(), app.routes, idempotent=idempotent)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
