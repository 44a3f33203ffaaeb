"""Re-scoring: a full re-score of 100,000 accounts (quick: 3,000) by the persisted job, wall time and peak RSS,
against the same formula vectorised with NumPy over the indicator values in memory.

The rows are created in bulk (SQLite, the embedded default). The job runs in a child process so its peak RSS is
its own. Two job runs: the first gives every account its tier; the steady one rewrites scores with no tier moves.
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from bench.common import Context, Section, in_child, peak_rss_mib, ratio

TITLE = "Re-scoring: full re-score job vs the same formula vectorised with NumPy"
INDUSTRIES = ["制造业", "汽车", "新能源", "医药", "快消", "电子", "物流", "零售"]
REGIONS = ["华东", "华南", "华北", "西南", "华中", "西北", "东北"]
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
    from services.scoring.features import indicator_values
    from services.scoring.scoring_model import (
        assign_tiers,
        build_populations,
        compile_model,
        default_definition,
        score_account,
    )

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
    """Load the rows, then run the two jobs (in this process: a profile or a quick look; ``run`` loads and runs the
    jobs in two children, so the job's peak RSS is not the generator's)."""
    loaded = await _load(url, accounts, features)
    return {**loaded, **(await _jobs(url))}


async def _load(url: str, accounts: list[dict[str, Any]], features: list[dict[str, Any]]) -> dict[str, Any]:
    from services.scoring.models import platform
    from services.scoring.registry.models import Account
    from services.scoring.scores.model_versions import ensure_default_model
    from services.scoring.scores.models import AccountFeatures
    from shared.db import Database
    from shared.migrations import upgrade_to_head

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
        return {"load": time.perf_counter() - load_started}
    finally:
        await db.dispose()


async def _jobs(url: str) -> dict[str, Any]:
    from services.scoring.models import platform
    from services.scoring.scores.models import TierChange
    from services.scoring.scores.rescore_jobs import request_rescore, run_rescore_job
    from shared.bus import Publisher
    from shared.clock import FrozenClock, business_zone
    from shared.db import Database

    db = Database(url)
    try:
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
        return {"runs": timings, "history": history, "events": events}
    finally:
        await db.dispose()


def _numpy_rescore(accounts: list[dict[str, Any]], features: list[dict[str, Any]]) -> dict[str, Any]:
    """The default model's formula vectorised: normalise each indicator column, weight, sum, tier. The indicator
    values are extracted first (not timed: the baseline is the formula alone)."""
    import numpy as np

    from services.scoring.features import indicator_values
    from services.scoring.scoring_model import default_definition, top_count

    definition = default_definition()
    profit = sum((f["annual_profit"] for f in features), Decimal(0))
    values = [
        indicator_values(account=a, features=f, today=NOW.date(), portfolio_profit=profit)
        for a, f in zip(accounts, features, strict=True)
    ]
    columns = {}
    for item in definition.indicators:
        missing = item.normalisation.missing
        fill = np.nan if missing is None else float(missing)
        columns[item.code] = np.array(
            [fill if v.get(item.code) is None else float(v[item.code]) for v in values], dtype=np.float64
        )
    measure_code = definition.tiers.top_percent.by if definition.tiers.top_percent else None
    measure = np.array([float(f.get(measure_code) or 0) for f in features]) if measure_code else None
    started, cpu = time.perf_counter(), time.process_time()
    total = np.zeros(len(accounts))
    for item in definition.indicators:
        spec, raw = item.normalisation, columns[item.code]
        if spec.method == "bounds":
            assert spec.min is not None and spec.max is not None
            scaled = np.clip((raw - float(spec.min)) * 100 / float(spec.max - spec.min), 0, 100)
        elif spec.method == "thresholds":
            ats = np.array([float(s.at) for s in spec.steps])
            scores = np.concatenate([[0.0], [float(s.score) for s in spec.steps]])
            scaled = scores[np.searchsorted(ats, raw, side="right")]
        else:
            population = np.sort(raw[~np.isnan(raw)])
            n = len(population)
            ranks = np.searchsorted(population, raw, side="left")
            scaled = np.minimum(ranks * 100 / max(n - 1, 1), 100) if n > 1 else np.full(len(raw), 100.0)
        scaled = np.where(np.isnan(raw), 0.0, np.round(scaled, 2))
        total += np.round(float(item.weight) / 100 * scaled, 2)
    thresholds = definition.tiers.thresholds
    tiers = np.full(len(accounts), "maintain", dtype=object)
    for tier in sorted(thresholds, key=lambda t: thresholds[t]):
        tiers[total >= float(thresholds[tier])] = tier
    if measure is not None and definition.tiers.top_percent is not None:
        order = np.lexsort((-total, -measure))
        top = np.zeros(len(accounts), dtype=bool)
        top[order[: top_count(len(accounts), definition.tiers.top_percent.percent)]] = True
        key_tiers = np.isin(tiers, ["strategic", "key"])
        tiers = np.where(top & ~key_tiers, "key", np.where(~top & key_tiers, "growth", tiers))
    return {"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu, "scored": len(total)}


def _child(mode: str, n: int, db: str) -> dict[str, Any]:
    if mode == "job":  # the rows are in the database already (``load``): the job's process holds only its own
        return asyncio.run(_jobs(f"sqlite+aiosqlite:///{db}"))
    accounts, features = _portfolio(n)
    if mode == "numpy":
        return _numpy_rescore(accounts, features)
    if mode == "python":
        wall, cpu = _pure_rescore(accounts, features)
        return {"seconds": wall, "cpu": cpu}
    return asyncio.run(_load(f"sqlite+aiosqlite:///{db}", accounts, features))


def run(ctx: Context) -> Section:
    n = 1_000 if ctx.quick else 100_000
    section = Section(f"{TITLE} ({n:,} accounts, SQLite)")
    db = ctx.scratch("rescore") / "scoring.db"
    vectorised = in_child("bench.scenario_rescore", "numpy", str(n), str(db))
    pure = in_child("bench.scenario_rescore", "python", str(n), str(db))
    loaded = in_child("bench.scenario_rescore", "load", str(n), str(db))
    job = in_child("bench.scenario_rescore", "job", str(n), str(db))
    (first, first_cpu, first_changes, first_done), (steady, steady_cpu, steady_changes, _) = job["runs"]
    base = vectorised["seconds"]
    section.add(
        "steady full re-score job: wall (s)", f"{steady:.2f}", f"{base:.3f}", ratio(steady, base), "≤ 5 s", steady <= 5
    )
    section.add(
        "first full re-score job (every tier new): wall (s)",
        f"{first:.2f}",
        f"{base:.3f}",
        ratio(first, base),
        "≤ 5 s",
        first <= 5,
    )
    section.add("job CPU, steady / first (s)", f"{steady_cpu:.2f} / {first_cpu:.2f}", f"{vectorised['cpu']:.3f}")
    section.add(
        "peak RSS of the job's process (MiB)",
        f"{job['peak_rss_mib']:.0f}",
        f"{vectorised['peak_rss_mib']:.0f}",
        ratio(job["peak_rss_mib"], vectorised["peak_rss_mib"]),
        "≤ 400 MB",
        job["peak_rss_mib"] * 1.048576 <= 400,
    )
    section.add(
        "scoring model in pure Python, in memory (s; for reference)",
        f"{pure['seconds']:.2f}",
        f"{base:.3f}",
        ratio(pure["seconds"], base),
    )
    section.add(
        "tier changes first / steady; history rows / events",
        f"{first_changes:,} / {steady_changes:,}; {job['history']:,} / {job['events']:,}",
    )
    section.add("bulk load of the rows (not timed above, s)", f"{loaded['load']:.1f}")
    if first_done != n:
        section.invalid.append(f"the job scored {first_done} of {n} accounts")
    section.notes.append(
        "The job reads the portfolio, scores it in memory (percentiles need the whole portfolio) and writes scores "
        "in chunks of 2,000 accounts per transaction; a tier move also writes its history row and one outbox event. "
        "The NumPy baseline is the default model's normalisation, weights and tier rules over arrays of the "
        "indicator values (their extraction not timed); its peak RSS includes the portfolio in memory. The rows are "
        "loaded by one child and the job runs in another, so the job's peak RSS is its own (reading, scoring and "
        "writing the portfolio), not the generator's."
    )
    return section


if __name__ == "__main__":
    mode, size, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    out = _child(mode, size, path)
    out["peak_rss_mib"] = peak_rss_mib()
    print(json.dumps(out, default=str))
