"""Helpers for scoring tests: an app on a fresh database, valid credit codes, account payloads, outbox reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from services.scoring.app import create_app
from services.scoring.config import ScoringSettings
from services.scoring.credit_code import check_character
from services.scoring.models import platform
from shared.clock import FrozenClock
from tests.support import service_settings

NOW = datetime(2026, 11, 15, 9, 0, tzinfo=UTC)


def credit_code(serial: int) -> str:
    """A valid unified social credit code (correct check digit) for a serial number."""
    first17 = f"91310000{serial:09d}"
    return first17 + check_character(first17)


def scoring_app(
    database_url: str, *, nats_url: str | None = None, clock: FrozenClock | None = None, **overrides: Any
) -> FastAPI:
    """The scoring app on a database, with a frozen clock and the scheduled re-score off unless asked."""
    overrides.setdefault("scheduled_rescore", False)
    settings = service_settings(ScoringSettings, database_url=database_url, nats_url=nats_url, **overrides)
    return create_app(settings, clock=clock or FrozenClock(NOW))


def account_payload(name: str = "上海汽车集团股份有限公司", **fields: Any) -> dict[str, Any]:
    """A registration body."""
    body: dict[str, Any] = {"name": name, "industry": "汽车", "region": "华东", "owner_id": "am-li"}
    body.update(fields)
    return body


async def outbox_events(app: FastAPI, event_type: str | None = None) -> list[dict[str, Any]]:
    """Events written to the outbox (optionally of one type), in order."""
    table = platform.outbox
    async with app.state.db.transaction() as session:
        rows = (await session.execute(select(table.c.payload).order_by(table.c.seq))).scalars().all()
    events = [json.loads(r) for r in rows]
    return [e for e in events if event_type is None or e["type"] == event_type]


SIMPLE_MODEL: dict[str, Any] = {
    "indicators": [
        {
            "code": "annual_purchases",
            "weight": "60",
            "normalisation": {"method": "bounds", "min": "0", "max": "10000000"},
        },
        {"code": "industry_leadership", "weight": "40", "normalisation": {"method": "bounds", "min": "0", "max": "10"}},
    ],
    "tiers": {"thresholds": {"strategic": "80", "key": "60", "growth": "30"}},
}
