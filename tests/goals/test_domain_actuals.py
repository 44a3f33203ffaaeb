"""Domain tier, actuals: recorded sales drive attainment and at-risk events; totals per account-month; imports."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal as D
from pathlib import Path

import pytest
from sqlalchemy import select

from services.goals.actuals import service
from services.goals.actuals.importer import run_import, start_batch
from services.goals.actuals.schemas import ActualsIn, ImportOptions
from services.goals.actuals.uploads import import_upload
from services.goals.models import platform
from services.goals.targets.schemas import TargetCreate
from services.goals.targets.service import approve_target, create_target, read_target
from shared.errors import Conflict, ContentTooLarge, Forbidden, NotFound, Unprocessable
from tests.goals.domain import LI, SUPERVISOR, VIEWER, goals_domain


def sales(*lines: tuple[str, str, str]) -> ActualsIn:
    """Sales lines of (account, day, revenue), cost 0, 工业网关."""
    return ActualsIn.model_validate(
        {
            "records": [
                {"account_id": a, "date": d, "product_line": "工业网关", "revenue": r, "cost": "0"} for a, d, r in lines
            ]
        }
    )


async def _approved_revenue_target(goals, session, account_id: str, value: str):
    body = TargetCreate(account_id=account_id, metric="revenue", period="2026", target_value=D(value))
    target = await create_target(session, body=body, actor=SUPERVISOR, settings=goals.settings, now=goals.now)
    return await approve_target(
        session, target=target, actor=SUPERVISOR, settings=goals.settings, publisher=goals.publisher, now=goals.now
    )


async def test_recorded_actuals_are_tracked_into_attainment_and_a_drop_below_threshold_publishes_once(sqlite_database):
    async with goals_domain(await sqlite_database("goals")) as goals:  # 2026-07-01: half the year is gone
        account = await goals.add_account("a-1")
        record = {"actor": SUPERVISOR, "settings": goals.settings, "publisher": goals.publisher, "now": goals.now}
        async with goals.session() as session:
            await service.record_actuals(
                session, body=sales(*[(account, f"2026-{m:02d}-05", "100000") for m in range(1, 7)]), **record
            )
            target = await _approved_revenue_target(goals, session, account, "1200000")
            read = await read_target(session, target, settings=goals.settings, today=goals.now.date())
            assert read.tracking is not None
            assert (read.tracking.actual, read.tracking.attainment_pct) == (D(600000), D("50.00"))
            assert read.tracking.forecast == D("1200000.00") and not target.at_risk  # run-rate on track
            await service.record_actuals(session, body=sales((account, "2026-06-28", "-150000")), **record)
            assert target.at_risk and target.last_forecast == D("900000.00")
            await service.record_actuals(session, body=sales((account, "2026-06-29", "-10000")), **record)
            subjects = await goals.events(session)
        assert subjects.count("kam.goals.target_at_risk") == 1  # one per transition into at-risk
        assert subjects.count("kam.goals.actuals_recorded") == 6 + 1 + 1  # once per account-month touched


async def test_each_touched_account_month_is_published_once_with_its_new_totals(sqlite_database):
    async with goals_domain(await sqlite_database("goals")) as goals:
        a, b = await goals.add_account("a-1"), await goals.add_account("a-2")
        async with goals.session() as session:
            recorded = await service.record_actuals(
                session,
                body=sales((a, "2026-03-01", "100"), (a, "2026-03-09", "50.5"), (b, "2026-04-01", "7")),
                actor=SUPERVISOR,
                settings=goals.settings,
                publisher=goals.publisher,
                now=goals.now,
            )
            published = recorded.account_months
            assert [(p.account_id, p.period, p.revenue) for p in published] == [
                (a, "2026-03", D("150.5")),
                (b, "2026-04", D(7)),
            ]
            payloads = (await session.execute(select(platform.outbox.c.payload))).scalars().all()
        events = [json.loads(p) for p in payloads]
        assert [(e["source"], e["account_id"], e["data"]["revenue"]) for e in events] == [
            ("goals", a, "150.5000"),
            ("goals", b, "7.0000"),
        ]
        assert {e["time"] for e in events} == {"2026-07-01T00:00:00Z"}  # the service clock


async def test_only_writers_record_and_only_on_accounts_they_may_change(sqlite_database):
    async with goals_domain(await sqlite_database("goals")) as goals:
        other = await goals.add_account("a-zhang", owner_id="am-zhang")
        ctx = {"settings": goals.settings, "publisher": goals.publisher, "now": goals.now}
        async with goals.session() as session:
            with pytest.raises(Forbidden):
                await service.record_actuals(session, body=sales((other, "2026-03-01", "1")), actor=VIEWER, **ctx)
            with pytest.raises(NotFound):
                await service.record_actuals(session, body=sales((other, "2026-03-01", "1")), actor=LI, **ctx)


async def test_monthly_totals_default_to_the_last_twelve_months(sqlite_database):
    async with goals_domain(await sqlite_database("goals")) as goals:
        account = await goals.add_account("a-1")
        async with goals.session() as session:
            await service.record_actuals(
                session,
                body=sales((account, "2025-07-01", "1"), (account, "2025-08-01", "2"), (account, "2026-07-01", "3")),
                actor=SUPERVISOR,
                settings=goals.settings,
                publisher=goals.publisher,
                now=goals.now,
            )
            totals = await service.account_month_totals(
                session, account_id=account, from_month=None, to_month=None, today=goals.now.date()
            )
            assert [(t.period, t.revenue) for t in totals] == [("2025-08", D(2)), ("2026-07", D(3))]
            with pytest.raises(Unprocessable):
                await service.account_month_totals(
                    session, account_id=account, from_month="2026-05", to_month="2026-01", today=goals.now.date()
                )


async def test_an_import_batch_runs_once_and_a_running_one_is_refused_until_restarted(sqlite_database, tmp_path: Path):
    async with goals_domain(await sqlite_database("goals")) as goals:
        account = await goals.add_account("a-1")
        path = tmp_path / "sales.csv"
        path.write_text(
            f"客户ID,日期,产品线,区域,数量,销售额,成本\n{account},2026-03-05,PLC控制器,华北,2,2000.50,1200\nnobody,2026-03-05,x,y,1,1,1\n",
            encoding="gbk",
        )
        async with goals.session() as session:
            _, fresh = await start_batch(session, batch_id="b", filename=None, actor_id="kam-cli", now=goals.now)
            assert fresh
        async with goals.session() as session:
            with pytest.raises(Conflict):
                await start_batch(session, batch_id="b", filename=None, actor_id="kam-cli", now=goals.now)
        result = await run_import(
            goals.db, batch_id="b", path=path, settings=goals.settings, clock=goals.clock, publisher=goals.publisher
        )
        assert (result["status"], result["accepted"], result["rejected"], result["encoding"]) == (
            "completed",
            1,
            1,
            "gbk",
        )
        async with goals.session() as session:
            batch, fresh = await start_batch(session, batch_id="b", filename=None, actor_id="kam-cli", now=goals.now)
            assert not fresh and batch.status == "completed"
        assert (await goals.events()) == ["kam.goals.actuals_imported"]


async def test_an_upload_over_the_size_limit_is_refused_and_leaves_no_spool_file(sqlite_database, tmp_path: Path):
    spool = tmp_path / "spool"
    async with goals_domain(
        await sqlite_database("goals"), import_max_bytes=1024, import_spool_dir=str(spool)
    ) as goals:

        async def body():
            for _ in range(3):
                yield b"x" * 600

        background: set[asyncio.Task] = set()
        with pytest.raises(ContentTooLarge):
            await import_upload(
                goals.db,
                body(),
                options=ImportOptions(batch_id="too-big"),
                actor=SUPERVISOR,
                settings=goals.settings,
                clock=goals.clock,
                publisher=goals.publisher,
                background=background,
            )
        assert list(spool.iterdir()) == [] and not background
