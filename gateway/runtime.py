"""What a running gateway holds: upstream clients, the view cache, access index, rate limiters, merged OpenAPI."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import httpx
import orjson
from fastapi import FastAPI, Request
from sqlalchemy import Table
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from gateway.access import AccessIndex
from gateway.cache import SectionCache
from gateway.config import GatewaySettings
from gateway.edge import RateLimiter
from gateway.identity import Passwords
from gateway.limits import Limit, LimitStore, LoginThrottle, SharedRateLimit
from gateway.models import RateLimitBucket, idempotency_keys
from gateway.openapi import merge_openapi
from gateway.upstream import CircuitBreaker, Upstream, probe_forever
from gateway.user_index import UserIndex
from gateway.users import USERS_CHANGED
from shared.auth import Principal
from shared.bus.nats import NatsBus
from shared.idempotency import prune_keys

if TYPE_CHECKING:
    from gateway.composition import FetchedSection

# Core NATS subject on which a replica tells the others that a write through it changed an account's views (the
# services' events on ``kam.>`` reach every replica anyway; this covers the moment before they arrive).
INVALIDATION_SUBJECT = "kamgw.views.changed"
PRUNE_SECONDS = 60.0


class GatewayRuntime:
    """Built at start-up, closed at shutdown (``app.state.runtime``)."""

    def __init__(self, app: FastAPI, settings: GatewaySettings) -> None:
        self.app = app
        self.settings = settings
        self.upstreams: dict[str, Upstream] = {
            name: Upstream(
                name,
                settings.service_url(name),
                timeout=settings.timeout_for(name),
                retries=settings.read_retries,
                breaker=CircuitBreaker(
                    threshold=settings.breaker_failure_threshold, reset_seconds=settings.breaker_reset_seconds
                ),
            )
            for name in settings.proxied_services()
        }
        self.passwords = Passwords(time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib)
        self.cache: SectionCache[FetchedSection] = SectionCache(
            ttl_seconds=settings.cache_ttl_seconds, refresh_after_seconds=settings.cache_refresh_after_seconds
        )
        self.access = AccessIndex(app.state.db, app.state.spec.tables)
        self.users = UserIndex(app.state.db, ttl_seconds=settings.user_check_seconds)
        # Shared by every replica (the gateway's database): the API limit per caller, login throttling.
        self.limit_store = LimitStore(
            app.state.db,
            cast(Table, RateLimitBucket.__table__),
            now=lambda: float(app.state.clock.now().timestamp()),
        )
        self.api_limit = SharedRateLimit(
            self.limit_store,
            "api",
            Limit(settings.rate_limit_per_minute, settings.rate_limit_burst),
            lease=settings.rate_limit_lease,
            lease_seconds=settings.rate_limit_lease_seconds,
        )
        login_per_client = Limit(
            settings.login_rate_limit_per_minute, max(5, settings.login_rate_limit_per_minute // 3)
        )
        self.logins = LoginThrottle(
            self.limit_store,
            per_client=login_per_client,
            per_account=Limit(settings.login_account_rate_limit_per_minute, settings.login_account_burst),
        )
        # Per process, for the web console until it uses ``api_limit`` and ``logins`` too.
        self.limiter = RateLimiter(per_minute=settings.rate_limit_per_minute, burst=settings.rate_limit_burst)
        self.login_limiter = RateLimiter(per_minute=login_per_client.per_minute, burst=login_per_client.burst)
        self.replica_id = uuid.uuid4().hex  # tells this replica's invalidation messages from the others'
        self.service_docs: dict[str, dict[str, Any] | None] = dict.fromkeys(self.upstreams)
        self.merged_openapi: dict[str, Any] | None = None
        self.key_tokens: dict[str, tuple[float, str]] = {}
        self.verified_tokens: dict[str, tuple[float, Principal]] = {}  # bearer token → (expiry, principal)
        # (bearer token, roles the user still holds) → the narrowed principal and the token forwarded for it
        self.narrowed_tokens: dict[tuple[str, frozenset[str]], tuple[Principal, str]] = {}
        self.subscribed = False
        self._was_connected = False
        self._tasks: list[asyncio.Task[Any]] = []
        self._subscription: Any = None
        self._invalidations: Any = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Run the probes, the OpenAPI fetching (never delaying start-up) and the event listener."""
        sa_event.listen(self.app.state.db.session_class, "after_commit", self._users_committed)
        self._tasks.append(asyncio.create_task(probe_forever(self.upstreams, self.settings.health_probe_seconds)))
        self._tasks.append(asyncio.create_task(self._openapi_loop()))
        self._tasks.append(asyncio.create_task(self._listen_for_changes()))
        self._tasks.append(asyncio.create_task(self._prune_forever()))

    async def stop(self) -> None:
        """Cancel background work and close connections."""
        sa_event.remove(self.app.state.db.session_class, "after_commit", self._users_committed)
        for task in [*self._tasks, *self.cache.background]:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for subscription in (self._subscription, self._invalidations):
            if subscription is not None:
                with contextlib.suppress(Exception):
                    await subscription.unsubscribe()
        for upstream in self.upstreams.values():
            await upstream.close()

    # ------------------------------------------------------------------ OpenAPI

    async def refresh_openapi(self) -> None:
        """Fetch every service's document (those that answer replace what was there)."""

        async def fetch(name: str) -> None:
            try:
                response = await self.upstreams[name].client.get("/openapi.json", timeout=10.0)
                if response.status_code == 200 and (doc := response.json()) != self.service_docs[name]:
                    self.service_docs[name] = doc
                    self.merged_openapi = None  # rebuilt (with the proxy's method index) only when a doc changed
            except (httpx.HTTPError, ValueError):
                pass

        await asyncio.gather(*(fetch(n) for n in self.upstreams))

    async def _openapi_loop(self) -> None:
        await self.refresh_openapi()
        refreshed = time.monotonic()
        while True:
            await asyncio.sleep(self.settings.openapi_refresh_seconds)
            if any(doc is None for doc in self.service_docs.values()) or time.monotonic() - refreshed > 60:
                await self.refresh_openapi()
                refreshed = time.monotonic()

    def openapi(self, gateway_doc: dict[str, Any]) -> dict[str, Any]:
        """The merged document (rebuilt when a service's document arrives)."""
        if self.merged_openapi is None:
            self.merged_openapi = merge_openapi(gateway_doc, self.service_docs)
        return self.merged_openapi

    # ------------------------------------------------------------------ cache invalidation

    @property
    def cache_active(self) -> bool:
        """The cache is only used while the change feed is live (otherwise changes could be missed)."""
        bus: NatsBus | None = self.app.state.bus
        return self.settings.cache_enabled and self.subscribed and bus is not None and bus.connected

    def changed(self, account_id: str | None, *, accounts_changed: bool = False) -> None:
        """Something changed for an account (None: unknown): drop its sections now and again shortly, because a
        service may update derived data after consuming another's event."""
        self._forget(account_id, accounts_changed=accounts_changed)
        loop = asyncio.get_running_loop()
        for delay in self.settings.cache_reinvalidate_after_seconds:
            loop.call_later(delay, functools.partial(self._forget, account_id, accounts_changed=accounts_changed))

    async def wrote(self, account_id: str | None, *, accounts_changed: bool = False) -> None:
        """A write through this replica changed an account (None: unknown): drop its sections here and tell every
        other replica at once (core NATS, flushed to the server before the response; were it lost, the service's
        event and the TTL still bound what another replica serves)."""
        self.changed(account_id, accounts_changed=accounts_changed)
        bus: NatsBus | None = self.app.state.bus
        if bus is None or bus.nc is None or not bus.connected:
            return
        message = {"origin": self.replica_id, "account_id": account_id, "accounts_changed": accounts_changed}
        with contextlib.suppress(Exception):
            await bus.nc.publish(INVALIDATION_SUBJECT, orjson.dumps(message))
            await bus.nc.flush(timeout=1)

    async def _on_invalidation(self, msg: Any) -> None:
        try:
            message = orjson.loads(msg.data)
        except orjson.JSONDecodeError:
            message = None
        if not isinstance(message, dict):
            self.changed(None, accounts_changed=True)
            return
        if message.get("origin") == self.replica_id:
            return
        account_id = message.get("account_id")
        self.changed(
            account_id if isinstance(account_id, str) else None,
            accounts_changed=bool(message.get("accounts_changed")),
        )

    def _forget(self, account_id: str | None, *, accounts_changed: bool) -> None:
        self.cache.invalidate(account_id)
        if accounts_changed:
            self.access.clear()  # an owner or team may have changed

    def _users_committed(self, session: Session) -> None:
        """A transaction that changed users committed: their next request reads their standing again."""
        for user_id in session.info.pop(USERS_CHANGED, ()):
            self.users.forget(user_id)

    async def _on_event(self, msg: Any) -> None:
        try:
            envelope = orjson.loads(msg.data)
            account_id = envelope.get("account_id")
            event_type = str(envelope.get("type", ""))
        except (orjson.JSONDecodeError, AttributeError):
            envelope, account_id, event_type = {}, None, ""
        if event_type.startswith("identity."):  # a user changed (perhaps through another replica); no section did
            data = envelope.get("data")
            user_id = data.get("user_id") if isinstance(data, dict) else None
            self.users.forget(user_id if isinstance(user_id, str) else None)
            return
        self.changed(
            account_id if isinstance(account_id, str) else None, accounts_changed=event_type.startswith("accounts.")
        )

    async def _listen_for_changes(self) -> None:
        """Subscribe to every domain's events on this replica (core NATS, new messages only: no shared state).

        While the connection is down the cache is bypassed; after a reconnect it starts empty.
        """
        bus: NatsBus | None = self.app.state.bus
        if bus is None:
            return
        await bus.wait_connected(timeout=None)
        assert bus.nc is not None
        self._subscription = await bus.nc.subscribe("kam.>", cb=self._on_event)
        self._invalidations = await bus.nc.subscribe(INVALIDATION_SUBJECT, cb=self._on_invalidation)
        await bus.nc.flush()
        self.subscribed = True
        self._was_connected = True
        while True:
            await asyncio.sleep(0.1)
            connected = bus.connected
            if connected and not self._was_connected:  # events may have been missed meanwhile
                self._forget(None, accounts_changed=True)
                self.users.forget()
            self._was_connected = connected

    async def _prune_forever(self) -> None:
        """Delete full buckets now and then (any replica may; a missing bucket is a full one) and expired
        Idempotency-Keys."""
        while True:
            await asyncio.sleep(PRUNE_SECONDS)
            with contextlib.suppress(Exception):
                await self.limit_store.prune()
            with contextlib.suppress(Exception):
                retention = timedelta(hours=self.settings.idempotency_retention_hours)
                await prune_keys(self.app.state.db, idempotency_keys, now=datetime.now(UTC), retention=retention)


def runtime_of(request: Request) -> GatewayRuntime:
    """The running gateway's state."""
    runtime: GatewayRuntime = request.app.state.runtime
    return runtime
