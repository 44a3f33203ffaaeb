"""A CSV import over many account-months publishes one coalesced ``goals.actuals_imported`` per account (not one
``goals.actuals_recorded`` per account-month), and a consumer fed those ends exactly where line-by-line recording
leaves it (scoring's stored months, features and scores); product lines the catalogue does not name are reported."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from sqlalchemy import select

from services.goals.actuals import service
from services.goals.actuals.aggregates import recompute
from services.goals.actuals.importer import run_import, start_batch
from services.goals.actuals.models import ImportBatch, SalesAggregate
from services.goals.actuals.schemas import ActualsIn
from services.goals.models import platform
from services.scoring.scores.models import AccountFeatures, MonthlyActual
from shared.events import parse_event
from tests.goals.domain import SUPERVISOR, goals_domain
from tests.scoring.support import account_payload, running_with_people, scoring_app
from tests.support import auth

MONTHS = [f"2025-{m:02d}" for m in (11, 12)] + [f"2026-{m:02d}" for m in range(1, 11)]  # 12 months to Oct 2026
LINES = ("工业网关", "智能传感器")
SUP = auth("supervisor", user_id="sup-wang")


def _lines(accounts: list[str]) -> list[tuple[str, str, str, str, str]]:
    """(account, day, product line, revenue, cost): every account, month and line once, varied amounts."""
    out = []
    for a, account in enumerate(accounts):
        for m, month in enumerate(MONTHS):
            for j, line in enumerate(LINES):
                revenue = D(1000 + 97 * a + 13 * m + 7 * j) + D("0.25")
                out.append((account, f"{month}-0{j + 3}", line, str(revenue), str(revenue * D("0.6"))))
    return out


async def _outbox(goals) -> list:
    async with goals.session() as session:
        payloads = (await session.execute(select(platform.outbox.c.payload).order_by(platform.outbox.c.seq))).scalars()
        return [parse_event(p.encode()) for p in payloads]


async def _scoring_state(app, account_id: str) -> tuple:
    async with app.state.db.transaction() as session:
        months = (
            await session.execute(
                select(MonthlyActual.period, MonthlyActual.revenue, MonthlyActual.cost, MonthlyActual.by_product_line)
                .where(MonthlyActual.account_id == account_id)
                .order_by(MonthlyActual.period)
            )
        ).all()
        f = await session.get(AccountFeatures, account_id)
        assert f is not None
        features = (f.annual_purchases, f.annual_profit, f.previous_year_purchases, f.active_months, f.product_lines)
    months = [(p, D(str(r)), D(str(c)), {k: D(v) for k, v in lines.items()}) for p, r, c, lines in months]
    return months, features


async def test_an_import_publishes_one_event_per_account_and_scoring_ends_as_with_line_by_line_recording(
    make_database, tmp_path: Path
):
    bulk, by_line = scoring_app(await make_database("scoring_bulk")), scoring_app(await make_database("scoring_line"))
    async with running_with_people(bulk) as bulk_client, running_with_people(by_line) as line_client:
        accounts, twins = [], {}
        for i in range(3):
            body = account_payload(name=f"批量客户{i}")
            account = (await bulk_client.post("/accounts", json=body, headers=SUP)).json()["id"]
            twins[account] = (await line_client.post("/accounts", json=body, headers=SUP)).json()["id"]
            accounts.append(account)
        lines = _lines(accounts)

        # The same lines: imported as one CSV, and recorded one at a time through POST /goals/actuals' service.
        path = tmp_path / "sales.csv"
        rows = [f"{a},{d},{line},华东,1,{r},{c}" for a, d, line, r, c in lines]
        path.write_text("account_id,date,product_line,region,quantity,revenue,cost\n" + "\n".join(rows) + "\n")
        async with goals_domain(await make_database("goals_bulk"), import_batch_size=100) as goals:
            for account in accounts:
                await goals.add_account(account)
            async with goals.session() as session:
                await start_batch(session, batch_id="bulk", filename=None, actor_id="sup-wang", now=goals.now)
            result = await run_import(
                goals.db,
                batch_id="bulk",
                path=path,
                settings=goals.settings,
                clock=goals.clock,
                publisher=goals.publisher,
            )
            imported = await _outbox(goals)
            async with goals.session() as session:
                cells = await recompute(session)
                stored = {
                    (r.account_id, r.month, r.product_line, r.region, r.currency): [
                        D(str(r.revenue)),
                        D(str(r.cost)),
                        D(str(r.quantity)),
                        r.quantity_lines,
                        r.line_count,
                    ]
                    for r in await session.scalars(select(SalesAggregate))
                }
        async with goals_domain(await make_database("goals_line")) as goals:
            for account in accounts:
                await goals.add_account(account)
            for account, day, line, revenue, cost in lines:
                record = {"account_id": account, "date": day, "product_line": line, "region": "华东", "quantity": "1"}
                record |= {"revenue": revenue, "cost": cost}
                async with goals.session() as session:
                    await service.record_actuals(
                        session,
                        body=ActualsIn.model_validate({"records": [record]}),
                        actor=SUPERVISOR,
                        settings=goals.settings,
                        publisher=goals.publisher,
                        now=goals.now,
                    )
            recorded = await _outbox(goals)

        assert (result["status"], result["accepted"], result["account_months"]) == ("completed", 72, 36)
        assert stored == {k: [v[0], v[1], v[2], v[3], v[4]] for k, v in cells.items()}  # aggregates = recomputation
        kinds = [e.type for e in imported]
        assert kinds.count("goals.actuals_imported") == 3 and "goals.actuals_recorded" not in kinds  # ≤ accounts
        assert len([e for e in recorded if e.type == "goals.actuals_recorded"]) == 72  # one per line recorded
        for event in imported:
            if event.type == "goals.actuals_imported":
                assert [m.period for m in event.data.months] == MONTHS and event.data.batch_id == "bulk"

        for event in imported:
            if event.type == "goals.actuals_imported":
                await bulk.state.consumer.process(event)
        for event in recorded:
            if event.type == "goals.actuals_recorded":
                await by_line.state.consumer.process(event.model_copy(update={"account_id": twins[event.account_id]}))

        for account in accounts:
            assert await _scoring_state(bulk, account) == await _scoring_state(by_line, twins[account])
            mine = (await bulk_client.get(f"/accounts/{account}/score", headers=SUP)).json()
            twin = (await line_client.get(f"/accounts/{twins[account]}/score", headers=SUP)).json()
            assert (mine["total"], mine["indicators"]) == (twin["total"], twin["indicators"])
        months, features = await _scoring_state(bulk, accounts[0])
        assert len(months) == 12 and features[0] > 0 and sorted(features[4]) == sorted(LINES)


async def test_product_lines_the_catalogue_does_not_name_are_imported_and_reported_as_warnings(
    make_database, tmp_path: Path
):
    async with goals_domain(await make_database("goals")) as goals:
        account = await goals.add_account("a-1")
        known = goals.settings.product_lines[0]
        path = tmp_path / "sales.csv"
        rows = [
            f"{account},2026-03-0{i + 1},{line},华东,1,100,60" for i, line in enumerate([known, "神秘产品", "神秘产品"])
        ]
        rows.append(f"{account},2026-03-09,未知线,华东,1,5,1")
        path.write_text("account_id,date,product_line,region,quantity,revenue,cost\n" + "\n".join(rows) + "\n")
        async with goals.session() as session:
            await start_batch(session, batch_id="w", filename=None, actor_id="sup-wang", now=goals.now)
        result = await run_import(
            goals.db, batch_id="w", path=path, settings=goals.settings, clock=goals.clock, publisher=goals.publisher
        )
        async with goals.session() as session:
            batch = await session.get(ImportBatch, "w")
            assert batch is not None
            warnings = batch.warnings
        events = [e for e in await _outbox(goals) if e.type == "goals.actuals_imported"]
    assert (result["status"], result["accepted"]) == ("completed", 4)
    assert [(w["product_line"], w["rows"]) for w in warnings] == [("未知线", 1), ("神秘产品", 2)]
    assert all("catalogue" in w["message"] for w in warnings)
    assert [(w["product_line"], w["rows"]) for w in result["warnings"]] == [("未知线", 1), ("神秘产品", 2)]
    assert len(events) == 1 and [(m.period, m.revenue) for m in events[0].data.months] == [("2026-03", D(305))]
