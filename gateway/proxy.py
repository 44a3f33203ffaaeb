"""The proxy to the services: a public path to its service, the call forwarded with the actor's token, and the
actor's own writes made visible in the next composed view at once."""

from __future__ import annotations

import re
from typing import Any

import httpx
import orjson
from fastapi import Request, Response

from gateway.access import HIDDEN
from gateway.config import KNOWN_SERVICES
from gateway.edge import MethodNotAllowed
from gateway.openapi import API_PREFIX, OPS_PATHS, MethodIndex
from gateway.runtime import GatewayRuntime
from gateway.security import Caller
from gateway.upstream import IDEMPOTENT
from shared.errors import NotFound, ServiceUnavailable
from shared.vocabulary import SERVICE_NAMES

FORWARD_REQUEST_HEADERS = (
    "content-type",
    "accept",
    "accept-language",
    "if-match",
    "if-none-match",
    "idempotency-key",
)
DROP_RESPONSE_HEADERS = frozenset(
    {
        "content-length",
        "content-encoding",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "date",
        "server",
        "x-request-id",
    }
)
ACCOUNT_IN_PATH = re.compile(r"(?:^|/)accounts/([^/]+)")
LOCATION_HEADERS = frozenset({"location", "content-location"})


def public_location(value: str) -> str:
    """A service's own path in a Location header as the public path below /api/v1 (absolute URLs kept)."""
    if value.startswith("/") and not value.startswith("//") and not value.startswith(API_PREFIX + "/"):
        return API_PREFIX + value
    return value


def public_problem(content: bytes, upstream_path: str, public_path: str) -> bytes:
    """A service's problem document with its ``instance`` (the service's own path) as the public path the client
    called (RFC 9457: the occurrence as the client knows it); anything else is kept byte for byte."""
    try:
        problem = orjson.loads(content)
    except orjson.JSONDecodeError:
        return content
    if not isinstance(problem, dict) or problem.get("instance") != upstream_path:
        return content
    problem["instance"] = public_path
    return orjson.dumps(problem)


def route_to_service(path: str) -> tuple[str, str]:
    """(service, upstream path) for a path below /api/v1, or 404."""
    segments = path.strip("/").split("/")
    head = segments[0] if segments else ""
    if head == "ops" and len(segments) == 3 and segments[1] in KNOWN_SERVICES and f"/{segments[2]}" in OPS_PATHS:
        return segments[1], f"/{segments[2]}"
    if head == "accounts":
        return "scoring", "/" + path.strip("/")
    if head in KNOWN_SERVICES:
        return head, "/" + path.strip("/")
    raise NotFound(f"No route {API_PREFIX}/{path.strip('/')}")


def account_id_of(upstream_path: str, request_body: bytes, response_body: bytes) -> str | None:
    """The account a call was about: from its path, else an ``account_id`` in the request or response body."""
    match = ACCOUNT_IN_PATH.search(upstream_path)
    if match:
        return match.group(1)
    for raw in (request_body, response_body):
        try:
            value = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            continue
        if isinstance(value, dict) and isinstance(value.get("account_id"), str):
            return str(value["account_id"])
    return None


def method_index(request: Request) -> MethodIndex:
    """The methods of every documented path, rebuilt whenever the merged document is."""
    document = request.app.openapi()
    cached: tuple[dict[str, Any], MethodIndex] | None = getattr(request.app.state, "method_index", None)
    if cached is None or cached[0] is not document:
        cached = (document, MethodIndex(document))
        request.app.state.method_index = cached
    return cached[1]


async def refuse_undocumented_method(request: Request) -> None:
    """405 + ``Allow`` for a documented path called with a method it lacks (before authentication, as routing)."""
    allowed = method_index(request).allowed(request.url.path)
    if allowed is not None and request.method not in allowed:
        raise MethodNotAllowed(request.method, request.url.path, allowed)


async def ensure_may_see_account_in(runtime: GatewayRuntime, actor: Caller, upstream_path: str) -> None:
    """404 for a path under ``accounts/{id}`` whose account the projection says the actor may not see."""
    match = ACCOUNT_IN_PATH.search(upstream_path)
    if match and not actor.principal.sees_whole_portfolio:
        visibility, _ = await runtime.access.check(actor.principal, match.group(1))
        if visibility == HIDDEN:
            raise NotFound(f"Account {match.group(1)} not found")


async def _send(
    runtime: GatewayRuntime, request: Request, service: str, upstream_path: str, headers: dict[str, str]
) -> tuple[bytes, httpx.Response]:
    """The request body sent (empty for a streamed upload) and the service's response."""
    upstream = runtime.upstreams[service]
    params = request.url.query or None
    settings = runtime.settings
    if request.method == "POST" and request.url.path.rstrip("/") in settings.bulk_upload_paths:
        # Bulk uploads stream through (memory flat in file size); the edge already bounds their size.
        response = await upstream.request(
            request.method,
            upstream_path,
            headers=headers,
            params=params,
            content=request.stream(),
            timeout=settings.upload_timeout_seconds,
        )
        return b"", response
    body = await request.body()
    response = await upstream.request(
        request.method, upstream_path, headers=headers, params=params, content=body or None
    )
    return body, response


async def forward(
    runtime: GatewayRuntime, actor: Caller, request: Request, path: str, request_id: str | None
) -> Response:
    """Forward a public call to its service with the actor's token; a write invalidates the composed views."""
    service, upstream_path = route_to_service(path)
    if service not in runtime.upstreams:
        raise ServiceUnavailable(f"The {service} service is not deployed here (set KAM_GATEWAY_{service.upper()}_URL)")
    await ensure_may_see_account_in(runtime, actor, upstream_path)
    headers = {k: v for k in FORWARD_REQUEST_HEADERS if (v := request.headers.get(k)) is not None}
    headers.update(actor.forward_headers(request_id))
    body, response = await _send(runtime, request, service, upstream_path, headers)
    if request.method not in IDEMPOTENT and response.status_code < 400 and service in SERVICE_NAMES:
        # Make the actor's own change visible in the next overview at once, on every replica (events follow).
        account_id = account_id_of(upstream_path, body, response.content)
        await runtime.wrote(account_id, accounts_changed=service == "scoring" and account_id is None)
    out_headers = {
        k: public_location(v) if k.lower() in LOCATION_HEADERS else v
        for k, v in response.headers.items()
        if k.lower() not in DROP_RESPONSE_HEADERS
    }
    out_headers["x-upstream-service"] = service
    content = response.content
    if response.status_code >= 400 and response.headers.get("content-type", "").startswith("application/problem+json"):
        content = public_problem(content, upstream_path, request.url.path)
    return Response(content=content, status_code=response.status_code, headers=out_headers)
