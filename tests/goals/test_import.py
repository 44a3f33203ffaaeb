"""Bulk CSV import: streams, rejects bad rows by line number, idempotent by batch id, UTF-8/BOM/GBK."""

import random
from datetime import timedelta
from decimal import Decimal as D

from sqlalchemy import func, select, update

from services.goals.actuals.models import ImportBatch, SalesRecord
from services.goals.models import platform
from tests.goals.helpers import LI, SUPERVISOR, goals_app, register_account, register_team
from tests.support import running, wait_until

HEADER = "account_id,date,product_line,region,quantity,revenue,cost\n"
BAD_ROWS = [
    ("{a},2026-02-30,工业网关,华东,1,100,50", "does not exist"),
    ("{a},2026/13/01,工业网关,华东,1,100,50", "does not exist"),
    ("{a},yesterday,工业网关,华东,1,100,50", "not YYYY-MM-DD"),
    ("unknown-account,2026-03-01,工业网关,华东,1,100,50", "unknown account"),
    (",2026-03-01,工业网关,华东,1,100,50", "account_id is empty"),
    ("{a},2026-03-01,,华东,1,100,50", "product_line is empty"),
    ("{a},2026-03-01,工业网关,华东,1,abc,50", "revenue 'abc' is not a number"),
    ("{a},2026-03-01,工业网关,华东,1,,50", "revenue is empty"),
    ("{a},2026-03-01,工业网关,华东,-3,100,50", "mixed signs (quantity -3, revenue 100, cost 50)"),
    ("{a},2026-03-01,工业网关,华东,1,100,-5", "mixed signs (quantity 1, revenue 100, cost -5)"),
    ("{a},2026-03-01,工业网关,华东,1,100", "expected 7 columns, found 6"),
    ("{a},2026-03-01,工业网关,华东,1,100,50,extra", "expected 7 columns, found 8"),
    ("{a},2026-03-01,工业网关,华东,1,100.12345,50", "more than 4 decimal places"),
]


def write_csv(path, accounts, rows: int, bad_every: int, bad_count: int):
    """``rows`` data rows; every ``bad_every``-th of the first ones is bad (``bad_count`` in all). Returns facts."""
    rng = random.Random(7)
    bad_lines, good_revenue, good = {}, D(0), 0
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(HEADER)
        for i in range(rows):
            line_no = i + 2
            if i % bad_every == bad_every - 1 and len(bad_lines) < bad_count:
                template, reason = BAD_ROWS[len(bad_lines) % len(BAD_ROWS)]
                f.write(template.format(a=accounts[0]) + "\n")
                bad_lines[line_no] = reason
                continue
            account = accounts[i % len(accounts)]
            revenue = D(rng.randint(100, 99999)) / 100
            f.write(
                f"{account},2026-{1 + i % 6:02d}-{1 + i % 28:02d},智能传感器,华南,{1 + i % 5},{revenue},{revenue / 2}\n"
            )
            good_revenue += revenue
            good += 1
    return good, good_revenue, bad_lines


async def test_a_100k_row_import_with_37_bad_rows_accepts_the_rest_reports_each_and_is_idempotent(
    sqlite_database, tmp_path
):
    app, _ = goals_app(await sqlite_database("goals"), import_spool_dir=str(tmp_path / "spool"))
    async with running(app) as client:
        await register_team(app)
        accounts = [await register_account(app, name=f"客户{i}") for i in range(5)]
        path = tmp_path / "sales.csv"
        good, good_revenue, bad_lines = write_csv(path, accounts, rows=100_000, bad_every=2_500, bad_count=37)
        assert len(bad_lines) == 37

        async def body():
            with path.open("rb") as f:
                while chunk := f.read(1 << 16):
                    yield chunk

        response = await client.post(
            "/goals/imports",
            params={"batch_id": "erp-2026-06", "filename": "sales.csv"},
            content=body(),
            headers=SUPERVISOR,
        )
        assert response.status_code == 202, response.text
        assert response.headers["location"] == "/goals/imports/erp-2026-06"

        async def finished():
            job = (await client.get("/goals/imports/erp-2026-06", headers=SUPERVISOR)).json()
            return job if job["status"] != "running" else None

        job = await wait_until(finished, timeout=60, message="import finished")
        assert job["status"] == "completed", job
        assert (job["total_rows"], job["rows_done"], job["accepted"], job["rejected"]) == (100_000, 100_000, good, 37)
        assert job["progress_pct"] == "100.00" and job["encoding"] == "utf-8"

        rejected = (
            await client.get("/goals/imports/erp-2026-06/rejections", params={"limit": 100}, headers=SUPERVISOR)
        ).json()
        assert rejected["total"] == 37
        assert {r["line_no"] for r in rejected["items"]} == set(bad_lines)
        for row in rejected["items"]:
            assert bad_lines[row["line_no"]] in row["reason"], row

        async with app.state.db.transaction() as session:
            count = await session.scalar(select(func.count()).select_from(SalesRecord))
            revenue = await session.scalar(select(func.sum(SalesRecord.revenue)))
            events = await session.scalar(
                select(func.count())
                .select_from(platform.outbox)
                .where(platform.outbox.c.subject == "kam.goals.actuals_imported")
            )
        assert count == good
        assert abs(D(str(revenue)) - good_revenue) < D("0.01")
        assert events == 5  # one per account touched (its months coalesced), not per row or account-month

        # The same batch again adds nothing.
        again = await client.post(
            "/goals/imports", params={"batch_id": "erp-2026-06"}, content=path.read_bytes(), headers=SUPERVISOR
        )
        assert again.status_code == 200 and again.json()["status"] == "completed"
        async with app.state.db.transaction() as session:
            assert await session.scalar(select(func.count()).select_from(SalesRecord)) == good
            assert (
                await session.scalar(
                    select(func.count())
                    .select_from(platform.outbox)
                    .where(platform.outbox.c.subject == "kam.goals.actuals_imported")
                )
                == events
            )


async def test_gbk_and_bom_files_import_with_their_chinese_text_intact(make_database, tmp_path):
    app, _ = goals_app(await make_database("goals"), import_spool_dir=str(tmp_path / "spool"))
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="海尔集团")
        text = "客户ID,日期,产品线,区域,数量,销售额,成本\n" + f"{account},2026-03-05,PLC控制器,华北区,2,2000.50,1200\n"
        text += f"{account},2026-03-06,工业云平台,西南区,1,800,300\n"
        response = await client.post(
            "/goals/imports",
            params={"batch_id": "gbk-1", "wait": "true"},
            content=text.encode("gbk"),
            headers=SUPERVISOR,
        )
        assert response.status_code == 200, response.text
        assert response.json()["encoding"] == "gbk" and response.json()["accepted"] == 2
        response = await client.post(
            "/goals/imports",
            params={"batch_id": "bom-1", "wait": "true"},
            content="\ufeff".encode() + text.replace("2026-03", "2026-04").encode("utf-8"),
            headers=SUPERVISOR,
        )
        assert response.json()["encoding"] == "utf-8-sig" and response.json()["accepted"] == 2
        async with app.state.db.transaction() as session:
            rows = (
                await session.execute(select(SalesRecord.product_line, SalesRecord.region).order_by(SalesRecord.id))
            ).all()
        assert [tuple(r) for r in rows] == [("PLC控制器", "华北区"), ("工业云平台", "西南区")] * 2
        totals = (
            await client.get(
                f"/goals/accounts/{account}/actuals", params={"from": "2026-03", "to": "2026-04"}, headers=SUPERVISOR
            )
        ).json()
        assert [t["by_product_line"] for t in totals] == [{"PLC控制器": "2000.50", "工业云平台": "800.00"}] * 2


async def test_an_account_manager_import_rejects_rows_of_accounts_they_do_not_own_and_a_bad_header_is_422(
    sqlite_database, tmp_path
):
    app, _ = goals_app(await sqlite_database("goals"), import_spool_dir=str(tmp_path / "spool"))
    async with running(app) as client:
        await register_team(app)
        own = await register_account(app, name="李的客户", owner_id="am-li")
        other = await register_account(app, name="张的客户", owner_id="am-zhang")
        text = HEADER + f"{own},2026-03-05,工业网关,华东,1,100,50\n{other},2026-03-05,工业网关,华东,1,100,50\n"
        job = (
            await client.post(
                "/goals/imports", params={"batch_id": "li-1", "wait": "true"}, content=text.encode(), headers=LI
            )
        ).json()
        assert (job["accepted"], job["rejected"]) == (1, 1)
        rejected = (await client.get("/goals/imports/li-1/rejections", headers=LI)).json()["items"]
        assert rejected[0]["line_no"] == 3 and "unknown account" in rejected[0]["reason"]
        response = await client.post(
            "/goals/imports", params={"batch_id": "bad-header"}, content=b"foo,bar\n1,2\n", headers=SUPERVISOR
        )
        assert response.status_code == 422 and "account_id" in response.json()["detail"]
        assert (await client.get("/goals/imports/bad-header", headers=SUPERVISOR)).status_code == 404


async def test_a_batch_left_running_by_a_crash_is_409_until_restarted_and_then_replaces_its_rows(
    make_database, tmp_path
):
    app, clock = goals_app(await make_database("goals"), import_spool_dir=str(tmp_path / "spool"))
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="中断的导入")
        from services.goals.actuals.importer import bulk_insert_sales, start_batch

        async with app.state.db.transaction() as session:
            await start_batch(session, batch_id="crashed", filename=None, actor_id="sup-wang", now=clock.now())
            half = {
                "account_id": account,
                "sale_date": clock.now().date(),
                "month": "2026-07",
                "product_line": "工业网关",
            }
            await bulk_insert_sales(
                session,
                [
                    {
                        **half,
                        "region": None,
                        "quantity": None,
                        "revenue": D(1),
                        "cost": D(0),
                        "currency": "CNY",
                        "batch_id": "crashed",
                        "line_no": 2,
                    }
                ],
            )
        text = (HEADER + f"{account},2026-06-01,工业网关,华东,1,100,50\n").encode()
        busy = await client.post("/goals/imports", params={"batch_id": "crashed"}, content=text, headers=SUPERVISOR)
        assert busy.status_code == 409
        # Still showing progress: restart=true is refused too, or two workers would import the same rows.
        alive = await client.post(
            "/goals/imports", params={"batch_id": "crashed", "restart": "true"}, content=text, headers=SUPERVISOR
        )
        assert alive.status_code == 409 and "still running" in alive.json()["detail"]
        async with app.state.db.transaction() as session:  # the worker died: no progress for 3 minutes
            await session.execute(
                update(ImportBatch)
                .where(ImportBatch.batch_id == "crashed")
                .values(heartbeat_at=clock.now() - timedelta(minutes=3))
            )
        done = await client.post(
            "/goals/imports",
            params={"batch_id": "crashed", "restart": "true", "wait": "true"},
            content=text,
            headers=SUPERVISOR,
        )
        assert done.status_code == 200 and done.json()["accepted"] == 1
        async with app.state.db.transaction() as session:
            rows = (await session.execute(select(SalesRecord.month, SalesRecord.revenue))).all()
        assert [(m, D(str(r))) for m, r in rows] == [("2026-06", D(100))]


async def test_progress_is_reported_after_every_chunk_as_rows_done_of_total_and_rejected_so_far(
    sqlite_database, tmp_path
):
    app, clock = goals_app(await sqlite_database("goals"), import_batch_size=300)
    async with running(app):
        await register_team(app)
        account = await register_account(app, name="进度客户")
        path = tmp_path / "sales.csv"
        good, _, bad_lines = write_csv(path, [account], rows=1000, bad_every=100, bad_count=4)
        from services.goals.actuals.importer import run_import, start_batch

        async with app.state.db.transaction() as session:
            await start_batch(session, batch_id="p", filename=None, actor_id="me", now=clock.now())
        seen: list[dict] = []
        result = await run_import(
            app.state.db,
            batch_id="p",
            path=path,
            settings=app.state.settings,
            clock=clock,
            publisher=app.state.publisher,
            progress=seen.append,
        )
        assert [(s["rows_done"], s["total_rows"], s["rejected"]) for s in seen] == [
            (300, 1000, 3),
            (600, 1000, 4),
            (900, 1000, 4),
            (1000, 1000, 4),
        ]
        assert (result["accepted"], result["rejected"], result["status"]) == (good, 4, "completed")
        assert sorted(bad_lines) == [101, 201, 301, 401]
