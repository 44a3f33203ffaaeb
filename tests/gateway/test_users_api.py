"""The users API on an in-process gateway (no NATS): what each change writes to the outbox, in the same
transaction; the input contract; and users never published before published once at start-up."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI
from sqlalchemy import select, update

from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.models import User
from shared.nats_server import free_port
from tests.gateway.platform import seed_users
from tests.support import auth, running, service_settings

ADMIN = auth("admin", user_id="root")


def _app(tmp_path: Path) -> FastAPI:
    dead = f"http://127.0.0.1:{free_port()}"
    settings = service_settings(
        GatewaySettings,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
        nats_url=None,
        **{f"{name}_url": dead for name in ("scoring", "complaints", "risk", "goals")},
        password_time_cost=1,
        password_memory_kib=1024,
    )
    return create_app(settings)


async def _identity_events(app: FastAPI, user_id: str) -> list[tuple[str, dict[str, Any]]]:
    """(type, data) of every identity event in the gateway's outbox about one user, oldest first."""
    outbox = app.state.spec.tables.outbox
    async with app.state.db.transaction(write=False) as session:
        rows = (await session.execute(select(outbox.c.payload).order_by(outbox.c.seq))).scalars().all()
    events = [orjson.loads(row) for row in rows]
    return [
        (e["type"], e["data"]) for e in events if e["type"].startswith("identity.") and e["data"]["user_id"] == user_id
    ]


async def test_each_visible_change_writes_its_identity_event_to_the_outbox_and_an_invisible_one_none(tmp_path: Path):
    app = _app(tmp_path)
    async with running(app, headers=ADMIN) as client:
        await seed_users(app, {"root": ["admin"]})
        body = {"user_id": "am-li", "name": "李经理", "password": "li-password-1", "roles": ["account_manager"]}
        assert (await client.post("/api/v1/users", json={**body, "email": "li@example.cn"})).status_code == 201
        assert [t for t, _ in await _identity_events(app, "am-li")] == ["identity.user_registered"]

        async def patch(change: dict[str, Any]) -> list[str]:
            """The identity events this change wrote."""
            before = len(await _identity_events(app, "am-li"))
            response = await client.patch("/api/v1/users/am-li", json=change)
            assert response.status_code == 200, response.text
            return [t for t, _ in await _identity_events(app, "am-li")][before:]

        assert await patch({"password": "a-new-password-2"}) == []  # nobody else sees a password
        assert await patch({"roles": ["account_manager"], "name": "李经理"}) == []  # the same as before
        assert await patch({"channels": {"wecom": "LiLei"}}) == ["identity.user_updated"]
        assert await patch({"roles": ["account_manager", "supervisor"]}) == ["identity.user_updated"]
        assert await patch({"active": False}) == ["identity.user_deactivated"]
        assert await patch({"active": False}) == []  # already inactive
        assert await patch({"active": True}) == ["identity.user_updated"]
        assert await patch({"email": None}) == ["identity.user_updated"]

        events = await _identity_events(app, "am-li")
        assert len(events) == 6
        assert events[0][1] == {
            "user_id": "am-li",
            "display_name": "李经理",
            "roles": ["account_manager"],
            "active": True,
            "email": "li@example.cn",
            "channels": {},
        }
        assert events[3][1]["active"] is False and events[4][1]["active"] is True
        assert events[-1][1] == {**events[4][1], "email": None}
        read = (await client.get("/api/v1/users/am-li")).json()
        assert read["email"] is None and read["channels"] == {"wecom": "LiLei"} and read["active"] is True


async def test_bad_user_input_is_a_422_naming_the_field(tmp_path: Path):
    app = _app(tmp_path)
    async with running(app, headers=ADMIN) as client:
        await seed_users(app, {"root": ["admin"], "am-li": ["account_manager"]})
        good = {"user_id": "u-new", "password": "long-enough-1", "roles": ["viewer"]}
        bad_creates = {
            "is_superuser": {**good, "is_superuser": True},  # unknown fields are refused, not ignored
            "published_at": {**good, "published_at": "2026-01-01T00:00:00Z"},
            "channels": {**good, "channels": {"telegram": "@li"}},  # a channel the platform does not know
            "email": {**good, "email": "not-an-address"},
            "roles": {**good, "roles": ["emperor"]},
            "user_id": {**good, "user_id": "有空格 的id"},
            "password": {**good, "password": "short"},
        }
        for field, body in bad_creates.items():
            response = await client.post("/api/v1/users", json=body)
            assert response.status_code == 422, (field, response.status_code)
            assert field in response.text, (field, response.text)
        for field, change in {
            "user_id": {"user_id": "someone-else"},
            "roles": {"roles": []},
            "channels": {"channels": {"wecom": ""}},
            "active": {"active": "sometimes"},
        }.items():
            response = await client.patch("/api/v1/users/am-li", json=change)
            assert response.status_code == 422 and field in response.text, (field, response.text)
        assert (await client.patch("/api/v1/users/nobody", json={"name": "x"})).status_code == 404
        assert (await client.get("/api/v1/users/" + "x" * 101)).status_code == 422
        assert (await client.delete("/api/v1/api-keys/not-hex!")).status_code == 422
        assert (await client.post("/api/v1/api-keys", json={"name": "ERP", "owner": "x"})).status_code == 422
        huge = await client.post("/api/v1/auth/token", data={"username": "am-li", "password": "p" * 100_000})
        assert huge.status_code == 422 and "password" in huge.text  # never hashed
        refresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": "x" * 20, "user_id": "root"})
        assert refresh.status_code == 422 and "user_id" in refresh.text


async def test_users_never_published_are_published_once_when_the_gateway_starts(tmp_path: Path):
    first = _app(tmp_path)
    async with running(first):  # as a gateway from before users were published left them
        await seed_users(first, {"old-timer": ["supervisor"], "gone": ["account_manager"]})
        async with first.state.db.transaction() as session:
            await session.execute(update(User).values(published_at=None))
            await session.execute(update(User).where(User.user_id == "gone").values(active=False))
            await session.execute(first.state.spec.tables.outbox.delete())

    second = _app(tmp_path)
    async with running(second):
        assert await _identity_events(second, "old-timer") == [
            (
                "identity.user_registered",
                {
                    "user_id": "old-timer",
                    "display_name": "",
                    "roles": ["supervisor"],
                    "active": True,
                    "email": None,
                    "channels": {},
                },
            )
        ]
        gone = await _identity_events(second, "gone")
        assert [(t, d["active"]) for t, d in gone] == [("identity.user_registered", False)]
        async with second.state.db.transaction(write=False) as session:
            stamps = list(await session.scalars(select(User.published_at)))
        assert all(s is not None and s <= datetime.now(UTC) for s in stamps)

    third = _app(tmp_path)
    async with running(third):  # once: a restart publishes nothing again
        assert len(await _identity_events(third, "old-timer")) == 1
        assert len(await _identity_events(third, "gone")) == 1
