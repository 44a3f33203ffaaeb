"""Re-score a portfolio of 100,000 accounts: the pure scoring function vs. the full persisted re-score job.

The rows are created directly in bulk (SQLite, the embedded default). Three figures, one run:
- baseline: the scoring model alone, in memory (indicator values, percentiles, scores, tiers);
- first full re-score: every account gets its first tier (a tier change, history row and event each);
- steady full re-score: the same portfolio again, scores rewritten, no tier moves.
"""

from __future__ import annotations

import asyncio
import gc
import random
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from bench.common import BenchResult, peak_rss_mib
from services.scoring.features import indicator_values
from services.scoring.models import platform
from services.scoring.registry.models import Account
from services.scoring.scores.model_versions import ensure_default_model
from services.scoring.scores.models import AccountFeatures, TierChange
from services.scoring.scores.rescore_jobs import request_rescore, run_rescore_job
from services.scoring.scoring_model import (
    assign_tiers,
    build_populations,
    compile_model,
    default_definition,
    score_account,
)
from shared.bus import Publisher
from shared.clock import FrozenClock, business_zone
from shared.db import Database
from shared.migrations import upgrade_to_head

MIGRATIONS = Path(__file__).resolve().parent.parent / "services" / "scoring" / "migrations"
NOW = datetime(2026, 11, 15, 9, 0, tzinfo=UTC)
INDUSTRIES = ["制造业", "汽车", "新能源", "医药", "快消", "电子", "物流", "零售"]
REGIONS = ["华东", "华南", "华北", "西南", "华中", "西北", "东北"]


def _portfolio(n: int, seed: int = 7) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(seed)
    accounts, features = [], []
    for i in range(n):
        account_id = str(uuid.UUID(int=rng.getrandbits(128)))
        purchases = Decimal(int(rng.lognormvariate(14, 1.2)))
        accounts.append(
            {
                "id": account_id,
                "name": f"基准客户{i:06d}有限公司",
                "industry": INDUSTRIES[i % len(INDUSTRIES)],
                "region": REGIONS[i % len(REGIONS)],
                "currency": "CNY",
                "listed": False,
                "status": "key_account",
                "owner_id": f"am-{i % 50}",
                "team_member_ids": [],
                "cooperation_since": date(2026, 1, 1) - timedelta(days=rng.randint(0, 6000)),
                "industry_leadership": Decimal(rng.randint(0, 100)) / 10,
                "reference_value": Decimal(rng.randint(0, 100)) / 10,
                "channel_value": Decimal(rng.randint(0, 100)) / 10,
                "product_fit": Decimal(rng.randint(0, 100)) / 10,
                "expected_growth_pct": Decimal(rng.randint(-5, 40)),
                "version": 1,
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
        features.append(
            {
                "account_id": account_id,
                "annual_purchases": purchases,
                "annual_profit": (purchases * Decimal(rng.randint(10, 35)) / 100).quantize(Decimal(1)),
                "previous_year_purchases": (purchases * Decimal(rng.randint(60, 140)) / 100).quantize(Decimal(1)),
                "active_months": rng.randint(0, 12),
                "product_lines": [],
                "satisfaction_avg": Decimal(rng.randint(10, 50)) / 10 if rng.random() < 0.6 else None,
                "satisfaction_count": 1,
                "escalations": rng.choice([0, 0, 0, 1, 2]),
                "credit_grade": rng.choice("ABCDE"),
                "highest_contact_level": rng.randint(0, 3),
                "updated_at": NOW,
            }
        )
    return accounts, features


def _pure_rescore(accounts: list[dict[str, Any]], features: list[dict[str, Any]]) -> tuple[float, float]:
    """(wall, CPU) seconds for the model alone over the whole portfolio."""
    definition = default_definition()
    gc.disable()  # as the job does while it scores (the cyclic collector halves the speed of this burst)
    started, cpu = time.perf_counter(), time.process_time()
    profit = sum((f["annual_profit"] for f in features), Decimal(0))
    values = [
        indicator_values(account=a, features=f, today=NOW.date(), portfolio_profit=profit)
        for a, f in zip(accounts, features, strict=True)
    ]
    populations = build_populations(definition, values)
    compiled = compile_model(definition)
    results = [score_account(compiled, v, populations) for v in values]
    assign_tiers(definition.tiers, [(a["id"], r.total, r.total) for a, r in zip(accounts, results, strict=True)])
    elapsed = time.perf_counter() - started, time.process_time() - cpu
    gc.enable()
    return elapsed


async def _persisted(url: str, accounts: list[dict[str, Any]], features: list[dict[str, Any]]) -> dict[str, Any]:
    db = Database(url)
    try:
        await upgrade_to_head(db, MIGRATIONS)
        load_started = time.perf_counter()
        async with db.transaction() as session:
            await ensure_default_model(session, now=NOW)
            for start in range(0, len(accounts), 10_000):
                await session.execute(insert(Account.__table__), accounts[start : start + 10_000])
                await session.execute(insert(AccountFeatures.__table__), features[start : start + 10_000])
                await session.execute(
                    insert(platform.accounts),
                    [
                        {
                            "account_id": a["id"],
                            "name": a["name"],
                            "team_member_ids": [],
                            "updated_at": NOW,
                            "active": True,
                        }
                        for a in accounts[start : start + 10_000]
                    ],
                )
        load_seconds = time.perf_counter() - load_started
        timings = []
        for _ in range(2):
            async with db.transaction() as session:
                job, _new = await request_rescore(session, trigger="manual", actor_id="bench", now=NOW)
            started, cpu = time.perf_counter(), time.process_time()
            publisher = Publisher(service="scoring", outbox=platform.outbox, clock=FrozenClock(NOW))
            done = await run_rescore_job(
                db, platform, publisher=publisher, job_id=job.id, now=lambda: NOW, zone=business_zone(), chunk_size=2000
            )
            timings.append((time.perf_counter() - started, time.process_time() - cpu, done.tier_changes, done.done))
        async with db.transaction() as session:
            history = await session.scalar(select(func.count()).select_from(TierChange))
            events = await session.scalar(select(func.count()).select_from(platform.outbox))
        return {"load": load_seconds, "runs": timings, "history": history, "events": events}
    finally:
        await db.dispose()


def run(quick: bool) -> BenchResult:
    """Benchmark entry point (``python -m bench scoring``)."""
    n = 5_000 if quick else 100_000
    accounts, features = _portfolio(n)
    pure, pure_cpu = _pure_rescore(accounts, features)
    with tempfile.TemporaryDirectory() as tmp:
        outcome = asyncio.run(_persisted(f"sqlite+aiosqlite:///{tmp}/bench.db", accounts, features))
    (first, first_cpu, first_changes, first_done), (steady, steady_cpu, steady_changes, steady_done) = outcome["runs"]
    result = BenchResult(f"Scoring: full re-score of {n:,} accounts (SQLite)")
    result.add("accounts", f"{n:,}")
    result.add("baseline: scoring model in memory", f"{pure:.1f} s, CPU {pure_cpu:.1f} s ({n / pure:,.0f} accounts/s)")
    result.add(
        "first full re-score job (every account gets its tier)",
        f"{first:.1f} s, CPU {first_cpu:.1f} s ({first_done / first:,.0f} accounts/s; {first_changes:,} tier changes)",
    )
    result.add(
        "steady full re-score job (no tier moves)",
        f"{steady:.1f} s, CPU {steady_cpu:.1f} s ({steady_done / steady:,.0f} accounts/s; "
        f"{steady_changes:,} tier changes)",
    )
    result.add(
        "persisted steady run / in-memory baseline (wall; CPU)", f"{steady / pure:.1f}×; {steady_cpu / pure_cpu:.1f}×"
    )
    result.add(
        "persisted first run / in-memory baseline (wall; CPU)", f"{first / pure:.1f}×; {first_cpu / pure_cpu:.1f}×"
    )
    result.add("tier history rows / tier_changed events written", f"{outcome['history']:,} / {outcome['events']:,}")
    result.add("bulk load of the rows (not timed above)", f"{outcome['load']:.1f} s")
    result.add("peak RSS", f"{peak_rss_mib():.0f} MiB")
    result.notes = (
        "CPU is the whole process (the SQLite driver thread included): on a shared machine wall time also "
        "counts waiting for a core. "
        "The job reads the portfolio once, scores it in memory (percentiles need the whole portfolio), then "
        "writes scores in chunks of 2,000 accounts per transaction, updating the job's progress after each. "
        "A tier move also writes its history row, the projection and one `accounts.tier_changed` outbox row."
    )
    return result
