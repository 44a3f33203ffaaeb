"""Builds a service's FastAPI app: lifespan (database, migrations, NATS, relay, consumers, jobs) and routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry, Gauge, Histogram
from sqlalchemy import Table, func, select
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from starlette.middleware import Middleware

from shared.api import Instant, PageParams, RequestBody, page_params
from shared.api_docs import install_api_docs
from shared.audit import REQUEST_ID_INFO, SERVICE_INFO, audit_router
from shared.auth import ADMIN, Principal, TokenVerifier, require_roles
from shared.bus.consumer import EventConsumer, HandlerContext, Handlers, list_dead_letters, replay_dead_letter
from shared.bus.nats import NatsBus
from shared.bus.outbox import OUTBOX_FLAG, OutboxRelay
from shared.bus.publish import Publisher
from shared.bus.retention import RetentionMetrics, prune, republish
from shared.clock import Clock, SystemClock
from shared.conditional import ConditionalGetMiddleware
from shared.db import Database, PlatformTables
from shared.errors import PROBLEM_RESPONSES, ServiceUnavailable, Unprocessable, install_error_handlers
from shared.export import ListExportMiddleware, document_list_export
from shared.idempotency import CallerOf, IdempotencyMiddleware, PathFilter, bearer_caller, every_path, prune_keys
from shared.migrations import upgrade_to_head
from shared.observability import (
    CONTENT_TYPE_METRICS,
    HstsPolicy,
    Metrics,
    RequestContextMiddleware,
    configure_logging,
    require_metrics_reader,
)
from shared.openapi import install_openapi_conventions
from shared.query_guard import QUERY_GUARD
from shared.settings import ServiceSettings

log = logging.getLogger("kam.service")
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READINESS_DATABASE_SECONDS = 2.0
READINESS_BUSY_LIMIT_SECONDS = 30.0


@dataclass(frozen=True)
class PeriodicJob:
    """A job run every ``interval_seconds`` (timers are stored in the database; this only wakes them)."""

    name: str
    run: Callable[[FastAPI], Awaitable[Any]]
    interval_seconds: float | None = None  # None: the settings' timer_interval_seconds


@dataclass(frozen=True)
class ServiceSpec:
    """What makes one service: its name, tables, migrations, routes, handlers and jobs."""

    name: str
    title: str
    tables: PlatformTables
    migrations_dir: Path
    routers: Sequence[APIRouter] = ()
    publishes: Sequence[str] = ()
    handlers: Handlers = field(default_factory=dict)
    jobs: Sequence[PeriodicJob] = ()
    description: str = ""
    version: str = "0.1.0"
    on_start: Callable[[FastAPI], Awaitable[None]] | None = None
    # The typed extras handed to this service's handlers as ``HandlerContext.extra`` (built once, after on_start).
    handler_extra: Callable[[FastAPI], Any] | None = None
    # The audit log of sensitive actions (shared.audit.audit_table), read at ``/<name>/audit``; None: none kept.
    audit: Table | None = None
    # The POST paths that honour ``Idempotency-Key`` (shared.idempotency; every POST of a service) and who their
    # caller is (a bearer token; the gateway also knows API keys). Installed when the metadata has the table.
    idempotent_paths: PathFilter = every_path
    idempotency_caller: CallerOf = bearer_caller


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent; rolled back on error."""
    db: Database = request.app.state.db
    async with db.transaction(write=request.method not in READ_METHODS) as session:
        # What an audit entry written in this transaction names (shared.audit.record_audit).
        session.info[REQUEST_ID_INFO] = getattr(request.state, "request_id", None)
        session.info[SERVICE_INFO] = request.app.state.spec.name
        yield session


async def get_publisher(request: Request) -> Publisher:
    """The service's publisher (its name, outbox and clock)."""
    publisher: Publisher = request.app.state.publisher
    return publisher


async def get_clock(request: Request) -> Clock:
    """The app's clock (injectable in tests)."""
    clock: Clock = request.app.state.clock
    return clock


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


ClockDep = Annotated[Clock, Depends(get_clock)]
PublisherDep = Annotated[Publisher, Depends(get_publisher)]
AdminPrincipal = Annotated[Principal, Depends(require_roles(ADMIN))]


def _ops_router(spec: ServiceSpec) -> APIRouter:
    router = APIRouter(tags=["ops"])

    @router.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": spec.name}

    @router.get("/readyz", summary="Readiness: database writable; broker state (reconnecting is degraded)")
    async def readyz(request: Request) -> JSONResponse:
        return await readiness(request.app, spec.name)

    @router.get(
        "/metrics",
        summary="Prometheus metrics (the scraper's bearer token, KAM_METRICS_TOKEN, or an admin)",
        dependencies=[Depends(require_metrics_reader)],
        responses={403: PROBLEM_RESPONSES[403]},
    )
    async def metrics(request: Request) -> Response:
        return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_METRICS)

    return router


async def readiness(app: FastAPI, service: str) -> JSONResponse:
    """200 ``ready`` or ``degraded`` (the broker is away: writes wait in the outbox; or the database is busy with a
    long write), 503 ``unavailable`` when the database refuses writes, stays busy past
    ``READINESS_BUSY_LIMIT_SECONDS``, or the broker connection is closed for good (docs/RELIABILITY.md)."""
    now = time.monotonic()
    try:
        await asyncio.wait_for(app.state.db.check_writable(), timeout=READINESS_DATABASE_SECONDS)
        database = "writable"
        app.state.readiness_busy_since = None
    except TimeoutError:
        # The probe waited behind another writer (a re-score, a demo load): busy is not broken — unless it lasts.
        since = getattr(app.state, "readiness_busy_since", None) or now
        app.state.readiness_busy_since = since
        waited = now - since
        database = "busy" if waited < READINESS_BUSY_LIMIT_SECONDS else f"not writable: busy for {waited:.0f} s"
    except Exception as exc:
        database = f"not writable: {type(exc).__name__}"
    bus: NatsBus | None = app.state.bus
    broker = "disabled" if bus is None else bus.state
    if database.startswith("not writable") or broker == "closed":
        status = "unavailable"
    else:
        status = "ready" if database == "writable" and broker in ("connected", "disabled") else "degraded"
    body = {"status": status, "service": service, "database": database, "broker": broker}
    return JSONResponse(body, status_code=503 if status == "unavailable" else 200)


def _admin_router(spec: ServiceSpec) -> APIRouter:
    router = APIRouter(prefix=f"/{spec.name}/admin", tags=[f"{spec.name}: operations"], responses=PROBLEM_RESPONSES)

    @router.get("/dead-letters", summary="Events that failed their handlers too often")
    async def dead_letters(
        request: Request,
        _: AdminPrincipal,
        page: Annotated[PageParams, Depends(page_params)],
        status: str | None = None,
    ) -> dict[str, Any]:
        items, total = await list_dead_letters(
            request.app.state.db, spec.tables, status=status, limit=page.limit, offset=page.offset
        )
        return {"items": items, "total": total, "limit": page.limit, "offset": page.offset}

    @router.post("/dead-letters/{dead_letter_id}/replay", summary="Run a dead-lettered event again")
    async def replay(request: Request, dead_letter_id: int, _: AdminPrincipal) -> dict[str, Any]:
        consumer: EventConsumer | None = request.app.state.consumer
        if consumer is None:
            raise ServiceUnavailable("This service consumes no events")
        result = await replay_dead_letter(consumer, dead_letter_id)
        await _refresh_dead_letter_gauge(request.app)
        return result

    @router.get("/users", summary="The users this service knows (its identity projection)")
    async def known_users(
        request: Request,
        _: AdminPrincipal,
        page: Annotated[PageParams, Depends(page_params)],
        user_id: Annotated[list[str] | None, Query(max_length=200)] = None,
    ) -> dict[str, Any]:
        users = spec.tables.users
        query = select(users).order_by(users.c.user_id)
        count = select(func.count()).select_from(users)
        if user_id:
            query, count = query.where(users.c.user_id.in_(user_id)), count.where(users.c.user_id.in_(user_id))
        async with request.app.state.db.transaction(write=False) as session:
            rows = (await session.execute(query.limit(page.limit).offset(page.offset))).mappings().all()
            total = int(await session.scalar(count) or 0)
        return {"items": [dict(r) for r in rows], "total": total, "limit": page.limit, "offset": page.offset}

    @router.post("/outbox/republish", summary="Re-send events already published (recovery after a broker loss)")
    async def outbox_republish(request: Request, body: RepublishRequest, _: AdminPrincipal) -> dict[str, Any]:
        if body.until is not None and body.until <= body.since:
            raise Unprocessable("until: must be after since", field="until")
        result = await republish(
            request.app.state.db, spec.tables.outbox, since=body.since, until=body.until, dry_run=body.dry_run
        )
        if not body.dry_run and request.app.state.relay is not None:
            request.app.state.relay.wake()
        return {"service": spec.name, **asdict(result)}

    @router.get("/outbox", summary="Outbox backlog")
    async def outbox(request: Request, _: AdminPrincipal) -> dict[str, Any]:
        table = spec.tables.outbox
        async with request.app.state.db.transaction(write=False) as session:
            pending = await session.scalar(select(func.count()).select_from(table).where(table.c.sent_at.is_(None)))
            sent = await session.scalar(select(func.count()).select_from(table).where(table.c.sent_at.is_not(None)))
        return {"pending": int(pending or 0), "sent": int(sent or 0)}

    return router


class RepublishRequest(RequestBody):
    """Which published events to send again: those sent in ``[since, until)``."""

    since: Instant
    until: Instant | None = None
    dry_run: bool = False


class LockWaitMetrics:
    """How long SQLite write transactions waited for the write lock (``BEGIN IMMEDIATE``), measured in the service:
    the figure behind "no write waits more than 1 s" (docs/RELIABILITY.md). Nothing is observed on PostgreSQL."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.waits = Histogram(
            "kam_db_write_lock_wait_seconds",
            "SQLite write-lock wait of each write transaction",
            buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0),
            registry=registry,
        )
        self.longest = Gauge(
            "kam_db_write_lock_wait_longest_seconds", "Longest SQLite write-lock wait since start", registry=registry
        )

    def watch(self, db: Database) -> None:
        """Observe this database's lock waits."""
        db.lock_wait_observer = self.waits.observe
        self.longest.set_function(lambda: db.longest_lock_wait_seconds)


async def _prune_bus(app: FastAPI) -> None:
    settings: ServiceSettings = app.state.settings
    tables: PlatformTables = app.state.spec.tables
    await prune(
        app.state.db,
        outbox=tables.outbox,
        inbox=tables.inbox,
        now=datetime.now(UTC),
        outbox_retention_days=settings.outbox_retention_days,
        inbox_retention_days=settings.inbox_retention_days,
        metrics=app.state.retention_metrics,
    )
    keys = tables.outbox.metadata.tables.get("idempotency_keys")
    if keys is not None:
        retention = timedelta(hours=settings.idempotency_retention_hours)
        await prune_keys(app.state.db, keys, now=datetime.now(UTC), retention=retention)


async def _refresh_dead_letter_gauge(app: FastAPI) -> None:
    table = app.state.spec.tables.dead_letters
    async with app.state.db.transaction(write=False) as session:
        count = await session.scalar(select(func.count()).select_from(table).where(table.c.status == "pending"))
    app.state.metrics.dead_letters.set(int(count or 0))


async def _run_job(app: FastAPI, job: PeriodicJob, interval: float) -> None:
    while True:
        try:
            await job.run(app)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("periodic job failed", extra={"job": job.name})
        await asyncio.sleep(interval)


def _start_bus(app: FastAPI, spec: ServiceSpec, settings: ServiceSettings, stack: AsyncExitStack) -> NatsBus:
    """Connect NATS and start the outbox relay (woken by every commit that wrote to the outbox)."""
    db: Database = app.state.db
    metrics: Metrics = app.state.metrics
    bus = NatsBus(
        settings.nats_url,
        name=spec.name,
        stream_replicas=settings.nats_stream_replicas,
        user=settings.nats_user,
        password=settings.nats_password,
    )
    app.state.bus = bus
    relay = OutboxRelay(
        db=db,
        outbox=spec.tables.outbox,
        bus=bus,
        batch_size=settings.relay_batch_size,
        poll_seconds=settings.relay_poll_seconds,
        lease_seconds=settings.relay_lease_seconds,
        on_backlog=metrics.outbox_backlog.set,
    )
    app.state.relay = relay

    def _wake_relay(session: Session) -> None:
        if session.info.pop(OUTBOX_FLAG, False):
            relay.wake()

    sa_event.listen(db.session_class, "after_commit", _wake_relay)
    stack.push_async_callback(bus.close)
    stack.callback(sa_event.remove, db.session_class, "after_commit", _wake_relay)
    stack.push_async_callback(relay.stop)
    return bus


def _consumer(
    app: FastAPI, spec: ServiceSpec, settings: ServiceSettings, context: HandlerContext[Any]
) -> EventConsumer:
    """The service's inbox consumer (without NATS, tests drive it through ``consumer.process``)."""
    metrics: Metrics = app.state.metrics
    bus: NatsBus = app.state.bus or NatsBus(
        settings.nats_url,
        name=spec.name,
        stream_replicas=settings.nats_stream_replicas,
        user=settings.nats_user,
        password=settings.nats_password,
    )
    return EventConsumer(
        db=app.state.db,
        bus=bus,
        context=context,
        handlers=spec.handlers,
        batch_size=settings.consumer_batch_size,
        max_attempts=settings.consumer_max_attempts,
        retry_delay=settings.consumer_retry_delay_seconds,
        ack_wait=settings.consumer_ack_wait_seconds,
        on_lag=lambda stream, lag: metrics.consumer_lag.labels(stream).set(lag),
        on_dead_letter=metrics.dead_letters.inc,
        on_handled=lambda t, outcome: metrics.events_handled.labels(t, outcome).inc(),
    )


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def _ensure_streams(bus: NatsBus, domains: Sequence[str]) -> None:
    if await bus.wait_connected(timeout=None) and domains:
        with contextlib.suppress(Exception):
            await bus.ensure_streams(domains)


async def _run_service(app: FastAPI, spec: ServiceSpec, settings: ServiceSettings, stack: AsyncExitStack) -> None:
    """Start everything a service runs; ``stack`` closes it in reverse order."""
    db = Database(settings.database_url, echo=settings.database_echo)
    app.state.db = db
    app.state.lock_wait_metrics.watch(db)
    stack.push_async_callback(db.dispose)
    if settings.run_migrations:
        await upgrade_to_head(db, spec.migrations_dir)
    if spec.on_start is not None:
        await spec.on_start(app)
    context = HandlerContext[Any](
        service=spec.name,
        tables=spec.tables,
        publisher=app.state.publisher,
        clock=app.state.clock,
        extra=spec.handler_extra(app) if spec.handler_extra is not None else None,
    )
    tasks: list[asyncio.Task[None]] = []
    if settings.nats_enabled:
        bus = _start_bus(app, spec, settings, stack)
        await bus.start()
        tasks.append(asyncio.create_task(_ensure_streams(bus, spec.publishes)))
        app.state.relay.start()
    if spec.handlers:
        consumer = _consumer(app, spec, settings, context)
        app.state.consumer = consumer
        if settings.nats_enabled:
            consumer.start()
            stack.push_async_callback(consumer.stop)
    with contextlib.suppress(Exception):
        await _refresh_dead_letter_gauge(app)
    prune_job = PeriodicJob("bus-retention", _prune_bus, settings.prune_interval_seconds)
    for job in [*spec.jobs, prune_job] if settings.periodic_jobs else []:
        interval = job.interval_seconds or settings.timer_interval_seconds
        tasks.append(asyncio.create_task(_run_job(app, job, interval), name=f"job-{job.name}"))
    stack.push_async_callback(_cancel, tasks)  # pushed last: the background tasks stop first


def build_service_app(spec: ServiceSpec, settings: ServiceSettings, *, clock: Clock | None = None) -> FastAPI:
    """Create the FastAPI app of a service."""
    configure_logging(spec.name, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            await _run_service(app, spec, settings, stack)
            yield

    app = FastAPI(
        title=spec.title,
        description=spec.description,
        version=spec.version,
        lifespan=lifespan,
        responses={401: PROBLEM_RESPONSES[401]},
        docs_url=None,  # served from shipped assets by install_api_docs (no CDN)
        redoc_url=None,
        dependencies=[QUERY_GUARD],  # an unknown query parameter is a 422 naming it (shared.query_guard)
    )
    app.state.settings = settings
    app.state.spec = spec
    app.state.clock = clock or SystemClock()
    app.state.publisher = Publisher(service=spec.name, outbox=spec.tables.outbox, clock=app.state.clock)
    app.state.metrics = Metrics(spec.name)
    app.state.retention_metrics = RetentionMetrics(app.state.metrics.registry)
    app.state.lock_wait_metrics = LockWaitMetrics(app.state.metrics.registry)
    app.state.bus = None
    app.state.relay = None
    app.state.consumer = None
    app.state.token_verifier = TokenVerifier(
        secret=settings.jwt_secret,
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        algorithm=settings.jwt_algorithm,
    )
    install_error_handlers(app)
    install_api_docs(app)
    hsts = HstsPolicy(always=settings.hsts_enabled, trusted_proxies=settings.forwarded_proto_trusted_from)
    app.add_middleware(ConditionalGetMiddleware)  # inside the request context: a 304 carries its headers too
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics, hsts=hsts)
    idempotency_keys = spec.tables.outbox.metadata.tables.get("idempotency_keys")
    if idempotency_keys is not None:  # innermost: its problems carry the request id, its replays the headers
        app.user_middleware.append(
            Middleware(
                IdempotencyMiddleware,
                table=idempotency_keys,
                secret=settings.jwt_secret,
                applies=spec.idempotent_paths,
                caller=spec.idempotency_caller,
            )
        )
    # Innermost: a list asked for as CSV/XLSX is fetched page by page through the routes (shared.export).
    app.user_middleware.append(Middleware(ListExportMiddleware))
    app.include_router(_ops_router(spec))
    app.include_router(_admin_router(spec))
    if spec.audit is not None:
        app.include_router(audit_router(spec.audit, path=f"/{spec.name}/audit", tag=f"{spec.name}: audit"))
    for router in spec.routers:
        app.include_router(router)
    install_openapi_conventions(app, idempotent=spec.idempotent_paths if idempotency_keys is not None else None)
    _document_list_export(app)
    return app


def _document_list_export(app: FastAPI) -> None:
    """The document declares ``format`` (and the CSV/XLSX answers) on every list route (once per document)."""
    base = app.openapi
    done: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        document = base()
        if not done or done[0] is not document:
            done[:] = [document_list_export(document)]
        return document

    app.openapi = openapi  # type: ignore[method-assign]
