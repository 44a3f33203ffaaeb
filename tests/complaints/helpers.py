"""Small builders for the complaints tests: an app on a frozen clock, accounts, complaints, outbox reads."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from services.complaints.app import create_app
from services.complaints.config import ComplaintsSettings
from services.complaints.models import platform
from shared.clock import Clock
from shared.events import AccountRegistered, AccountTierChanged
from tests.support import auth, register_users, service_settings

# Monday 2 March 2026, 09:00 in Beijing.
MONDAY_9AM_BEIJING = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

SUPERVISOR = auth("supervisor", user_id="sup-wang")
LI = auth("account_manager", user_id="am-li")
ZHANG = auth("account_manager", user_id="am-zhang")
VIEWER = auth("viewer", user_id="viewer-zhao")

# The people the tests name, as the gateway announces them (identity.user_registered): owners, assignees and
# approvers must be known, active users fit for the job (the ladder's people are supervisors).
STAFF: tuple[tuple[str, list[str]], ...] = (
    ("sup-wang", ["supervisor"]),
    ("director", ["supervisor"]),
    ("am-li", ["account_manager"]),
    ("am-zhang", ["account_manager"]),
    ("qa-sun", ["account_manager"]),
    ("wl-zhou", ["account_manager"]),
    ("viewer-zhao", ["viewer"]),
)
# Department staff on every test account's team (so they can be given its tasks and actions).
TASK_FORCE: tuple[str, ...] = ("qa-sun", "wl-zhou")


async def register_staff(app: FastAPI) -> None:
    """Announce ``STAFF`` to a running app once (``register_account`` does it before the first account)."""
    if not getattr(app.state, "test_staff_registered", False):
        await register_users(app, STAFF)
        app.state.test_staff_registered = True


def make_app(database_url: str, clock: Clock, nats_url: str | None = None, **overrides: Any) -> FastAPI:
    """A complaints app on the given database and clock (no NATS unless a URL is given)."""
    overrides.setdefault("sla_check_enabled", False)  # tests run the SLA check themselves, deterministically
    overrides.setdefault("periodic_jobs", False)  # and every other job (none runs between a test's steps)
    settings = service_settings(ComplaintsSettings, database_url=database_url, nats_url=nats_url, **overrides)
    return create_app(settings, clock=clock)


async def register_account(
    app: FastAPI,
    *,
    name: str = "华为技术有限公司",
    owner_id: str = "am-li",
    tier: str | None = None,
    team: tuple[str, ...] = TASK_FORCE,
) -> str:
    """Put an account into the projection through the real handlers (as if it came over NATS), after the staff."""
    await register_staff(app)
    account_id = str(uuid.uuid4())
    event = AccountRegistered(
        source="scoring",
        account_id=account_id,
        data={"name": name, "industry": "制造业", "owner_id": owner_id, "tier": tier, "team_member_ids": list(team)},
    )
    await app.state.consumer.process(event)
    return account_id


async def change_tier(app: FastAPI, account_id: str, old: str | None, new: str) -> None:
    """Deliver an ``accounts.tier_changed`` event to the app's handlers."""
    event = AccountTierChanged(
        source="scoring", account_id=account_id, data={"old_tier": old, "new_tier": new, "reason": "年度评审"}
    )
    await app.state.consumer.process(event)


async def open_complaint(
    client: httpx.AsyncClient,
    account_id: str,
    *,
    severity: str = "high",
    headers: dict[str, str] | None = None,
    **kw: Any,
) -> dict[str, Any]:
    """Open a complaint through the API and return its body."""
    body = {
        "account_id": account_id,
        "title": "批次质量问题",
        "description": "第三季度交付的一批控制器出现故障，客户要求尽快答复。",
        "channel": "phone",
        "category": "product_quality",
        "severity": severity,
        "reporter_name": "刘工",
        "reporter_contact": "liu@example.cn",
        **kw,
    }
    response = await client.post("/complaints", json=body, headers=headers or SUPERVISOR)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def outbox_events(app: FastAPI, complaint_id: str | None = None) -> list[dict[str, Any]]:
    """The events this app wrote to its outbox (optionally those about one complaint), in order."""
    async with app.state.db.transaction() as session:
        payloads = (
            (await session.execute(select(platform.outbox.c.payload).order_by(platform.outbox.c.seq))).scalars().all()
        )
    events = [json.loads(p) for p in payloads]
    if complaint_id is not None:
        events = [e for e in events if e["data"].get("complaint_id") == complaint_id]
    return events


def parse_time(value: str) -> datetime:
    """An RFC 3339 string as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
