"""Alembic per service: ``env.py`` calls ``run_env``; start-up calls ``upgrade_to_head``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import Database


def alembic_config(migrations_dir: Path, url: str | None = None) -> Config:
    """An Alembic config for one service's migrations folder (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("path_separator", "os")
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _configure_and_run(connection: Connection, metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_env(metadata: MetaData) -> None:
    """The body of every service's ``migrations/env.py``."""
    config = context.config
    connection: Connection | None = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection, metadata)
        return
    url = config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    async def _online() -> None:
        assert url is not None
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(_configure_and_run, metadata)
        await engine.dispose()

    asyncio.run(_online())


def _upgrade(connection: Connection, config: Config) -> None:
    if connection.dialect.name == "postgresql":
        # Replicas starting together migrate one at a time.
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('kam-migrations'))"))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade_to_head(db: Database, migrations_dir: Path) -> None:
    """Apply this service's migrations to its database."""
    config = alembic_config(migrations_dir)
    async with db.engine.begin() as conn:
        await conn.run_sync(_upgrade, config)


def current_heads(migrations_dir: Path) -> Any:
    """The head revisions of a migrations folder."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(migrations_dir)).get_heads()
