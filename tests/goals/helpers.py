"""Building blocks for the goals tests: an app, accounts in its projection, targets and sales."""

from __future__ import annotations

import tempfile
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from services.goals.app import create_app
from services.goals.config import GoalsSettings
from shared.clock import FrozenClock
from shared.events import AccountRegistered, FxRateSet, FxRateSetData
from tests.support import auth, register_users, service_settings

SUPERVISOR = auth("supervisor", user_id="sup-wang")
LI = auth("account_manager", user_id="am-li")
ZHANG = auth("account_manager", user_id="am-zhang")
VIEWER = auth("viewer", user_id="viewer-zhao")
# The people the tests act as, as the gateway announces them (owners, assignees and approvers are checked).
TEAM = [
    ("sup-wang", ["supervisor"]),
    ("am-li", ["account_manager"]),
    ("am-zhang", ["account_manager"]),
    ("viewer-zhao", ["viewer"]),
    ("u-admin", ["admin"]),
]


async def register_team(app) -> None:
    """Tell a running app about the test team (identity events through its own consumer)."""
    await register_users(app, TEAM)


def goals_app(database_url: str, *, nats_url: str | None = None, now: datetime | None = None, **overrides: Any):
    """A goals app on a frozen clock (default 2026-07-01, half of fiscal 2026 gone)."""
    clock = FrozenClock(now or datetime(2026, 7, 1, tzinfo=UTC))
    overrides.setdefault("periodic_jobs", False)  # tests run the jobs themselves, between their steps, never beside
    overrides.setdefault("import_spool_dir", tempfile.mkdtemp(prefix="goals-spool-"))  # never the repo's var/
    settings = service_settings(GoalsSettings, database_url=database_url, nats_url=nats_url, **overrides)
    return create_app(settings, clock=clock), clock


async def register_account(
    app, *, name: str, owner_id: str = "am-li", tier: str = "strategic", account_id: str | None = None
) -> str:
    """Put an account into the app's projection as scoring's event would."""
    event = AccountRegistered(
        source="scoring",
        account_id=account_id or str(uuid.uuid4()),
        data={"name": name, "industry": "制造业", "region": "华东", "tier": tier, "owner_id": owner_id},
    )
    await app.state.consumer.process(event)
    assert event.account_id is not None
    return event.account_id


async def create_target(client, headers=SUPERVISOR, **body: Any) -> dict[str, Any]:
    """POST a target and return it (asserting 201)."""
    response = await client.post("/goals/targets", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def approve(client, target_id: str) -> dict[str, Any]:
    """Approve a target as the supervisor."""
    response = await client.post(f"/goals/targets/{target_id}/approve", headers=SUPERVISOR)
    assert response.status_code == 200, response.text
    return response.json()


async def record(client, *records: dict[str, Any], headers=SUPERVISOR) -> dict[str, Any]:
    """POST sales lines."""
    response = await client.post("/goals/actuals", json={"records": list(records)}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def sale(account_id: str, day: str, revenue: str, cost: str = "0", product_line: str = "工业网关", **kw: Any):
    """One sales line."""
    return {"account_id": account_id, "date": day, "product_line": product_line, "revenue": revenue, "cost": cost, **kw}


async def set_fx_rate(app, currency: str, rate: str, valid_on: str, *, base: str = "CNY", time=None) -> None:
    """Apply a dated rate (1 ``currency`` = ``rate`` ``base``) as risk's ``risk.fx_rate_set`` would."""
    data = FxRateSetData(
        currency=currency, base_currency=base, rate=Decimal(rate), valid_on=date.fromisoformat(valid_on)
    )
    extra = {"time": time} if time is not None else {}
    await app.state.consumer.process(FxRateSet(source="risk", data=data, **extra))
