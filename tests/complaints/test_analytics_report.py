"""The analytics report counted by the database (improvement/report.py) is the report ``compute_analytics`` gives
over the same complaints, one row each: any complaints (open, resolved, reopened, breached, rated, with or without
owner and root cause), any caller (the whole portfolio or an account manager's accounts), any period and zone
(business months across a DST change). Hypothesis on SQLite; a seeded random portfolio on every backend."""

from __future__ import annotations

import asyncio
import random
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert

from services.complaints.improvement import analytics, report, service
from services.complaints.intake.models import Complaint
from services.complaints.intake.schemas import ComplaintFilters
from services.complaints.models import Base, platform
from services.complaints.reference.models import Category
from shared.auth import Principal
from shared.db import Database

ACCOUNTS = ("acc-1", "acc-2", "acc-3", "acc-4")
OWNERS = (None, "am-li", "am-zhang", "ghost")  # "ghost": an owner the users projection does not know
CATEGORIES = ("quality", "delivery", "billing", "no-label")  # "no-label": not in the taxonomy
START = datetime(2025, 10, 1, tzinfo=UTC)
SUPERVISOR = Principal("sup-wang", frozenset({"supervisor"}))
LI = Principal("am-li", frozenset({"account_manager"}))
ZONES = ("Asia/Shanghai", "America/New_York", "UTC")
# The minutes after START at which a business month starts in one of the zones: a complaint opened exactly then
# is that month's, one a minute earlier the month before's.
MONTH_STARTS = sorted(
    {
        int((bound - START).total_seconds() // 60) + shift
        for zone in ZONES
        for _, bound in report.month_starts(START, START + timedelta(days=420), ZoneInfo(zone))
        for shift in (-1, 0)
        if bound > START
    }
)


def complaint_row(spec: dict[str, Any]) -> dict[str, Any]:
    """A stored complaint from a drawn spec (every figure the report reads, the rest plain)."""
    opened = START + timedelta(minutes=spec["opened_after"])
    resolved = opened + timedelta(minutes=spec["resolved_after"]) if spec["resolved_after"] is not None else None
    closed = resolved + timedelta(minutes=spec["closed_after"]) if resolved and spec["closed_after"] else None
    breached = opened + timedelta(hours=30)
    return {
        "id": str(uuid.uuid4()),
        "account_id": spec["account"],
        "title": "投诉：交付延迟",
        "description": "测试",
        "channel": "phone",
        "category": spec["category"],
        "severity": spec["severity"],
        "state": "closed" if closed else ("resolved" if resolved else "in_progress"),
        "owner_id": spec["owner"],
        "opened_by": "am-li",
        "opened_at": opened,
        "policy_tier": spec["tier"],
        "hours_mode": "calendar",
        "first_response_minutes": spec["first_minutes"],
        "first_response_within_sla": None if spec["first_minutes"] is None else spec["first_minutes"] <= 60,
        "first_response_breached_at": breached if spec["first_breached"] else None,
        "resolution_started_at": opened,
        "resolved_at": resolved,
        "resolution_minutes": spec["resolved_after"],
        "resolution_within_sla": None if spec["resolved_after"] is None else spec["resolved_after"] <= 1440,
        "resolution_breached_at": breached if spec["resolution_breached"] else None,
        "resolution_legs": spec["legs"],
        "resolution_legs_met": min(spec["legs"], spec["legs_met"]),
        "resolution_minutes_total": spec["legs_minutes"] if spec["legs"] else 0,
        "closed_at": closed,
        "reopen_count": spec["reopens"],
        "satisfaction": spec["satisfaction"],
        "root_cause_category": spec["root_cause"],
        "updated_at": opened,
    }


SPECS = st.fixed_dictionaries(
    {
        "account": st.sampled_from(ACCOUNTS),
        "owner": st.sampled_from(OWNERS),
        "category": st.sampled_from(CATEGORIES),
        "severity": st.sampled_from(["critical", "high", "medium", "low"]),
        "tier": st.sampled_from(["default", "strategic", "key"]),
        # about 14 months from 1 October 2025, minute by minute: month ends in every zone are drawn too
        "opened_after": st.one_of(st.integers(0, 600_000), st.sampled_from(MONTH_STARTS)),
        "first_minutes": st.one_of(st.none(), st.integers(0, 300)),
        "first_breached": st.booleans(),
        "resolved_after": st.one_of(st.none(), st.integers(1, 90_000)),
        "resolution_breached": st.booleans(),
        "closed_after": st.one_of(st.none(), st.integers(1, 60_000)),
        "legs": st.integers(0, 3),
        "legs_met": st.integers(0, 3),
        "legs_minutes": st.integers(0, 200_000),
        "reopens": st.integers(0, 2),
        "satisfaction": st.one_of(st.none(), st.integers(1, 5)),
        "root_cause": st.sampled_from([None, "", "process", "people", "supplier"]),
    }
)
PERIODS = st.one_of(
    st.none(),
    st.tuples(st.integers(0, 300_000), st.integers(1, 400_000)).map(
        lambda p: (START + timedelta(minutes=p[0]), START + timedelta(minutes=p[0] + p[1]))
    ),
)


async def _seed(db: Database, rows: list[dict[str, Any]]) -> None:
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    async with db.transaction() as session:
        await session.execute(
            insert(platform.accounts),
            [{"account_id": a, "name": f"客户 {a}", "updated_at": now} for a in ACCOUNTS[:-1]],  # acc-4: unknown
        )
        await session.execute(
            insert(platform.account_access), [{"account_id": a, "user_id": "am-li"} for a in ("acc-1", "acc-3")]
        )
        await session.execute(
            insert(platform.users),
            [{"user_id": u, "display_name": f"名 {u}", "event_time": now} for u in ("am-li", "am-zhang")],
        )
        await session.execute(
            insert(Category),
            [{"code": c, "label_zh": f"类 {c}", "label_en": c} for c in CATEGORIES if c != "no-label"],
        )
        if rows:
            await session.execute(insert(Complaint), rows)


async def _both(db: Database, actor: Principal, filters: ComplaintFilters, zone: str) -> tuple[Any, Any]:
    async with db.transaction(write=False) as session:
        counted = await report.complaint_report(session, actor=actor, filters=filters, zone=ZoneInfo(zone))
        facts = await service.analytics_facts(session, actor=actor, filters=filters)
        names = await service.analytics_names(session, facts)
    return counted, analytics.compute_analytics(facts, zone=ZoneInfo(zone), names=names)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    specs=st.lists(SPECS, max_size=25),
    manager=st.booleans(),
    period=PERIODS,
    account=st.sampled_from([None, "acc-1", "acc-2"]),
    zone=st.sampled_from(ZONES),
)
def test_the_counted_report_is_the_report_over_every_complaint(specs, manager, period, account, zone):
    async def scenario() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(f"sqlite+aiosqlite:///{tmp}/complaints.db")
            try:
                await _seed(db, [complaint_row(spec) for spec in specs])
                filters = ComplaintFilters(
                    account_id=account,
                    opened_from=period[0] if period else None,
                    opened_to=period[1] if period else None,
                )
                counted, expected = await _both(db, LI if manager else SUPERVISOR, filters, zone)
                assert counted == expected
            finally:
                await db.dispose()

    asyncio.run(scenario())


def _random_spec(rng: random.Random) -> dict[str, Any]:
    def maybe(value: Any) -> Any:
        return value if rng.random() < 0.7 else None

    return {
        "account": rng.choice(ACCOUNTS),
        "owner": rng.choice(OWNERS),
        "category": rng.choice(CATEGORIES),
        "severity": rng.choice(["critical", "high", "medium", "low"]),
        "tier": rng.choice(["default", "strategic", "key"]),
        "opened_after": rng.choice(MONTH_STARTS) if rng.random() < 0.2 else rng.randrange(600_000),
        "first_minutes": maybe(rng.randrange(300)),
        "first_breached": rng.random() < 0.2,
        "resolved_after": maybe(rng.randrange(1, 90_000)),
        "resolution_breached": rng.random() < 0.2,
        "closed_after": maybe(rng.randrange(1, 60_000)),
        "legs": rng.randrange(4),
        "legs_met": rng.randrange(4),
        "legs_minutes": rng.randrange(200_000),
        "reopens": rng.randrange(3),
        "satisfaction": maybe(rng.randrange(1, 6)),
        "root_cause": rng.choice([None, "", "process", "people", "supplier", "tooling", "design", "training"]),
    }


async def test_on_every_backend_the_counted_report_is_the_report_over_every_complaint(make_database):
    rng = random.Random(20261204)
    db = Database(await make_database("complaints"))
    try:
        await _seed(db, [complaint_row(_random_spec(rng)) for _ in range(400)])
        year = ComplaintFilters(opened_from=START + timedelta(days=60), opened_to=START + timedelta(days=425))
        for actor, filters, zone in (
            (SUPERVISOR, ComplaintFilters(), "Asia/Shanghai"),
            (SUPERVISOR, year, "America/New_York"),
            (LI, year, "Asia/Shanghai"),
            (SUPERVISOR, ComplaintFilters(account_id="acc-4", severity="high"), "UTC"),
        ):
            counted, expected = await _both(db, actor, filters, zone)
            assert counted == expected
            assert counted["total"] > 0 and counted["trend"]  # the cases are not empty ones
        empty = ComplaintFilters(opened_from=START - timedelta(days=9), opened_to=START - timedelta(days=1))
        counted, expected = await _both(db, SUPERVISOR, empty, "Asia/Shanghai")
        assert counted == expected and counted["total"] == 0
    finally:
        await db.dispose()


def test_month_starts_follow_the_zone_and_end_with_the_month_after():
    shanghai = ZoneInfo("Asia/Shanghai")
    # 31 March 16:30 UTC is 1 April 00:30 in Shanghai: April's month
    bounds = report.month_starts(datetime(2026, 3, 31, 16, 30, tzinfo=UTC), datetime(2026, 5, 2, tzinfo=UTC), shanghai)
    assert [label for label, _ in bounds] == ["2026-04", "2026-05", ""]
    assert bounds[0][1] == datetime(2026, 3, 31, 16, 0, tzinfo=UTC)
    assert bounds[-1][1] == datetime(2026, 5, 31, 16, 0, tzinfo=UTC)
