"""Goals: streaming CSV import of sales lines — rows/s and peak memory, 100k against 1M rows.

Each measurement runs in a fresh process so its peak RSS is its own. The baseline, measured in the same
run, is only reading and splitting the same CSV with ``csv.reader`` (no validation, no database).
"""

from __future__ import annotations

import asyncio
import csv
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import BenchResult, peak_rss_mib

ACCOUNTS = 200
BAD_EVERY = 10_000  # one bad row (unknown account) in ten thousand


def write_csv(path: Path, rows: int, accounts: list[str]) -> None:
    """``rows`` sales lines over three years and six product lines, streamed to disk."""
    lines = ("工业网关", "智能传感器", "PLC控制器", "SCADA软件", "工业云平台", "运维服务")
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("account_id,date,product_line,region,quantity,revenue,cost\n")
        for i in range(rows):
            account = "unknown" if i % BAD_EVERY == BAD_EVERY - 1 else accounts[i % len(accounts)]
            year, month, day = 2024 + i % 3, 1 + i % 12, 1 + i % 28
            revenue = 1000 + (i * 7919) % 90000
            day_text = f"{year}-{month:02d}-{day:02d}"
            f.write(f"{account},{day_text},{lines[i % 6]},华东,{1 + i % 9},{revenue}.50,{revenue * 6 // 10}\n")


MIGRATIONS = Path(__file__).resolve().parent.parent / "services" / "goals" / "migrations"


async def _child_import(path: Path, db_path: Path, accounts: list[str]) -> dict[str, Any]:
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from services.goals.actuals.importer import run_import, start_batch
    from services.goals.app import goals_publisher
    from services.goals.config import GoalsSettings
    from services.goals.models import platform
    from shared.clock import SystemClock
    from shared.db import Database
    from shared.migrations import upgrade_to_head

    settings = GoalsSettings(database_url=f"sqlite+aiosqlite:///{db_path}", environment="development")
    db = Database(settings.database_url)
    await upgrade_to_head(db, MIGRATIONS)
    now = datetime.now(UTC)
    async with db.transaction() as session:
        await session.execute(
            insert(platform.accounts),
            [{"account_id": a, "name": a, "team_member_ids": [], "updated_at": now, "active": True} for a in accounts],
        )
        await start_batch(session, batch_id="bench", filename=path.name, actor_id="bench", now=now)
    started = time.perf_counter()
    result = await run_import(
        db,
        batch_id="bench",
        path=path,
        settings=settings,
        clock=SystemClock(),
        publisher=goals_publisher(SystemClock()),
    )
    seconds = time.perf_counter() - started
    await db.dispose()
    return {
        "seconds": seconds,
        "accepted": result["accepted"],
        "rejected": result["rejected"],
        "status": result["status"],
    }


def _child_baseline(path: Path) -> dict[str, Any]:
    started = time.perf_counter()
    rows = 0
    with path.open("r", encoding="utf-8", newline="") as f:
        for _ in csv.reader(f):
            rows += 1
    return {"seconds": time.perf_counter() - started, "rows": rows - 1}


def _in_child(mode: str, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_goals", mode, *args],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run(quick: bool) -> BenchResult:
    """Import a small and a large file (100k and 1M rows; quick: 10k and 100k), each in its own process."""
    sizes = (10_000, 100_000) if quick else (100_000, 1_000_000)
    result = BenchResult("Goals: streaming CSV import of sales lines (SQLite, embedded default)")
    accounts = [str(uuid.UUID(int=i + 1)) for i in range(ACCOUNTS)]
    figures: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        accounts_file = Path(tmp) / "accounts.json"
        accounts_file.write_text(json.dumps(accounts))
        for rows in sizes:
            path = Path(tmp) / f"sales-{rows}.csv"
            write_csv(path, rows, accounts)
            size_mib = path.stat().st_size / 2**20
            baseline = _in_child("baseline", str(path))
            imported = _in_child("import", str(path), str(Path(tmp) / f"goals-{rows}.db"), str(accounts_file))
            assert imported["status"] == "completed", imported
            assert imported["accepted"] + imported["rejected"] == rows
            figures[rows] = {"size": size_mib, "baseline": baseline, "import": imported}
    for rows, f in figures.items():
        label = f"{rows:,} rows ({f['size']:.0f} MiB)"
        import_rate = rows / f["import"]["seconds"]
        base_rate = rows / f["baseline"]["seconds"]
        result.add(f"{label}: import", f"{f['import']['seconds']:.1f} s, {import_rate:,.0f} rows/s")
        result.add(f"{label}: baseline csv.reader only", f"{f['baseline']['seconds']:.2f} s, {base_rate:,.0f} rows/s")
        result.add(f"{label}: import ÷ baseline time", f"{f['import']['seconds'] / f['baseline']['seconds']:.1f}×")
        result.add(f"{label}: rejected rows reported", f"{f['import']['rejected']}")
        result.add(
            f"{label}: peak RSS import / baseline",
            f"{f['import']['peak_rss_mib']:.0f} / {f['baseline']['peak_rss_mib']:.0f} MiB",
        )
    small, large = sizes
    growth = figures[large]["import"]["peak_rss_mib"] / figures[small]["import"]["peak_rss_mib"]
    result.add(f"peak RSS growth for {large // small}× the rows", f"{growth:.2f}× (flat = 1.0)")
    result.notes = (
        "The file is read in 5,000-row chunks (parsed in a worker thread while the previous chunk is written "
        "with one executemany), progress is committed per chunk, and the per account-month "
        "`goals.actuals_recorded` events and target re-tracking run once at the end. Memory therefore does not "
        "grow with the file: compare the peak RSS of the two sizes."
    )
    return result


def _main() -> None:
    mode, *args = sys.argv[1:]
    if mode == "baseline":
        out = _child_baseline(Path(args[0]))
    else:
        accounts = json.loads(Path(args[2]).read_text())
        out = asyncio.run(_child_import(Path(args[0]), Path(args[1]), accounts))
    out["peak_rss_mib"] = peak_rss_mib()
    print(json.dumps(out))


if __name__ == "__main__":
    _main()
