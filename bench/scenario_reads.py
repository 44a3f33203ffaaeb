"""Reads that grow: the goals reads over sales history — portfolio board, an account's section of the overview
(service endpoint, no gateway cache), a target's variance — p50 at growing portfolios with 36 months × 8 product
lines of sales each, on SQLite (and PostgreSQL when a server is given), against the same read at the smallest size.

Each size is loaded in a child process straight into a fresh goals database (lines written by the importer's
``bulk_insert_sales``, which keeps the pre-aggregated sums), then the goals service runs on it under uvicorn and
wrk measures each read on one connection.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.common import SECRET, Context, Section, ratio, stop, token, uvicorn, wait_ok, wrk
from bench.platform import create_postgres_database

TITLE = "Reads that grow: goals reads at growing portfolios (36 months × 8 product lines of sales per account)"
MIGRATIONS = Path(__file__).resolve().parent.parent / "services" / "goals" / "migrations"
COMPLAINT_MIGRATIONS = Path(__file__).resolve().parent.parent / "services" / "complaints" / "migrations"
CATEGORIES = ("product_quality", "delivery_timeliness", "communication_efficiency", "billing_pricing", "other")
COMPLAINTS_PER_ACCOUNT = 6  # two a year over the three years of sales
# The analytics period: the 12 months before the bench's now (a third of the history).
ANALYTICS_WINDOW = "from=2025-11-15T00:00:00%2B08:00&to=2026-11-15T00:00:00%2B08:00"
PRODUCT_LINES = ("工业网关", "智能传感器", "PLC控制器", "SCADA软件", "工业云平台", "运维服务", "边缘计算", "备件")
MONTHS = [f"{2024 + i // 12}-{1 + i % 12:02d}" for i in range(36)]  # 2024-01 … 2026-12
NOW = datetime(2026, 11, 15, 9, 0, tzinfo=UTC)


async def load(url: str, accounts: int) -> dict[str, Any]:
    """Accounts, one approved revenue target each for 2026, and 36 × 8 sales lines per account."""
    from sqlalchemy import insert

    from services.goals.actuals.importer import bulk_insert_sales
    from services.goals.models import platform
    from services.goals.targets.models import Target
    from shared.db import Database
    from shared.migrations import upgrade_to_head

    db = Database(url)
    await upgrade_to_head(db, MIGRATIONS)
    ids = [str(uuid.UUID(int=i + 1)) for i in range(accounts)]
    for start in range(0, accounts, 500):
        chunk = ids[start : start + 500]
        async with db.transaction() as session:
            await session.execute(
                insert(platform.accounts),
                [
                    {
                        "account_id": a,
                        "name": f"客户{a[-6:]}",
                        "tier": ("strategic", "key", "growth")[i % 3],
                        "owner_id": ("am-li", "am-zhang")[i % 2],
                        "team_member_ids": [],
                        "updated_at": NOW,
                        "active": True,
                    }
                    for i, a in enumerate(chunk, start)
                ],
            )
            await session.execute(
                insert(platform.account_access),
                [{"account_id": a, "user_id": ("am-li", "am-zhang")[i % 2]} for i, a in enumerate(chunk, start)],
            )
            await session.execute(
                insert(Target),
                [
                    {
                        "id": str(uuid.uuid4()),
                        "scope": "account",
                        "account_id": a,
                        "owner_id": None,
                        "metric": "revenue",
                        "unit": "CNY",
                        "period": "2026",
                        "period_kind": "year",
                        "target_value": Decimal(1_000_000),
                        "currency": "CNY",
                        "status": "approved",
                        "created_by": "bench",
                        "created_at": NOW,
                        "updated_at": NOW,
                        "version": 1,
                    }
                    for a in chunk
                ],
            )
            lines = [
                {
                    "account_id": a,
                    "sale_date": date.fromisoformat(f"{m}-15"),
                    "month": m,
                    "product_line": p,
                    "region": "华东",
                    "quantity": Decimal(3),
                    "revenue": Decimal(10_000 + (j * 37) % 5000),
                    "cost": Decimal(6000),
                    "currency": "CNY",
                    "batch_id": None,
                    "line_no": None,
                }
                for a in chunk
                for j, (m, p) in enumerate((m, p) for m in MONTHS for p in PRODUCT_LINES)
            ]
            for offset in range(0, len(lines), 20_000):
                await bulk_insert_sales(session, lines[offset : offset + 20_000])
    async with db.transaction() as session:
        target_id = await session.scalar(__import__("sqlalchemy").select(Target.id).where(Target.account_id == ids[-1]))
    await db.dispose()
    return {"account_id": ids[-1], "target_id": target_id, "lines": accounts * len(MONTHS) * len(PRODUCT_LINES)}


async def load_complaints(url: str, accounts: int) -> dict[str, Any]:
    """The same accounts in the complaints service's projection, each with six closed complaints over the three
    years (responded and resolved, some late, half with a satisfaction score)."""
    from datetime import timedelta

    from sqlalchemy import insert

    from services.complaints.intake.models import Complaint
    from services.complaints.models import platform
    from shared.db import Database
    from shared.migrations import upgrade_to_head

    db = Database(url)
    await upgrade_to_head(db, COMPLAINT_MIGRATIONS)
    ids = [str(uuid.UUID(int=i + 1)) for i in range(accounts)]
    first = datetime(2023, 11, 20, 2, 0, tzinfo=UTC)
    for start in range(0, accounts, 500):
        chunk = ids[start : start + 500]
        async with db.transaction() as session:
            await session.execute(
                insert(platform.accounts),
                [
                    {
                        "account_id": a,
                        "name": f"客户{a[-6:]}",
                        "tier": ("strategic", "key", "growth")[i % 3],
                        "owner_id": ("am-li", "am-zhang")[i % 2],
                        "team_member_ids": [],
                        "updated_at": NOW,
                        "active": True,
                    }
                    for i, a in enumerate(chunk, start)
                ],
            )
            await session.execute(
                insert(platform.account_access),
                [{"account_id": a, "user_id": ("am-li", "am-zhang")[i % 2]} for i, a in enumerate(chunk, start)],
            )
            rows = []
            for i, a in enumerate(chunk, start):
                for k in range(COMPLAINTS_PER_ACCOUNT):
                    opened = first + timedelta(days=(i * 7 + k * 180) % 1080, hours=k)
                    late = (i + k) % 5 == 0
                    rows.append(
                        {
                            "id": str(uuid.uuid4()),
                            "account_id": a,
                            "title": f"投诉{k}：交付延迟",
                            "description": "基准数据",
                            "channel": "phone",
                            "category": CATEGORIES[(i + k) % len(CATEGORIES)],
                            "severity": ("high", "medium", "low")[k % 3],
                            "state": "closed",
                            "owner_id": ("am-li", "am-zhang")[i % 2],
                            "opened_by": "am-li",
                            "opened_at": opened,
                            "policy_tier": "default",
                            "hours_mode": "calendar",
                            "acknowledged_at": opened + timedelta(minutes=30 + 60 * late),
                            "first_response_minutes": 30 + 60 * late,
                            "first_response_within_sla": not late,
                            "resolution_started_at": opened,
                            "resolved_at": opened + timedelta(hours=20 + 40 * late),
                            "resolution_minutes": (20 + 40 * late) * 60,
                            "resolution_within_sla": not late,
                            "resolution_legs": 1,
                            "resolution_legs_met": int(not late),
                            "resolution_minutes_total": (20 + 40 * late) * 60,
                            "closed_at": opened + timedelta(days=3),
                            "satisfaction": (3 + (i + k) % 3) if k % 2 else None,
                            "root_cause_category": "process",
                            "updated_at": opened + timedelta(days=3),
                        }
                    )
            await session.execute(insert(Complaint), rows)
    await db.dispose()
    return {"complaints": accounts * COMPLAINTS_PER_ACCOUNT}


def _measure_complaints(url: str, workdir: Path, seconds: float) -> float:
    """p50 of the complaint analytics over the last 12 months, the complaints service alone under uvicorn."""
    from shared.nats_server import free_port

    port = free_port()
    env = {
        **__import__("os").environ,
        "KAM_COMPLAINTS_DATABASE_URL": url,
        "KAM_COMPLAINTS_JWT_SECRET": SECRET,
        "KAM_COMPLAINTS_ENVIRONMENT": "test",
        "KAM_COMPLAINTS_LOG_LEVEL": "WARNING",
        "KAM_COMPLAINTS_NATS_ENABLED": "false",
        "KAM_COMPLAINTS_PERIODIC_JOBS": "false",
    }
    proc = uvicorn("services.complaints.app:create_app", port, env, workdir / "complaints.log")
    headers = {"Authorization": f"Bearer {token('sup-wang', ['supervisor'])}"}
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ok(f"{base}/readyz", proc=proc, timeout=120)
        load = wrk(
            f"{base}/complaints/analytics?{ANALYTICS_WINDOW}",
            connections=1,
            threads=1,
            seconds=seconds,
            headers=headers,
        )
        if load.errors:
            raise RuntimeError(f"complaint analytics: {load.non2xx} non-2xx, {load.socket_errors} socket errors")
        return load.p50_ms
    finally:
        stop([proc])


def _measure(ctx: Context, url: str, workdir: Path, facts: dict[str, Any], seconds: float) -> dict[str, float]:
    from shared.nats_server import free_port

    port = free_port()
    env = {
        **__import__("os").environ,
        "KAM_GOALS_DATABASE_URL": url,
        "KAM_GOALS_JWT_SECRET": SECRET,
        "KAM_GOALS_ENVIRONMENT": "test",
        "KAM_GOALS_LOG_LEVEL": "WARNING",
        "KAM_GOALS_NATS_ENABLED": "false",
        "KAM_GOALS_IMPORT_SPOOL_DIR": str(workdir / "spool"),
        # The reads alone: the hourly jobs (re-tracking every approved target at start-up) would hold the database
        # while they run — at 10,000 accounts the service did not answer ready within 120 s with them on.
        "KAM_GOALS_PERIODIC_JOBS": "false",
    }
    proc = uvicorn("services.goals.app:create_app", port, env, workdir / "goals.log")
    headers = {"Authorization": f"Bearer {token('sup-wang', ['supervisor'])}"}
    base = f"http://127.0.0.1:{port}"
    reads = {
        "portfolio board": f"{base}/goals/views/portfolio",
        "account section of the overview": f"{base}/goals/views/accounts/{facts['account_id']}",
        "variance (vs previous year)": f"{base}/goals/targets/{facts['target_id']}/variance?compare=previous_year",
    }
    out: dict[str, float] = {}
    try:
        wait_ok(f"{base}/readyz", proc=proc, timeout=120)
        for name, read_url in reads.items():
            load = wrk(read_url, connections=1, threads=1, seconds=seconds, headers=headers)
            if load.errors:
                raise RuntimeError(f"{name}: {load.non2xx} non-2xx, {load.socket_errors} socket errors")
            out[name] = load.p50_ms
    finally:
        stop([proc])
    return out


def run(ctx: Context) -> Section:
    sizes = ctx.sizes(full=(1_000, 10_000, 50_000), quick=(10, 40))
    section = Section(TITLE)
    seconds = 1.0 if ctx.quick else 10.0
    for backend in ctx.backends():
        figures: dict[int, dict[str, float]] = {}
        for size in sizes:
            workdir = ctx.scratch(f"reads-{backend}-{size}")
            if backend == "sqlite":
                url = f"sqlite+aiosqlite:///{workdir / 'goals.db'}"
            else:
                assert ctx.postgres_url is not None
                url = asyncio.run(create_postgres_database(ctx.postgres_url))
            from bench.common import in_child

            facts = in_child("bench.scenario_reads", url, str(size), timeout=6 * 3600)
            figures[size] = _measure(ctx, url, workdir, facts, seconds)
            if backend == "sqlite":
                complaints_url = f"sqlite+aiosqlite:///{workdir / 'complaints.db'}"
            else:
                assert ctx.postgres_url is not None
                complaints_url = asyncio.run(create_postgres_database(ctx.postgres_url))
            in_child("bench.scenario_reads", complaints_url, str(size), "complaints", timeout=6 * 3600)
            figures[size]["complaint analytics (12 months)"] = _measure_complaints(complaints_url, workdir, seconds)
        smallest = sizes[0]
        for name in figures[smallest]:
            for size in sizes:
                p50, base = figures[size][name], figures[smallest][name]
                goal, met = "flat in history", None
                if name == "portfolio board" and size == 10_000:
                    goal, met = "≤ 100 ms at 10,000", p50 <= 100
                elif name.startswith("complaint analytics"):
                    goal = "flat in history"
                section.add(
                    f"{backend}: {name}, {size:,} accounts: p50 (ms)",
                    f"{p50:.1f}",
                    f"{base:.1f} at {smallest:,}",
                    ratio(p50, base),
                    goal,
                    met,
                )
    section.notes.append(
        "Every account has 36 months × 8 product lines of sales (one line each) and an approved 2026 revenue "
        "target; the reads use the pre-aggregated tables (account × month × product line × region, account × "
        "month and account × fiscal year), maintained in the same transaction as the lines. p50 from wrk on one "
        "connection, the goals service alone under uvicorn (no gateway, no cache). Complaint analytics: each "
        f"account also has {COMPLAINTS_PER_ACCOUNT} closed complaints over the three years; the report covers the "
        "last 12 months (a third of them), read by the complaints service alone."
    )
    return section


if __name__ == "__main__":
    loader = load_complaints if sys.argv[3:] == ["complaints"] else load
    result = asyncio.run(loader(sys.argv[1], int(sys.argv[2])))
    print(json.dumps(result))
