"""How the console reads and acts: through the gateway's own machinery, as the logged-in user.

The composed views come from ``gateway.composition`` (cached sections, object-level 404s); every other read and
every action is a call of the public API (``/api/v1/...``) that passes the route × role matrix, the account check
and the upstream client exactly as a proxied API call does — so the console can do nothing its user could not do
with the API, and a write invalidates the composed views the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson

from gateway import composition
from gateway.policy import allowed
from gateway.proxy import account_id_of, ensure_may_see_account_in, route_to_service
from gateway.runtime import GatewayRuntime
from gateway.security import Caller
from gateway.upstream import IDEMPOTENT, UpstreamUnavailable
from shared.errors import DomainError
from shared.views import AccountOverview, PortfolioBoard
from shared.vocabulary import SERVICE_NAMES

API = "/api/v1"


@dataclass(frozen=True)
class ApiResult:
    """A call's status and its parsed body (a problem's ``detail`` and named fields when it failed)."""

    status: int
    body: Any
    etag: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the call succeeded."""
        return self.status < 400

    @property
    def detail(self) -> str:
        """The problem's ``detail`` (or a generic line)."""
        if isinstance(self.body, dict) and isinstance(self.body.get("detail"), str):
            return str(self.body["detail"])
        return f"HTTP {self.status}"

    def field_errors(self) -> dict[str, str]:
        """Messages per named field (the last segment of each ``errors[].field``)."""
        errors = self.body.get("errors") if isinstance(self.body, dict) else None
        found: dict[str, str] = {}
        for error in errors if isinstance(errors, list) else []:
            if isinstance(error, dict) and isinstance(error.get("field"), str):
                found.setdefault(error["field"].split(".")[-1], str(error.get("message", "")))
        field = self.body.get("field") if isinstance(self.body, dict) else None
        if isinstance(field, str):
            found.setdefault(field.split(".")[-1], self.detail)
        return found

    def items(self) -> list[Any]:
        """The items of a page (or the list itself)."""
        if isinstance(self.body, dict) and isinstance(self.body.get("items"), list):
            return list(self.body["items"])
        return list(self.body) if self.ok and isinstance(self.body, list) else []


class Console:
    """The console's view of the gateway for one request: the running gateway, the user and the request id."""

    def __init__(self, runtime: GatewayRuntime, caller: Caller, request_id: str | None) -> None:
        self.runtime = runtime
        self.caller = caller
        self.request_id = request_id

    async def portfolio(self) -> PortfolioBoard:
        """The portfolio board (an account manager's own book)."""
        document = await composition.portfolio(self.runtime, self.caller, self.request_id)
        return PortfolioBoard.model_validate_json(document)

    async def overview(self, account_id: str) -> AccountOverview:
        """The account 360 (404 for an account the user may not see)."""
        document = await composition.account_overview(self.runtime, self.caller, account_id, self.request_id)
        return AccountOverview.model_validate_json(document)

    def has_service(self, service: str) -> bool:
        """Whether this gateway proxies a service (notifications is optional)."""
        return service in self.runtime.upstreams

    def may(self, method: str, path: str) -> bool:
        """Whether the route × role matrix lets the user call ``method /api/v1{path}``."""
        return allowed(method, API + path, self.caller.principal.roles)

    async def get(self, path: str, **params: Any) -> ApiResult:
        """A read of the public API (``path`` below /api/v1)."""
        return await self.call("GET", path, params=params)

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> ApiResult:
        """One call of the public API as the user: 403/404/503 answered as problems, never raised."""
        if not self.may(method, path):
            return ApiResult(403, {"detail": "Your role may not call this route"})
        try:
            service, upstream_path = route_to_service(path.lstrip("/"))
            if service not in self.runtime.upstreams:
                return ApiResult(503, {"detail": f"The {service} service is not deployed here"})
            await ensure_may_see_account_in(self.runtime, self.caller, upstream_path)
            body = orjson.dumps(json) if json is not None else None
            sent = {**(headers or {}), **self.caller.forward_headers(self.request_id), "accept": "application/json"}
            if body is not None:
                sent["content-type"] = "application/json"
            query = urlencode({k: v for k, v in (params or {}).items() if v is not None}, doseq=True) or None
            response = await self.runtime.upstreams[service].request(
                method, upstream_path, headers=sent, params=query, content=body
            )
        except UpstreamUnavailable as exc:
            return ApiResult(503, {"detail": exc.detail})
        except DomainError as exc:
            return ApiResult(exc.status, {"detail": exc.detail})
        if method not in IDEMPOTENT and response.status_code < 400 and service in SERVICE_NAMES:
            account_id = account_id_of(upstream_path, body or b"", response.content)
            await self.runtime.wrote(account_id, accounts_changed=service == "scoring" and account_id is None)
        return ApiResult(response.status_code, _parsed(response.content), response.headers.get("etag"))

    async def upload(
        self, path: str, content: bytes | AsyncIterator[bytes], content_type: str, params: dict[str, Any]
    ) -> ApiResult:
        """A bulk upload (CSV, whole or streamed) to the public API as the user."""
        if not self.may("POST", path):
            return ApiResult(403, {"detail": "Your role may not call this route"})
        service, upstream_path = route_to_service(path.lstrip("/"))
        headers = {**self.caller.forward_headers(self.request_id), "content-type": content_type}
        query = urlencode({k: v for k, v in params.items() if v is not None}) or None
        try:
            response = await self.runtime.upstreams[service].request(
                "POST",
                upstream_path,
                headers=headers,
                params=query,
                content=content,
                timeout=self.runtime.settings.upload_timeout_seconds,
            )
        except UpstreamUnavailable as exc:
            return ApiResult(503, {"detail": exc.detail})
        except DomainError as exc:  # sent without an answer (504): the import's outcome is unknown
            return ApiResult(exc.status, {"detail": exc.detail})
        if response.status_code < 400:
            await self.runtime.wrote(None)
        return ApiResult(response.status_code, _parsed(response.content))


def _parsed(content: bytes) -> Any:
    try:
        return orjson.loads(content) if content else None
    except orjson.JSONDecodeError:
        return {"detail": content[:300].decode("utf-8", "replace")}
