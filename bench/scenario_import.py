"""Actuals import: a CSV of sales lines (1,000,000 rows; quick: 20,000) through the streaming importer, rows/s and
peak RSS on SQLite and PostgreSQL, against reading the same file with the csv module alone.

Each measurement runs in a fresh process (``python -m bench.scenario_import``) so its peak RSS is its own.
"""

from __future__ import annotations

import asyncio
import csv
import json
import resource
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import Context, Section, in_child, peak_rss_mib, ratio
from bench.platform import create_postgres_database

TITLE = "Actuals import: streaming CSV of sales lines vs the csv module alone"
ACCOUNTS = 1_000
BAD_EVERY = 10_000  # one bad row (unknown account) in ten thousand
LINES = ("工业网关", "智能传感器", "PLC控制器", "SCADA软件", "工业云平台", "运维服务", "边缘计算", "备件")
MIGRATIONS = Path(__file__).resolve().parent.parent / "services" / "goals" / "migrations"


def write_csv(path: Path, rows: int, accounts: list[str]) -> None:
    """``rows`` sales lines over three years and eight product lines, streamed to disk."""
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("account_id,date,product_line,region,quantity,revenue,cost\n")
        for i in range(rows):
            account = "unknown" if i % BAD_EVERY == BAD_EVERY - 1 else accounts[i % len(accounts)]
            year, month, day = 2024 + i % 3, 1 + i % 12, 1 + i % 28
            revenue = 1000 + (i * 7919) % 90000
            day_text = f"{year}-{month:02d}-{day:02d}"
            f.write(f"{account},{day_text},{LINES[i % 8]},华东,{1 + i % 9},{revenue}.50,{revenue * 6 // 10}\n")


async def _child_import(path: Path, url: str, accounts: list[str]) -> dict[str, Any]:
    from datetime import UTC, datetime

    from sqlalchemy import insert, select

    from services.goals.actuals.importer import run_import, start_batch
    from services.goals.app import goals_publisher
    from services.goals.config import GoalsSettings
    from services.goals.models import platform
    from shared.clock import SystemClock
    from shared.db import Database
    from shared.migrations import upgrade_to_head

    settings = GoalsSettings(database_url=url, environment="development")
    db = Database(settings.database_url)
    await upgrade_to_head(db, MIGRATIONS)
    now = datetime.now(UTC)
    async with db.transaction() as session:
        await session.execute(
            insert(platform.accounts),
            [{"account_id": a, "name": a, "team_member_ids": [], "updated_at": now, "active": True} for a in accounts],
        )
        await start_batch(session, batch_id="bench", filename=path.name, actor_id="bench", now=now)
    chunks_done: list[float] = []  # when each chunk was committed: the last one ends the lines' phase
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    result = await run_import(
        db,
        batch_id="bench",
        path=path,
        settings=settings,
        clock=SystemClock(),
        publisher=goals_publisher(SystemClock()),
        progress=lambda _state: chunks_done.append(time.perf_counter()),
    )
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_started
    async with db.transaction() as session:
        subjects = (await session.execute(select(platform.outbox.c.subject))).scalars().all()
    await db.dispose()
    return {
        "seconds": seconds,
        "lines_seconds": (chunks_done[-1] if chunks_done else started) - started,
        "cpu_seconds": cpu,
        "accepted": result["accepted"],
        "rejected": result["rejected"],
        "status": result["status"],
        "account_months": result["account_months"],
        "events": {s: subjects.count(s) for s in sorted(set(subjects))},
    }


def _cpu_seconds() -> float:
    """CPU time of this process so far, every thread (parser, driver), user and system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _child_baseline(path: Path) -> dict[str, Any]:
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    rows = 0
    with path.open("r", encoding="utf-8", newline="") as f:
        for _ in csv.reader(f):
            rows += 1
    return {"seconds": time.perf_counter() - started, "cpu_seconds": _cpu_seconds() - cpu_started, "rows": rows - 1}


def run(ctx: Context) -> Section:
    rows = 5_000 if ctx.quick else 1_000_000
    section = Section(f"{TITLE} ({rows:,} rows)")
    tmp = ctx.scratch("import")
    accounts = [str(uuid.UUID(int=i + 1)) for i in range(ACCOUNTS)]
    (tmp / "accounts.json").write_text(json.dumps(accounts))
    path = tmp / "sales.csv"
    write_csv(path, rows, accounts)
    baseline = in_child("bench.scenario_import", "baseline", str(path))
    base_rate = rows / baseline["seconds"]
    for backend in ctx.backends():
        if backend == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp / 'goals.db'}"
        else:
            assert ctx.postgres_url is not None
            url = asyncio.run(create_postgres_database(ctx.postgres_url))
        imported = in_child("bench.scenario_import", "import", str(path), url, str(tmp / "accounts.json"))
        if imported["status"] != "completed" or imported["accepted"] + imported["rejected"] != rows:
            section.invalid.append(f"{backend}: import ended {imported}")
        rate = rows / imported["seconds"]
        section.add(
            f"{backend}: rows/s",
            f"{rate:,.0f} ({imported['seconds']:.1f} s)",
            f"{base_rate:,.0f} ({baseline['seconds']:.2f} s)",
            ratio(rate, base_rate),
            "≥ 100,000 rows/s",
            rate >= 100_000,
        )
        section.add(
            f"{backend}: peak RSS (MiB)",
            f"{imported['peak_rss_mib']:.0f}",
            f"{baseline['peak_rss_mib']:.0f}",
            ratio(imported["peak_rss_mib"], baseline["peak_rss_mib"]),
            "≤ 300 MB",
            imported["peak_rss_mib"] * 1.048576 <= 300,
        )
        section.add(
            f"{backend}: CPU s (all threads)",
            f"{imported['cpu_seconds']:.1f}",
            f"{baseline['cpu_seconds']:.2f}",
            ratio(imported["cpu_seconds"], baseline["cpu_seconds"]),
        )
        section.add(
            f"{backend}: of which lines and aggregates (chunks) / events and re-tracking (end), s",
            f"{imported['lines_seconds']:.1f} / {imported['seconds'] - imported['lines_seconds']:.1f}",
        )
        section.add(f"{backend}: rows rejected (1 in {BAD_EVERY:,} is bad)", str(imported["rejected"]))
        events = imported["events"]
        section.add(
            f"{backend}: events published (account-months touched: {imported['account_months']:,})",
            ", ".join(f"{n:,} {s.removeprefix('kam.')}" for s, n in events.items()) or "none",
            goal=f"≤ {ACCOUNTS:,} (one per account)",
            met=sum(n for s, n in events.items() if "actuals" in s) <= ACCOUNTS,
        )
    section.notes.append(
        f"{ACCOUNTS:,} accounts, 8 product lines over 3 years; the importer validates every row (no pydantic), "
        "converts none (all in the reporting currency), writes each 50,000-row chunk with one executemany "
        "(SQLite) or one COPY (PostgreSQL) and its per-cell sums (one upsert per cell), then publishes one "
        "`goals.actuals_imported` per account touched and re-tracks targets once. Baseline: csv.reader over the "
        "same file, nothing else. CPU s: the process's user + system time (every thread), which a busy machine "
        "disturbs less than the wall clock."
    )
    return section


def _main() -> None:
    mode, *args = sys.argv[1:]
    if mode == "baseline":
        out = _child_baseline(Path(args[0]))
    else:
        out = asyncio.run(_child_import(Path(args[0]), args[1], json.loads(Path(args[2]).read_text())))
    out["peak_rss_mib"] = peak_rss_mib()
    print(json.dumps(out))


if __name__ == "__main__":
    _main()
