"""Writes that grow: accounts registered through the gateway in batches of 100, and one sales line recorded
through the gateway (goals writes the line and its aggregates, publishes ``goals.actuals_recorded``, re-tracks),
timed as the registry grows to 1,000 / 10,000 / 50,000 accounts (quick: 200 / 600), against the same at the first."""

from __future__ import annotations

import statistics
import time

from bench.common import Context, Section, ratio
from bench.platform import shared_platform

TITLE = "Writes that grow: batches of 100 accounts and one actuals write through the gateway"


def _actuals(client, account_id: str) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """The write's time (ms) once goals knows the account, and how long goals took to learn it (s)."""
    line = {
        "account_id": account_id,
        "date": "2026-10-08",
        "product_line": "工业网关",
        "revenue": "1200",
        "cost": "700",
    }
    first = time.perf_counter()
    deadline = first + 600
    while True:
        began = time.perf_counter()
        response = client.post("/goals/actuals", json={"records": [line]})
        if response.status_code == 201:
            return (time.perf_counter() - began) * 1000, began - first
        if time.perf_counter() > deadline:
            raise RuntimeError(f"actuals write answered {response.status_code}: {response.text[:300]}")
        time.sleep(0.2)  # goals has not projected the account yet


def run(ctx: Context) -> Section:
    marks = ctx.sizes(full=(1_000, 10_000, 50_000), quick=(100, 300))
    section = Section(TITLE)
    platform = shared_platform(ctx)
    figures: dict[int, tuple[float, float]] = {}
    lags: dict[int, float] = {}
    registered = 0
    with platform.client() as client:
        for mark in marks:
            timings, ids = platform.register_accounts(client, mark - registered, start=100_000 + registered)
            registered = mark
            account_id = ids[-1]
            writes = [_actuals(client, account_id) for _ in range(3)]
            lags[mark] = writes[0][1]
            write_ms = statistics.median(ms for ms, _ in writes)
            figures[mark] = (statistics.median(timings[-5:]) * 1000, write_ms)
    first = marks[0]
    for mark in marks:
        batch_ms, write_ms = figures[mark]
        goal, met = ("≤ 2 s per batch at 50,000", batch_ms <= 2000) if mark == 50_000 else ("flat per account", None)
        section.add(
            f"batch of 100 accounts at {mark:,} (ms, median of the last 5)",
            f"{batch_ms:.0f}",
            f"{figures[first][0]:.0f} at {first:,}",
            ratio(batch_ms, figures[first][0]),
            goal,
            met,
        )
        section.add(
            f"one actuals write at {mark:,} accounts (ms, median of 3)",
            f"{write_ms:.0f}",
            f"{figures[first][1]:.0f} at {first:,}",
            ratio(write_ms, figures[first][1]),
            "flat per account",
        )
        section.add(
            f"last batch's newest account known to goals at {mark:,} (s after the batch answered)", f"{lags[mark]:.1f}"
        )
    section.notes.append(
        "Accounts registered with POST /api/v1/accounts/batch (100 per request, one transaction each) on the shared "
        "SQLite platform; the actuals write is POST /api/v1/goals/actuals with one line for the newest account."
    )
    return section
