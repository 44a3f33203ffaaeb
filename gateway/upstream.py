"""Calls to the services: per-service timeouts, retries only for idempotent reads, a circuit breaker, and 504
"outcome unknown" for a write that was sent but never answered."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping

import httpx

from shared.errors import DomainError, ServiceUnavailable

log = logging.getLogger("kam.gateway.upstream")

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})
RETRYABLE_STATUS = frozenset({502, 503, 504})
# Failures after the request went out (in part or whole): the service may have acted on it. Connect errors and pool
# timeouts happen before anything is sent.
SENT_WITHOUT_ANSWER: tuple[type[httpx.TransportError], ...] = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)


class CircuitBreaker:
    """Closed → open after ``threshold`` consecutive failures → half-open (one trial) after ``reset_seconds``."""

    def __init__(self, *, threshold: int, reset_seconds: float, now: Callable[[], float] = time.monotonic) -> None:
        self.threshold = threshold
        self.reset_seconds = reset_seconds
        self.now = now
        self.failures = 0
        self.opened_at: float | None = None
        self.trial_in_flight = False

    @property
    def state(self) -> str:
        """closed, open or half-open."""
        if self.opened_at is None:
            return "closed"
        return "half-open" if self.now() - self.opened_at >= self.reset_seconds else "open"

    def allow(self) -> bool:
        """Whether a call may go out now (in half-open, only one trial at a time)."""
        state = self.state
        if state == "closed":
            return True
        if state == "half-open" and not self.trial_in_flight:
            self.trial_in_flight = True
            return True
        return False

    def retry_after(self) -> int:
        """Whole seconds until the next trial."""
        if self.opened_at is None:
            return 1
        return max(1, math.ceil(self.reset_seconds - (self.now() - self.opened_at)))

    def record_success(self) -> None:
        """A call worked: close."""
        self.failures = 0
        self.opened_at = None
        self.trial_in_flight = False

    def record_failure(self) -> None:
        """A call failed: open after enough failures (or at once after a failed trial)."""
        self.failures += 1
        self.trial_in_flight = False
        if self.opened_at is not None or self.failures >= self.threshold:
            self.opened_at = self.now()

    def trip(self) -> None:
        """Open now (the health probe found the service down)."""
        self.failures = max(self.failures, self.threshold)
        self.opened_at = self.now()
        self.trial_in_flight = False


class UpstreamUnavailable(ServiceUnavailable):
    """A service could not be reached; carries Retry-After."""

    def __init__(self, service: str, retry_after: int, reason: str) -> None:
        super().__init__(
            f"The {service} service is unavailable ({reason}); retry later",
            headers={"Retry-After": str(retry_after)},
            service=service,
            retry_after=retry_after,
        )
        self.service = service
        self.reason = reason


HOW_TO_RETRY_A_WRITE = (
    "Retry safely: repeat a create (POST) with the same Idempotency-Key (a completed create is answered again, not "
    "repeated); for a change or removal, GET the resource first and, if the change is not there, send it again "
    "with If-Match set to the ETag just read."
)


class OutcomeUnknown(DomainError):
    """A write was sent but its answer never came (timeout or dropped connection): it may or may not have happened."""

    status, code = 504, "outcome-unknown"

    def __init__(self, service: str, method: str, reason: str) -> None:
        super().__init__(
            f"The {service} service did not answer this {method} ({reason}) after it was sent, so whether it took "
            f"effect is unknown. {HOW_TO_RETRY_A_WRITE}",
            service=service,
            outcome="unknown",
        )
        self.service = service


def _refused_by_a_live_service(response: httpx.Response) -> bool:
    """A prompt 503 with Retry-After is the service itself declining (e.g. its database cannot be written): it is
    alive, so its other routes (reads) must stay reachable — only failures and silence count against the breaker."""
    return response.status_code == 503 and "retry-after" in response.headers


class Upstream:
    """One service: its HTTP client, timeout, retry budget and breaker."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        timeout: float,
        retries: int,
        breaker: CircuitBreaker,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.breaker = breaker
        self.client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            # An idle connection is closed by us before the service's uvicorn closes it (its keep-alive is 5 s): a
            # request sent on a connection the server is closing at that moment is lost ("sent without answer").
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=100, keepalive_expiry=2.0),
        )
        self.probe_tripped = False

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: str | None = None,
        content: bytes | AsyncIterator[bytes] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """Send one request (retrying idempotent reads on transport errors and 502/503/504) or raise 503; a write
        (never retried) sent without an answer raises 504 ``OutcomeUnknown``."""
        if not self.breaker.allow():
            raise UpstreamUnavailable(self.name, self.breaker.retry_after(), "circuit open")
        # Reads are retried; a streamed body can be sent only once.
        attempts = 1 + (self.retries if method in IDEMPOTENT and not isinstance(content, AsyncIterator) else 0)
        reason = "no response"
        url = httpx.URL(path, query=params.encode()) if params else path
        for attempt in range(attempts):
            try:
                response = await self.client.request(
                    method, url, headers=headers, content=content, timeout=timeout or self.timeout
                )
            except SENT_WITHOUT_ANSWER as exc:
                reason = "timed out" if isinstance(exc, httpx.TimeoutException) else "connection dropped"
                if method not in IDEMPOTENT:
                    self.breaker.record_failure()
                    log.warning("write outcome unknown", extra={"upstream": self.name, "reason": reason})
                    raise OutcomeUnknown(self.name, method, reason) from exc
                continue
            except httpx.TimeoutException:
                reason = "timed out"
                continue
            except httpx.TransportError as exc:
                reason = type(exc).__name__
                continue
            if response.status_code in RETRYABLE_STATUS and attempt + 1 < attempts:
                reason = f"status {response.status_code}"
                continue
            if response.status_code >= 500 and not _refused_by_a_live_service(response):
                self.breaker.record_failure()
            else:
                self.breaker.record_success()
            return response
        self.breaker.record_failure()
        log.warning("upstream failed", extra={"upstream": self.name, "reason": reason})
        raise UpstreamUnavailable(self.name, self.breaker.retry_after(), reason)

    async def probe(self, timeout: float) -> bool:
        """Liveness probe: a refused connection (process gone) opens the breaker at once and a later answer
        closes what the probe opened; slowness is left to the real calls' timeouts."""
        try:
            response = await self.client.get("/healthz", timeout=timeout)
        except httpx.ConnectError:
            if self.breaker.state == "closed":
                self.breaker.trip()
                self.probe_tripped = True
            return False
        except httpx.HTTPError:
            return False
        if response.status_code == 200 and self.probe_tripped:
            self.breaker.record_success()
            self.probe_tripped = False
        return response.status_code == 200

    async def close(self) -> None:
        """Close the connection pool."""
        with contextlib.suppress(Exception):
            await self.client.aclose()


async def probe_forever(upstreams: Mapping[str, Upstream], interval: float) -> None:
    """Probe every service's /healthz every ``interval`` seconds."""
    while True:
        await asyncio.gather(*(u.probe(1.0) for u in upstreams.values()), return_exceptions=True)
        await asyncio.sleep(interval)
