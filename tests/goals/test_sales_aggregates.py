"""Pre-aggregated sales: the reads that grow with history use the aggregate tables, never the sales lines, and the
aggregates always equal a recomputation from the lines (after API writes, imports and voided batches)."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select

from services.goals.actuals.aggregates import (
    CELL_KEY,
    TOTAL_KEY,
    YEAR_KEY,
    align_years,
    fiscal_year_of,
    recompute,
    void_lines,
    year_start_month,
)
from services.goals.actuals.importer import bulk_insert_sales, start_batch
from services.goals.actuals.models import SalesAggregate, SalesMonthTotal, SalesRecord, SalesYearBasis, SalesYearTotal
from services.goals.models import Base
from shared.db import Database
from tests.goals.helpers import (
    SUPERVISOR,
    approve,
    create_target,
    goals_app,
    record,
    register_account,
    register_team,
    sale,
)
from tests.support import running, wait_until

FOUR = D("0.0001")


@contextmanager
def recorded_sql(db: Database) -> Iterator[list[str]]:
    """Every SQL statement the database runs inside the block."""
    statements: list[str] = []

    def _record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.lower())

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", _record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", _record)


def _q(value: Any) -> D:
    return D(str(value)).quantize(FOUR)


Tables = tuple[dict[tuple[Any, ...], list[Any]], ...]


def _row(a: Any) -> list[Any]:
    return [_q(a.revenue), _q(a.cost), _q(a.quantity), a.quantity_lines, a.line_count]


async def stored_aggregates(db: Database) -> Tables:
    """The three aggregate tables (cells, account-months, account-years) as {key: [revenue, cost, quantity,
    quantity_lines, line_count]}."""
    async with db.transaction() as session:
        cells = {
            tuple(getattr(a, k) for k in CELL_KEY): [
                _q(a.revenue),
                _q(a.cost),
                _q(a.quantity),
                a.quantity_lines,
                a.line_count,
            ]
            for a in await session.scalars(select(SalesAggregate))
        }
        totals = {
            tuple(getattr(t, k) for k in TOTAL_KEY): [
                _q(t.revenue),
                _q(t.cost),
                _q(t.quantity),
                t.quantity_lines,
                t.line_count,
            ]
            for t in await session.scalars(select(SalesMonthTotal))
        }
        years = {tuple(getattr(y, k) for k in YEAR_KEY): _row(y) for y in await session.scalars(select(SalesYearTotal))}
    return cells, totals, years


async def recomputed(db: Database) -> Tables:
    """The same three tables computed from the sales lines themselves (years in the fiscal calendar the year
    totals say they are counted in)."""
    async with db.transaction() as session:
        cells = {k: [_q(v[0]), _q(v[1]), _q(v[2]), v[3], v[4]] for k, v in (await recompute(session)).items()}
        start_month = await year_start_month(session)
    totals: dict[tuple[Any, ...], list[Any]] = {}
    years: dict[tuple[Any, ...], list[Any]] = {}
    for (account_id, month, _line, _region, currency), v in cells.items():
        for bucket, key in (
            (totals, (account_id, month, currency)),
            (years, (account_id, fiscal_year_of(month, start_month), currency)),
        ):
            entry = bucket.setdefault(key, [D(0), D(0), D(0), 0, 0])
            for i, value in enumerate(v):
                entry[i] += value
    return cells, totals, years


async def test_portfolio_overview_and_variance_read_the_aggregates_and_never_the_sales_lines(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))  # 2026-07-01
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="聚合客户", owner_id="am-li", tier="strategic")
        await record(
            client,
            sale(account, "2026-03-01", "600", "200", quantity="3"),
            sale(account, "2026-03-15", "400", "100", product_line="运维服务", region="华东"),
            sale(account, "2025-03-01", "999", "500"),
        )
        target = await create_target(client, account_id=account, metric="revenue", period="2026", target_value="2000")
        await approve(client, target["id"])
        with recorded_sql(app.state.db) as statements:
            board = await client.get("/goals/views/portfolio", headers=SUPERVISOR)
        assert board.status_code == 200, board.text
        assert board.json()["revenue_attainment_by_tier"][0]["actual"] == "1000.00"
        assert any("sales_year_totals" in s for s in statements)  # one row per account, whatever the history
        assert not any("sales_records" in s or "sales_month_totals" in s for s in statements)

        with recorded_sql(app.state.db) as statements:
            view = await client.get(f"/goals/views/accounts/{account}", headers=SUPERVISOR)
        assert view.status_code == 200, view.text
        assert view.json()["targets"][0]["actual"] == "1000.00"
        assert any("sales_aggregates" in s for s in statements)
        assert not any("sales_records" in s for s in statements)

        with recorded_sql(app.state.db) as statements:
            variance = await client.get(
                f"/goals/targets/{target['id']}/variance", params={"compare": "previous_year"}, headers=SUPERVISOR
            )
        assert variance.status_code == 200, variance.text
        assert (variance.json()["current_total"], variance.json()["baseline_total"]) == ("1000.00", "999.00")
        assert any("sales_aggregates" in s for s in statements)
        assert not any("sales_records" in s for s in statements)


async def test_api_lines_imports_and_a_restarted_batch_leave_aggregates_equal_to_the_lines(sqlite_database, tmp_path):
    app, _ = goals_app(await sqlite_database("goals"), import_spool_dir=str(tmp_path / "spool"))
    async with running(app) as client:
        await register_team(app)
        a = await register_account(app, name="甲客户")
        b = await register_account(app, name="乙客户")
        await record(client, sale(a, "2026-01-05", "100.25", "40", quantity="2"), sale(b, "2026-02-01", "7", "1"))
        csv_text = "account_id,date,product_line,region,quantity,revenue,cost\n" + "".join(
            f"{(a, b)[i % 2]},2026-0{1 + i % 3}-1{i % 9},{('工业网关', '运维服务')[i % 2]},{('华东', '')[i % 3 == 0]},"
            f"{i % 4 or ''},{100 + i}.5,{i}\n"
            for i in range(60)
        )
        done = await client.post("/goals/imports", params={"batch_id": "b1"}, content=csv_text, headers=SUPERVISOR)
        assert done.status_code in (200, 202), done.text

        async def finished() -> bool:
            job = (await client.get("/goals/imports/b1", headers=SUPERVISOR)).json()
            return bool(job["status"] == "completed")

        await wait_until(finished)
        stored = await stored_aggregates(app.state.db)
        assert stored == await recomputed(app.state.db)
        assert sum(v[4] for v in stored[0].values()) == 62
        assert sum(v[4] for v in stored[2].values()) == 62

        # An interrupted batch is run again from the start: its first lines are voided, and the sums with them.
        now = datetime(2026, 7, 1, tzinfo=UTC)
        async with app.state.db.transaction() as session:
            await start_batch(session, batch_id="b2", filename=None, actor_id="sup-wang", now=now)
            await bulk_insert_sales(session, [_line(a, "2026-01", "工业网关", None, D("5"), D("50"), D("1"), "b2")])
        async with app.state.db.transaction() as session:
            later = now + timedelta(minutes=3)  # no progress for 3 minutes: the worker died
            await start_batch(session, batch_id="b2", filename=None, actor_id="sup-wang", now=later, restart=True)
        assert await stored_aggregates(app.state.db) == stored
        assert await stored_aggregates(app.state.db) == await recomputed(app.state.db)


async def test_the_year_totals_follow_the_fiscal_calendar_the_service_is_configured_with(sqlite_database):
    """Fiscal 2026 starting in April is 2026-04 … 2027-03: a restart with that calendar rebuilds the year totals,
    and the board adds up those months; a year table counted in another calendar is never used."""
    url = await sqlite_database("goals")
    app, _ = goals_app(url)  # calendar years
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="财年客户", owner_id="am-li", tier="key")
        await record(
            client,
            sale(account, "2026-02-10", "100", "10"),
            sale(account, "2026-05-10", "20", "5"),
            sale(account, "2027-02-10", "3", "1"),
        )
        target = await create_target(client, account_id=account, metric="revenue", period="2026", target_value="1000")
        await approve(client, target["id"])
        board = (await client.get("/goals/views/portfolio", headers=SUPERVISOR)).json()
        assert board["revenue_attainment_by_tier"][0]["actual"] == "120.00"  # January–December 2026

    app, _ = goals_app(url, fiscal_year_start_month=4)
    async with running(app) as client:
        async with app.state.db.transaction() as session:
            assert await year_start_month(session) == 4
        assert await stored_aggregates(app.state.db) == await recomputed(app.state.db)
        with recorded_sql(app.state.db) as statements:
            board = (await client.get("/goals/views/portfolio", headers=SUPERVISOR)).json()
        assert board["revenue_attainment_by_tier"][0]["actual"] == "23.00"  # 2026-05 and 2027-02
        assert any("sales_year_totals" in s for s in statements)

        # Year totals counted in another calendar (another replica's setting): the board adds up the months.
        async with app.state.db.transaction() as session:
            (await session.get(SalesYearBasis, 1)).start_month = 7  # type: ignore[union-attr]
        with recorded_sql(app.state.db) as statements:
            board = (await client.get("/goals/views/portfolio", headers=SUPERVISOR)).json()
        assert board["revenue_attainment_by_tier"][0]["actual"] == "23.00"
        assert any("sales_month_totals" in s for s in statements)
        assert not any("from sales_year_totals" in s or "join sales_year_totals" in s for s in statements)


def _line(
    account: str, month: str, product_line: str, region: str | None, quantity: D | None, revenue: D, cost: D, batch: str
) -> dict[str, Any]:
    return {
        "account_id": account,
        "sale_date": date.fromisoformat(f"{month}-07"),
        "month": month,
        "product_line": product_line,
        "region": region,
        "quantity": quantity,
        "revenue": revenue,
        "cost": cost,
        "currency": "CNY",
        "batch_id": batch,
        "line_no": 1,
    }


LINES = st.builds(
    lambda account, month, product_line, region, quantity, cents, cost: (
        account,
        month,
        product_line,
        region,
        quantity,
        D(cents) / 100,
        D(cost),
    ),
    st.sampled_from(["acc-1", "acc-2", "acc-3"]),
    st.sampled_from(["2025-03", "2025-12", "2026-01", "2026-02", "2026-07"]),
    st.sampled_from(["工业网关", "运维服务"]),
    st.sampled_from([None, "华东", "华南"]),
    st.one_of(st.none(), st.integers(0, 50).map(D)),
    st.integers(-50_000, 5_000_000),
    st.integers(0, 30_000),
)
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("import"), st.integers(0, 3), st.lists(LINES, min_size=1, max_size=12)),
        st.tuples(st.just("void"), st.integers(0, 3), st.just([])),
        st.tuples(st.just("calendar"), st.integers(1, 12), st.just([])),  # fiscal years start in another month
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=STEPS)
def test_after_any_imports_and_voids_the_aggregates_equal_a_recomputation_from_the_lines(steps):
    async def scenario() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(f"sqlite+aiosqlite:///{tmp}/goals.db")
            try:
                async with db.engine.begin() as conn:
                    await conn.run_sync(Base.metadata.create_all)
                for kind, batch, lines in steps:
                    async with db.transaction() as session:
                        if kind == "import":
                            await bulk_insert_sales(session, [_line(*line, batch=f"b{batch}") for line in lines])
                        elif kind == "calendar":
                            await align_years(session, start_month=batch)
                        else:
                            await void_lines(session, SalesRecord.batch_id == f"b{batch}")
                assert await stored_aggregates(db) == await recomputed(db)
            finally:
                await db.dispose()

    asyncio.run(scenario())
