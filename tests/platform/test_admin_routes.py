"""The shared admin routes every service carries (``/<svc>/admin/outbox/republish``): one contract for input and
access on every service, so the per-service body tables need not restate them."""

from __future__ import annotations

import importlib

import pytest

from kam.registry import SERVICES
from tests.support import auth, running, service_settings

SINCE = "2026-11-30T08:00:00+08:00"


def _app(name: str, database_url: str):
    info = SERVICES[name]
    settings = service_settings(type(info.settings()), database_url=database_url, nats_url=None)
    return importlib.import_module(f"{info.module}.app").create_app(settings)


@pytest.mark.parametrize("name", sorted(SERVICES))
async def test_republish_refuses_unknown_fields_naive_times_and_non_admins(name, sqlite_database):
    app = _app(name, await sqlite_database(name))
    url = f"/{name}/admin/outbox/republish"
    async with running(app, headers=auth("admin")) as client:
        unknown = await client.post(url, json={"since": SINCE, "zz_unknown": 1})
        naive = await client.post(url, json={"since": "2026-11-30T08:00:00"})
        dry = await client.post(url, json={"since": SINCE, "dry_run": True})
        as_supervisor = await client.post(url, json={"since": SINCE, "dry_run": True}, headers=auth("supervisor"))
    assert unknown.status_code == 422 and [e["field"] for e in unknown.json()["errors"]] == ["zz_unknown"]
    assert naive.status_code == 422 and [e["field"] for e in naive.json()["errors"]] == ["since"]
    assert dry.status_code == 200, dry.text
    assert as_supervisor.status_code == 403
