"""Edge protection: request body limit (413) and per-caller rate limits (429 + Retry-After)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import ContentTooLarge, DomainError, problem


class TooManyRequests(DomainError):
    """A caller over its rate limit (carries Retry-After)."""

    status, code = 429, "too-many-requests"


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per caller (user id, API key or client address), refilled at ``per_minute``/60 per second."""

    def __init__(self, *, per_minute: int, burst: int, now: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.now = now
        self.buckets: dict[str, _Bucket] = {}

    def check(self, key: str) -> None:
        """Take one token or raise 429 with the seconds until one is available."""
        now = self.now()
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) > 100_000:  # bound memory: forget idle callers
                self.buckets.clear()
            bucket = self.buckets[key] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens < 1.0:
            retry_after = max(1, math.ceil((1.0 - bucket.tokens) / self.rate))
            raise TooManyRequests(
                "Rate limit exceeded; retry later", headers={"Retry-After": str(retry_after)}, retry_after=retry_after
            )
        bucket.tokens -= 1.0


class BodyLimitMiddleware:
    """Pure ASGI: refuse bodies over ``max_bytes`` with 413 problem+json (declared or streamed)."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, upload_paths: Sequence[str] = (), max_upload_bytes: int = 0
    ) -> None:
        self.app = app
        self.default_max_bytes = max_bytes
        self.upload_paths = frozenset(p.rstrip("/") for p in upload_paths)
        self.max_upload_bytes = max(max_upload_bytes, max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["method"] == "POST" and scope["path"].rstrip("/") in self.upload_paths
        await self._limited(scope, receive, send, self.max_upload_bytes if upload else self.default_max_bytes)

    async def _limited(self, scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > max_bytes:
                    await self._reject(scope, receive, send, max_bytes)
                    return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise ContentTooLarge(f"Request body is larger than {max_bytes} bytes")
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except ContentTooLarge:
            if not started:
                await self._reject(scope, receive, send, max_bytes)

    async def _reject(self, scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
        refusal = ContentTooLarge(f"Request body is larger than {max_bytes} bytes")
        response = problem(refusal.status, refusal.detail, code=refusal.code, request=Request(scope))
        await response(scope, receive, send)


class BadPath(DomainError):
    """A path the gateway will not route: control characters in it."""

    status, code = 400, "bad-path"


class UnroutablePath(DomainError):
    """A path that names nothing: dot segments, empty segments or an encoded slash."""

    status, code = 404, "not-found"


class MethodNotAllowed(DomainError):
    """A documented path called with a method it does not answer; ``Allow`` names the ones it does."""

    status, code = 405, "method-not-allowed"

    def __init__(self, method: str, path: str, allowed: Iterable[str]) -> None:
        methods = sorted(allowed)
        super().__init__(
            f"{method} is not allowed on {path}; allowed: {', '.join(methods)}",
            headers={"Allow": ", ".join(methods)},
            allowed=methods,
        )


ENCODED_SEPARATORS = (b"%2f", b"%5c")  # an encoded "/" or "\\" would let a path smuggle extra segments


def path_refusal(raw_path: bytes, path: str) -> DomainError | None:
    """Why a request path must not be routed (checked before routing, so nothing odd is ever forwarded)."""
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in path):
        return BadPath("The path contains a control character")
    lowered = raw_path.lower()
    if any(sep in lowered for sep in ENCODED_SEPARATORS) or "\\" in path:
        return UnroutablePath("Not found: the path contains an encoded separator")
    segments = path.split("/")[1:]
    if any(s in (".", "..") for s in segments) or any(s == "" for s in segments[:-1]):
        return UnroutablePath("Not found: the path contains dot or empty segments")
    return None


class PathGuardMiddleware:
    """Pure ASGI: refuse control characters (400), dot or empty segments and encoded separators (404)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = path_refusal(scope.get("raw_path") or scope["path"].encode(), scope["path"])
            if refusal is not None:
                response = problem(refusal.status, refusal.detail, code=refusal.code, request=Request(scope))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
