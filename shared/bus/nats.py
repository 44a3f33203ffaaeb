"""A NATS connection that reconnects forever and never blocks start-up on the broker being up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from shared.events.catalogue import STREAMS, SUBJECT_PREFIX

log = logging.getLogger("kam.bus")

DUPLICATE_WINDOW_SECONDS = 600.0
STREAM_MAX_AGE_SECONDS = 90 * 24 * 3600.0  # how long a stream keeps events (bounds the inbox retention)


def stream_config(domain: str, *, replicas: int = 1) -> StreamConfig:
    """The one definition of a domain's stream (shared so publisher and consumers agree); ``replicas``: 1 on one
    server, 3 on a cluster (``KAM_NATS_STREAM_REPLICAS``)."""
    return StreamConfig(
        name=STREAMS[domain],
        subjects=[f"{SUBJECT_PREFIX}{domain}.>"],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        max_age=STREAM_MAX_AGE_SECONDS,
        num_replicas=replicas,
    )


def redacted(url: str) -> str:
    """A NATS URL fit for a log line: credentials in it are replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    return f"{scheme}{sep}***@{host}" if at and userinfo else url


class NatsBus:
    """Owns the NATS client; ``connected`` feeds readiness. Initial connection is retried in the background."""

    def __init__(
        self,
        url: str,
        *,
        name: str,
        reconnect_wait: float = 0.5,
        stream_replicas: int = 1,
        user: str | None = None,
        password: str | None = None,
    ) -> None:
        self.url = url
        self.user = user
        self.password = password
        self.stream_replicas = stream_replicas
        self.name = name
        self.reconnect_wait = reconnect_wait
        self.nc: NATS | None = None
        self.js: JetStreamContext | None = None
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._streams: set[str] = set()

    @property
    def connected(self) -> bool:
        """True while the client holds a live connection."""
        return self.nc is not None and self.nc.is_connected

    @property
    def state(self) -> str:
        """``connected``, ``connecting`` (never connected yet), ``reconnecting`` or ``closed`` (for good).

        Readiness reads it: connecting and reconnecting are degraded-but-ready (writes wait in the outbox); only a
        closed connection fails readiness.
        """
        if self.nc is None:
            return "closed" if self._closing else "connecting"
        if self.nc.is_connected:
            return "connected"
        if self.nc.is_closed and not self.nc.is_reconnecting:
            return "closed"
        return "reconnecting"

    async def start(self) -> None:
        """Begin connecting; returns at once (readiness reports the state)."""
        self._task = asyncio.create_task(self._connect_loop(), name=f"nats-connect-{self.name}")

    async def _connect_loop(self) -> None:
        while not self._closing:
            try:
                self.nc = await nats.connect(
                    servers=[self.url],
                    name=self.name,
                    user=self.user,
                    password=self.password,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=self.reconnect_wait,
                    connect_timeout=2,
                    ping_interval=5,
                    max_outstanding_pings=2,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                )
                self.js = self.nc.jetstream(timeout=5)
                self._connected.set()
                log.info("nats connected", extra={"url": redacted(self.url)})
                return
            except Exception as exc:
                log.warning("nats not reachable, retrying", extra={"url": redacted(self.url), "error": str(exc)})
                await asyncio.sleep(self.reconnect_wait)

    async def _on_error(self, exc: Exception) -> None:
        log.debug("nats error: %s", exc)

    async def _on_disconnected(self) -> None:
        log.warning("nats disconnected")

    async def _on_reconnected(self) -> None:
        log.info("nats reconnected")

    async def wait_connected(self, timeout: float | None = None) -> bool:
        """Wait for the first connection; False on timeout."""
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def ensure_streams(self, domains: Iterable[str]) -> None:
        """Create (or confirm) the streams of these domains."""
        assert self.js is not None
        for domain in domains:
            config = stream_config(domain, replicas=self.stream_replicas)
            if config.name in self._streams:
                continue
            try:
                await self.js.add_stream(config)
            except BadRequestError:
                await self.js.update_stream(config)
            self._streams.add(str(config.name))

    async def publish(self, subject: str, payload: bytes, *, msg_id: str) -> None:
        """Publish to JetStream and wait for the stream's ack; ``msg_id`` de-duplicates."""
        if self.js is None or not self.connected:
            raise ConnectionError("NATS is not connected")
        await self.js.publish(subject, payload, headers={"Nats-Msg-Id": msg_id})

    async def close(self) -> None:
        """Stop connecting and close the connection."""
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.nc is not None:
            # Bounded: a close racing a reconnect must not hang the shutdown.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.nc.close(), timeout=5)
