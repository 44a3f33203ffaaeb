"""Each app's migrations build exactly the schema its models declare (no drift), on every backend."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from kam.registry import APPS
from shared.db import Database
from shared.migrations import upgrade_to_head


@pytest.mark.parametrize("name", list(APPS))
async def test_migrations_match_models(name, make_database):
    info = APPS[name]
    db = Database(await make_database(f"migrate_{name}"))
    try:
        await upgrade_to_head(db, info.migrations_dir)
        await upgrade_to_head(db, info.migrations_dir)  # idempotent at start-up

        def _diff(connection):
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            return compare_metadata(context, info.metadata())

        async with db.engine.connect() as conn:
            diff = await conn.run_sync(_diff)
        assert diff == [], f"{name}: models and migrations differ; run `kam makemigrations {name}`: {diff}"
    finally:
        await db.dispose()
