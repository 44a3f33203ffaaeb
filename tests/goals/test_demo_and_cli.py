"""The demo loader and the ``kam import`` command work against a real goals app and database."""

import time
from datetime import UTC, datetime

from typer.testing import CliRunner

from kam.cli import app as kam_app
from kam.demo import DemoContext
from kam.demo.goals import load
from tests.goals.helpers import SUPERVISOR, goals_app, register_account, register_team
from tests.support import auth, running, token


def token_for(user_id: str, roles: list[str]) -> str:
    """A token as the demo mints it for one of its people."""
    return token(*roles, user_id=user_id)


async def test_demo_loads_three_years_of_sales_targets_and_action_plans_in_every_state(sqlite_database, tmp_path):
    # The loader plans around today's date, so the service runs on today's date too.
    app, _ = goals_app(await sqlite_database("goals"), now=datetime.now(UTC), import_spool_dir=str(tmp_path / "spool"))
    # The loader sends If-Match itself: no re-read by the test client.
    async with running(app, headers=auth("admin", user_id="demo-loader"), reads_etag_first=False) as client:
        await register_team(app)
        accounts = []
        for i, owner in enumerate(["am-li", "am-zhang"] * 3):
            account_id = await register_account(app, name=f"演示客户{i}", owner_id=owner)
            accounts.append(
                {"id": account_id, "name": f"演示客户{i}", "owner_id": owner, "region": "华东", "tier": "key"}
            )
        started = time.monotonic()
        summary = await load(
            DemoContext(clients={"goals": client}, shared={"accounts": accounts, "token_for": token_for})
        )
        assert time.monotonic() - started < 30
        assert summary["rejected_rows"] == 0 and summary["sales_rows"] > 6 * 24
        # Revenue and gross profit for all six, penetration approved for three of them, drafts for the rest.
        assert summary["targets"] == 15 and summary["draft_targets"] == 3 and summary["at_risk_targets"] >= 1
        drafts = (await client.get("/goals/targets", params={"status": "draft"}, headers=SUPERVISOR)).json()
        assert drafts["total"] == 3
        statuses = {
            i["status"]
            for i in (await client.get("/goals/actions", params={"limit": 500}, headers=SUPERVISOR)).json()["items"]
        }
        assert statuses == {"open", "in_progress", "done", "cancelled"}
        assert (await client.get("/goals/actions", params={"overdue": "true"}, headers=SUPERVISOR)).json()["total"] >= 1
        board = (await client.get("/goals/views/portfolio", headers=SUPERVISOR)).json()
        assert {r["owner_id"] for r in board["revenue_attainment_by_account_manager"]} == {"am-li", "am-zhang"}
        assert (
            await load(DemoContext(clients={"goals": client}, shared={"accounts": accounts, "token_for": token_for}))
        ) == {"skipped": "already loaded"}


def test_kam_import_shows_progress_reports_rejections_and_is_idempotent(tmp_path, monkeypatch):
    monkeypatch.setenv("KAM_GOALS_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'goals.db'}")
    path = tmp_path / "sales.csv"
    path.write_bytes(
        "客户ID,日期,产品线,区域,数量,销售额,成本\nnobody,2026-01-05,工业网关,华东,1,100,60\n".encode("gbk")
    )
    runner = CliRunner()
    result = runner.invoke(kam_app, ["import", str(path), "--batch-id", "cli-1"])
    assert result.exit_code == 0, result.output
    assert "1 rejected" in result.output and "unknown account 'nobody'" in result.output
    again = runner.invoke(kam_app, ["import", str(path), "--batch-id", "cli-1"])
    assert again.exit_code == 0 and "already imported" in again.output
    bad = tmp_path / "bad.csv"
    bad.write_text("foo,bar\n1,2\n")
    failed = runner.invoke(kam_app, ["import", str(bad), "--batch-id", "cli-2"])
    assert failed.exit_code == 1 and "lacks column" in failed.output
