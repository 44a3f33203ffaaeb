"""Async database plumbing: one engine and session factory per service, SQLite (WAL) or PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
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
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from shared.clock import ensure_aware

WRITE_OPTION = "kam_write_transaction"

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


def add_platform_tables(metadata: MetaData) -> PlatformTables:
    """Define the bus and projection tables on a service's metadata."""
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


def make_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Create the service's engine; SQLite gets WAL, foreign keys and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # We issue BEGIN ourselves (below), so the driver must not open transactions implicitly.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Writers take the write lock up front (BEGIN IMMEDIATE) and wait for it (busy_timeout);
            # a deferred read that later upgrades to a write could fail at once with SQLITE_BUSY.
            immediate = conn.get_execution_options().get(WRITE_OPTION, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True)


class Database:
    """A service's engine and session factory; ``transaction()`` is the unit of work."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo)
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

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
