"""Async database plumbing: one engine and session factory per service, SQLite (WAL) or PostgreSQL."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    event,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import await_only

from shared import sqlite_driver
from shared.clock import ensure_aware

WRITE_OPTION = "kam_write_transaction"

# How long a SQLite writer waits for the database lock before its request is answered 503 + Retry-After
# (nothing stored). Half the gateway's upstream timeout (10 s), so a write is answered by the service before the
# gateway would have to say 504 (outcome unknown). docs/RELIABILITY.md.
SQLITE_LOCK_BUDGET_SECONDS = 5.0
# WAL with synchronous=FULL: a committed (answered) write survives a power cut, not only a process crash; measured
# cost in docs/RELIABILITY.md (scripts/measure_durability.py).
SQLITE_SYNCHRONOUS = "FULL"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def make_metadata() -> MetaData:
    """A MetaData with the house constraint naming convention."""
    return MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[Any]):
    """Instants on every backend: stored in UTC (SQLite keeps only the wall clock), read back as aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        # Convert before SQLite drops the offset: 10:00+08:00 must be stored as 02:00, not as 10:00.
        return ensure_aware(value).astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return ensure_aware(value)


def Money() -> Numeric[Decimal]:
    """Money amounts: exact decimals with 4 places (PostgreSQL NUMERIC; SQLite keeps 15 significant digits)."""
    return Numeric(20, 4, asdecimal=True)


@dataclass(frozen=True)
class PlatformTables:
    """The tables every service has besides its own: outbox, inbox, dead letters and the accounts projection."""

    outbox: Table
    inbox: Table
    dead_letters: Table
    accounts: Table
    account_access: Table
    users: Table


def _bus_tables(metadata: MetaData) -> tuple[Table, Table, Table]:
    """The outbox, inbox and dead letters of a service."""
    outbox = Table(
        "outbox",
        metadata,
        Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("subject", String(200), nullable=False),
        Column("payload", Text, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("sent_at", UTCDateTime, nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("last_error", Text, nullable=True),
        # The relay's lease (shared/bus/outbox.py): claimed in one short transaction, published with none open.
        Column("claimed_until", UTCDateTime, nullable=True),
        Column("claimed_by", String(100), nullable=True),
    )
    Index("ix_outbox_pending", outbox.c.sent_at, outbox.c.seq)
    inbox = Table(
        "inbox",
        metadata,
        Column("event_id", String(36), primary_key=True),
        Column("event_type", String(100), nullable=False),
        Column("processed_at", UTCDateTime, nullable=False),
    )
    dead_letters = Table(
        "dead_letters",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, index=True),
        Column("event_type", String(100), nullable=False),
        Column("subject", String(200), nullable=False),
        Column("payload", Text, nullable=False),
        Column("error", Text, nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("replayed_at", UTCDateTime, nullable=True),
        Column("status", String(20), nullable=False, default="pending"),
    )
    return outbox, inbox, dead_letters


def add_platform_tables(metadata: MetaData) -> PlatformTables:
    """Define the bus and projection tables on a service's metadata."""
    outbox, inbox, dead_letters = _bus_tables(metadata)
    accounts = Table(
        "account_projection",
        metadata,
        Column("account_id", String(36), primary_key=True),
        Column("name", String(300), nullable=False, default=""),
        Column("name_en", String(300), nullable=True),
        Column("industry", String(100), nullable=True),
        Column("region", String(100), nullable=True),
        Column("status", String(30), nullable=True),
        Column("tier", String(30), nullable=True),
        Column("owner_id", String(100), nullable=True, index=True),
        Column("team_member_ids", JSON, nullable=False, default=list),
        Column("updated_at", UTCDateTime, nullable=False),
        Column("active", Boolean, nullable=False, default=True),
        # The newest account event applied to each group of fields, as "<UTC time> <event id>" (shared/projection.py):
        # an older event arriving later (redelivery, reordering) changes nothing. NULL: written locally, or never.
        Column("info_version", String(80), nullable=True),
        Column("tier_version", String(80), nullable=True),
        Column("owner_version", String(80), nullable=True),
    )
    # Who may see an account: its owner and team members (one row each), for SQL-side visibility filters.
    account_access = Table(
        "account_access",
        metadata,
        Column("account_id", String(36), primary_key=True),
        Column("user_id", String(100), primary_key=True),
        Column("relation", String(20), nullable=False, default="member"),
    )
    Index("ix_account_access_user", account_access.c.user_id, account_access.c.account_id)
    # The users every service knows from identity.* events: who may own, approve or be told about a thing.
    users = Table(
        "user_projection",
        metadata,
        Column("user_id", String(100), primary_key=True),
        Column("display_name", String(200), nullable=False, default=""),
        Column("roles", JSON, nullable=False, default=list),
        Column("active", Boolean, nullable=False, default=True),
        Column("email", String(320), nullable=True),
        Column("channels", JSON, nullable=False, default=dict),
        Column("event_time", UTCDateTime, nullable=False),  # the newest identity event applied (order-tolerant)
        Column("event_id", String(36), nullable=True),  # its id: events of equal time are ordered by id
    )
    return PlatformTables(
        outbox=outbox,
        inbox=inbox,
        dead_letters=dead_letters,
        accounts=accounts,
        account_access=account_access,
        users=users,
    )


def is_sqlite(url: str) -> bool:
    """Whether a database URL is SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def _begin_immediate(conn: Any) -> float:
    """``BEGIN IMMEDIATE``; returns how long it waited for the write lock, timed in aiosqlite's worker thread (the
    lock wait alone, not the hand-off back to a busy event loop). Other drivers: timed around the statement."""
    aio = getattr(conn.connection.dbapi_connection, "_connection", None)
    if aio is None or not hasattr(aio, "_execute"):
        started = time.perf_counter()
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        return time.perf_counter() - started
    raw = aio._conn

    def _begin() -> float:
        started = time.perf_counter()
        raw.execute("BEGIN IMMEDIATE")
        return time.perf_counter() - started

    try:
        return float(await_only(aio._execute(_begin)))
    except sqlite3.Error as exc:  # the raw driver error (read-only, full, locked): wrapped as SQLAlchemy does
        raise DBAPIError.instance("BEGIN IMMEDIATE", None, exc, sqlite3.Error) from exc


def make_engine(url: str, *, echo: bool = False, on_lock_wait: Callable[[float], None] | None = None) -> AsyncEngine:
    """Create the service's engine; SQLite gets WAL, foreign keys and a busy timeout.

    ``on_lock_wait`` is told, for every SQLite write transaction, how long its ``BEGIN IMMEDIATE`` waited for the
    database's write lock (the lock wait itself, measured in the service, not a client's round trip)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url, echo=echo, module=sqlite_driver.dbapi(), connect_args={"timeout": SQLITE_LOCK_BUDGET_SECONDS}
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # We issue BEGIN ourselves (below), so the driver must not open transactions implicitly.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={SQLITE_SYNCHRONOUS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_LOCK_BUDGET_SECONDS * 1000)}")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Writers take the write lock up front (BEGIN IMMEDIATE) and wait for it (busy_timeout);
            # a deferred read that later upgrades to a write could fail at once with SQLITE_BUSY.
            if not conn.get_execution_options().get(WRITE_OPTION, False):
                conn.exec_driver_sql("BEGIN")
                return
            waited = _begin_immediate(conn)
            if on_lock_wait is not None:
                on_lock_wait(waited)

        return engine
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True)


class Database:
    """A service's engine and session factory; ``transaction()`` is the unit of work."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        # The longest SQLite write-lock wait so far and an optional observer (the service's metric).
        self.longest_lock_wait_seconds = 0.0
        self.lock_wait_observer: Callable[[float], None] | None = None
        self.engine = make_engine(url, echo=echo, on_lock_wait=self._lock_waited)
        # A class of our own so session events (e.g. waking the outbox relay) stay scoped to this database.
        self.session_class: type[Session] = type("KamSession", (Session,), {})
        self.sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, autoflush=True, sync_session_class=self.session_class
        )
        # Same pool; on SQLite these transactions start with BEGIN IMMEDIATE (no effect on PostgreSQL).
        self.write_sessions = async_sessionmaker(
            self.engine.execution_options(**{WRITE_OPTION: True}),
            expire_on_commit=False,
            autoflush=True,
            sync_session_class=self.session_class,
        )

    def _lock_waited(self, seconds: float) -> None:
        self.longest_lock_wait_seconds = max(self.longest_lock_wait_seconds, seconds)
        if self.lock_wait_observer is not None:
            self.lock_wait_observer(seconds)

    @asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[AsyncSession]:
        """One transaction: committed on success, rolled back on any error.

        ``write=False`` marks a read-only unit of work (on SQLite it does not take the write lock).
        """
        factory = self.write_sessions if write else self.sessions
        async with factory() as session, session.begin():
            yield session

    async def ping(self) -> None:
        """Raise if the database cannot be reached."""
        from sqlalchemy import text

        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def check_writable(self) -> None:
        """Raise unless the database takes a committed write now (readiness: read-only, full or locked fails).

        SQLite: bump ``PRAGMA user_version`` (unused by Alembic) in a write transaction — a real page write, so a
        read-only file or a full disk fails here as a request's write would. PostgreSQL: refuse a standby or a
        read-only default transaction.
        """
        from sqlalchemy import text

        async with self.transaction() as session:
            if is_sqlite(self.url):
                version = int(await session.scalar(text("PRAGMA user_version")) or 0)
                await session.execute(text(f"PRAGMA user_version = {(version + 1) % 2_000_000_000}"))
            else:
                row = (
                    await session.execute(
                        text("SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only')")
                    )
                ).one()
                if row[0] or row[1] == "on":
                    raise RuntimeError("the database is read-only")

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
