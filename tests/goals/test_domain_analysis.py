"""Domain tier, analyses and gateway sections: variance, scorecards, the account and portfolio views (no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from services.goals.actuals.schemas import ActualsIn
from services.goals.actuals.service import record_actuals
from services.goals.analysis.service import variance
from services.goals.scorecards.service import scorecards
from services.goals.targets.schemas import TargetCreate
from services.goals.targets.service import approve_target, create_target
from services.goals.views import build_account_view, build_portfolio_view
from shared.errors import Unprocessable
from tests.goals.domain import LI, SUPERVISOR, goals_domain


def line(account_id: str, day: str, revenue: str, cost: str, product_line: str, quantity: str) -> dict:
    return {
        "account_id": account_id,
        "date": day,
        "product_line": product_line,
        "region": "华东",
        "revenue": revenue,
        "cost": cost,
        "quantity": quantity,
    }


async def _record(goals, session, *lines: dict) -> None:
    await record_actuals(
        session,
        body=ActualsIn.model_validate({"records": list(lines)}),
        actor=SUPERVISOR,
        settings=goals.settings,
        publisher=goals.publisher,
        now=goals.now,
    )


async def _target(goals, session, account_id: str, metric: str, value: str, *, approve: bool = True):
    body = TargetCreate(account_id=account_id, metric=metric, period="2026", target_value=D(value))
    target = await create_target(session, body=body, actor=SUPERVISOR, settings=goals.settings, now=goals.now)
    if approve:
        await approve_target(
            session, target=target, actor=SUPERVISOR, settings=goals.settings, publisher=goals.publisher, now=goals.now
        )
    return target


async def test_variance_against_last_year_splits_each_product_line_into_price_and_volume(sqlite_database):
    async with goals_domain(await sqlite_database("goals")) as goals:
        account = await goals.add_account("a-1")
        async with goals.session() as session:
            await _record(
                goals,
                session,
                line(account, "2025-02-01", "1000", "600", "工业网关", "10"),  # 10 at 100
                line(account, "2026-02-01", "1080", "600", "工业网关", "9"),  # 9 at 120
                line(account, "2026-03-01", "500", "300", "PLC控制器", "5"),
            )
            target = await _target(goals, session, account, "revenue", "5000", approve=False)
            result = await variance(
                session, target=target, compare_to="previous_year", settings=goals.settings, today=goals.now.date()
            )
            assert (result.baseline_period, result.current_total, result.baseline_total) == ("2025", D(1580), D(1000))
            lines = {r.key: r for r in result.by_product_line}
            # 工业网关: volume (9 − 10) × 100 = −100, price (120 − 100) × 9 = +180: together the delta of 80.
            assert (lines["工业网关"].delta, lines["工业网关"].volume_effect, lines["工业网关"].price_effect) == (
                D(80),
                D(-100),
                D(180),
            )
            ratio = await _target(goals, session, account, "gross_margin_pct", "30", approve=False)
            with pytest.raises(Unprocessable):
                await variance(
                    session, target=ratio, compare_to="target", settings=goals.settings, today=goals.now.date()
                )


async def test_scorecards_weigh_attainment_and_at_risk_targets_of_each_account_managers_book(sqlite_database):
    async with goals_domain(await sqlite_database("goals"), now=datetime(2027, 1, 15, tzinfo=UTC)) as goals:
        a = await goals.add_account("a-li", owner_id="am-li")
        b = await goals.add_account("a-zhang", owner_id="am-zhang")
        async with goals.session() as session:
            await _record(
                goals,
                session,
                line(a, "2026-03-01", "1200", "700", "工业网关", "1"),
                line(b, "2026-03-01", "250", "100", "工业网关", "1"),
            )
            await _target(goals, session, a, "revenue", "1000")  # achieved: 120 %
            await _target(goals, session, b, "revenue", "500")  # 50 %: at risk
            cards = {
                c.owner_id: c
                for c in await scorecards(
                    session, period_text="2026", actor=SUPERVISOR, settings=goals.settings, today=goals.now.date()
                )
            }
            # Li: revenue 120 (capped at 120) and no target at risk (100): (0.35×120 + 0.10×100) / 0.45 = 115.56
            assert cards["am-li"].kpi_score == D("115.56")
            # Zhang: revenue 50 and one target at risk (80): (0.35×50 + 0.10×80) / 0.45 = 56.67
            assert cards["am-zhang"].kpi_score == D("56.67") and cards["am-zhang"].at_risk_targets == 1
            own = await scorecards(
                session, period_text="2026", actor=LI, settings=goals.settings, today=goals.now.date()
            )
            assert [c.owner_id for c in own] == ["am-li"]


async def test_the_gateway_sections_show_this_periods_targets_and_the_portfolio_attainment(sqlite_database):
    async with goals_domain(await sqlite_database("goals")) as goals:  # 2026-07-01
        a = await goals.add_account("a-li", owner_id="am-li", tier="strategic")
        b = await goals.add_account("a-zhang", owner_id="am-zhang", tier="key")
        async with goals.session() as session:
            await _record(goals, session, line(a, "2026-03-01", "600", "0", "工业网关", "1"))
            await _target(goals, session, a, "revenue", "1000")
            await _target(goals, session, b, "revenue", "400")  # nothing sold: at risk
            account = {"account_id": a, "name": "客户a-li", "tier": "strategic", "owner_id": "am-li"}
            view = await build_account_view(session, account=account, settings=goals.settings, today=goals.now.date())
            assert view.periods == ["2026", "2026-07", "2026-Q3"]
            [target] = view.targets
            assert (target.actual, target.forecast, target.forecast_method, target.at_risk) == (
                "600.00",
                "1200.00",
                "run_rate",
                False,
            )
            board = await build_portfolio_view(
                session, actor=SUPERVISOR, settings=goals.settings, today=goals.now.date()
            )
            assert [(r.tier, r.target, r.actual, r.attainment_pct) for r in board.revenue_attainment_by_tier] == [
                ("key", "400.00", "0.00", "0.00"),
                ("strategic", "1000.00", "600.00", "60.00"),
            ]
            assert board.at_risk_targets_count == 1 and board.at_risk_targets[0].account_id == b
            mine = await build_portfolio_view(session, actor=LI, settings=goals.settings, today=goals.now.date())
            assert [r.owner_id for r in mine.revenue_attainment_by_account_manager] == ["am-li"]
            assert mine.at_risk_targets_count == 0
