"""Structured logs, request ids, Prometheus metrics and the /healthz, /readyz, /metrics routes."""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import ADMIN, get_principal
from shared.errors import Forbidden

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_STD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the extras passed to the logger."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STD_ATTRS and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False, default=str)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send JSON logs to stderr (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_kam", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    handler._kam = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("uvicorn.access").disabled = True  # our access log replaces it


class Metrics:
    """The per-app registry (no global state, so many apps can live in one test process)."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "kam_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "kam_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.outbox_backlog = Gauge("kam_outbox_backlog", "Outbox rows waiting to be published", registry=self.registry)
        self.consumer_lag = Gauge(
            "kam_consumer_lag", "Messages pending for this service's consumer", ["stream"], registry=self.registry
        )
        self.dead_letters = Gauge("kam_dead_letters", "Dead letters waiting for replay", registry=self.registry)
        self.events_handled = Counter(
            "kam_events_handled_total", "Consumed events", ["type", "outcome"], registry=self.registry
        )

    def render(self) -> bytes:
        """Prometheus text exposition."""
        return generate_latest(self.registry)


CONTENT_TYPE_METRICS = CONTENT_TYPE_LATEST


async def require_metrics_reader(request: Request) -> None:
    """/metrics is for the scraper's bearer token (``metrics_token``) or an admin's access token: 401 without a
    credential, 403 for another role."""
    expected: str | None = getattr(request.app.state.settings, "metrics_token", None)
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if expected and scheme.lower() == "bearer" and hmac.compare_digest(credential.strip(), expected):
        return
    principal = await get_principal(request)
    if ADMIN not in principal.roles:
        raise Forbidden("Metrics are for the scraper's token or an admin")


# On every response unless the route set its own: no MIME sniffing, no framing, no referrer leaks, and no caching
# of what are personal and business data (tokens included) by browsers or proxies.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
)


HSTS_HEADER = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class HstsPolicy:
    """When a response says Strict-Transport-Security: always (TLS in front of every process), or when a trusted
    proxy (by client address) forwarded the request as HTTPS. ``X-Forwarded-Proto`` from anyone else is ignored."""

    def __init__(self, *, always: bool = False, trusted_proxies: Iterable[str] = ()) -> None:
        self.always = always
        self.trusted = tuple(ipaddress.ip_network(p, strict=False) for p in trusted_proxies)

    def applies(self, scope: Scope) -> bool:
        """Whether this request came over TLS as far as we can trust."""
        if self.always or scope.get("scheme") == "https":
            return True
        client = scope.get("client")
        if not self.trusted or not client:
            return False
        try:
            address = ipaddress.ip_address(client[0])
        except ValueError:
            return False
        if not any(address in network for network in self.trusted):
            return False
        return any(k == b"x-forwarded-proto" and v.split(b",")[0].strip() == b"https" for k, v in scope["headers"])


class RequestContextMiddleware:
    """Pure ASGI: request id in and out, security headers, access log without secrets, latency metrics."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics | None = None,
        logger_name: str = "kam.access",
        hsts: HstsPolicy | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.log = logging.getLogger(logger_name)
        self.hsts = hsts or HstsPolicy()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if _VALID_REQUEST_ID.match(candidate):
                    request_id = candidate
                break
        request_id = request_id or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status_holder = {"status": 500}
        secure = self.hsts.applies(scope)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                if secure:
                    headers.append(HSTS_HEADER)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            route_path = getattr(route, "path", None) or "unmatched"
            if self.metrics is not None:
                self.metrics.requests.labels(scope["method"], route_path, str(status_holder["status"])).inc()
                self.metrics.latency.labels(scope["method"], route_path).observe(elapsed)
            # Route templates, not raw paths or query strings: no personal data or tokens in the access log.
            self.log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "route": route_path,
                    "status": status_holder["status"],
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )


ReadinessCheck = Callable[[], Awaitable[None]]
