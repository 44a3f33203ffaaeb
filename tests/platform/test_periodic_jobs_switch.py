"""One switch, on every service, for the periodic jobs a process runs (``periodic_jobs``): on by default, off for a
replica that only serves requests and for tests that drive the jobs themselves — nothing runs between their steps."""

from __future__ import annotations

import asyncio
import importlib

import pytest

from kam.registry import SERVICES
from tests.support import running, service_settings


def _app(name: str, database_url: str, **overrides):
    info = SERVICES[name]
    settings = service_settings(type(info.settings()), database_url=database_url, nats_url=None, **overrides)
    return importlib.import_module(f"{info.module}.app").create_app(settings)


def _job_tasks() -> set[str]:
    return {t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("job-") and not t.done()}


@pytest.mark.parametrize("name", sorted(SERVICES))
async def test_the_periodic_jobs_run_unless_switched_off(name, sqlite_database):
    async with running(_app(name, await sqlite_database(f"{name}-on"))):
        on = _job_tasks()
    async with running(_app(name, await sqlite_database(f"{name}-off"), periodic_jobs=False)):
        off = _job_tasks()
    assert "job-bus-retention" in on  # every service keeps its bus tables pruned
    assert off == set()
