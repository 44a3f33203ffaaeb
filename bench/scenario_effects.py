"""Write → event → effect: complaints created through the gateway at a steady rate (200/s; quick: 20/s), and
for each event the time from its commit in the complaints outbox until every consuming service (scoring, risk,
goals, …) recorded it handled; p50, p99 and lost events (SQLite platform)."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections import Counter
from typing import Any

import httpx

from bench.common import Context, Section
from bench.events import handled, outbox
from bench.platform import SERVICES, account_body, shared_platform

TITLE = "Write → event → effect: complaints through the gateway at a steady rate"


def run(ctx: Context) -> Section:
    rate, seconds = (20, 3) if ctx.quick else (200, 30)
    section = Section(f"{TITLE} ({rate}/s for {seconds} s)")
    platform = shared_platform(ctx)
    with platform.client() as client:
        account_id = client.post("/accounts", json=account_body(800_000)).json()["id"]
        deadline = time.monotonic() + 60
        body = {
            "account_id": account_id,
            "title": "交付延迟",
            "description": "基准测试投诉",
            "category": "delivery_timeliness",
        }
        while client.post("/complaints", json=body).status_code != 201:  # until complaints knows the account
            if time.monotonic() > deadline:
                raise TimeoutError("complaints never learned the account")
            time.sleep(0.2)
    before = set(outbox(platform.databases["complaints"], "%"))
    statuses, achieved, late = asyncio.run(_steady_load(platform, body, rate, seconds))
    events = {k: v for k, v in outbox(platform.databases["complaints"], "%").items() if k not in before}
    types = {k: json.loads(payload).get("type", "?") for k, (_, payload) in events.items()}
    consumers = [s for s in SERVICES if s != "complaints"]
    counts = Counter(types.values())
    seen: dict[str, dict[str, object]] = {}
    per_type: dict[str, list[str]] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        seen = {s: handled(platform.databases[s], set(events)) for s in consumers}
        per_type = _consumers_by_type(seen, types)
        done = all(sum(types[e] == t for e in seen[s]) == counts[t] for t, using in per_type.items() for s in using)
        if done and any(per_type.values()):
            break
        time.sleep(0.5)
    if not any(per_type.values()):
        raise RuntimeError(f"no consumer handled any of the {len(events)} complaints events within 60 s")
    delays, lost = [], 0
    for event_id, (committed, _) in events.items():
        consuming = per_type[types[event_id]]
        if not consuming:
            continue  # an event type no service consumes (the outbox keeps it for replay)
        times = [seen[s].get(event_id) for s in consuming]
        if any(t is None for t in times):
            lost += 1
            continue
        delays.append(max((t - committed).total_seconds() for t in times if t is not None) * 1000)  # type: ignore[operator]
    non2xx = sum(n for s, n in statuses.items() if not 200 <= s < 300)
    if non2xx:
        section.invalid.append(f"{non2xx} complaint writes answered non-2xx: {statuses}")
    delays.sort()
    p50 = statistics.median(delays) if delays else float("nan")
    p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))] if delays else float("nan")
    consumed = {t: ", ".join(sorted(c)) or "none" for t, c in sorted(per_type.items())}
    section.add(
        "complaints written (achieved rate /s; sent > 50 ms late)", f"{rate * seconds} ({achieved:.0f}/s; {late})"
    )
    section.add("events committed (complaints outbox)", str(len(events)))
    section.add("consumers by event type", "; ".join(f"{t}: {c}" for t, c in consumed.items()))
    section.add("commit → handled by all consumers: p50 (ms)", f"{p50:.0f}")
    section.add("commit → handled by all consumers: p99 (ms)", f"{p99:.0f}", goal="≤ 100 ms", met=p99 <= 100)
    section.add("lost events (not handled within 60 s)", str(lost), goal="0", met=lost == 0)
    section.notes.append(
        "Open-loop load: each write is sent at its scheduled time (rate × seconds, up to 64 connections) whether or "
        "not the earlier ones have answered, so a slow answer does not lower the rate. Each event is timed against "
        "the services that consume its type (those that handled any event of that type). Timings from the "
        "databases: the outbox row's commit time and each consumer's inbox row (handled in the same transaction as "
        "its effect); notifications count as the consumer that records them."
    )
    return section


def _consumers_by_type(seen: dict[str, dict[str, object]], types: dict[str, str]) -> dict[str, list[str]]:
    """Each event type's consumers: the services that handled any event of that type."""
    using: dict[str, set[str]] = {t: set() for t in types.values()}
    for service, got in seen.items():
        for event_id in got:
            using[types[event_id]].add(service)
    return {t: sorted(services) for t, services in using.items()}


async def _steady_load(
    platform: Any, body: dict[str, Any], rate: int, seconds: int
) -> tuple[dict[int, int], float, int]:
    """``rate × seconds`` complaint writes, each sent at its scheduled instant (open loop): the statuses, the rate
    achieved (writes ÷ time until the last was sent) and how many were sent more than 50 ms late."""
    statuses: dict[int, int] = {}
    late = 0
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(
        base_url=platform.api, headers=platform.headers(), timeout=30, limits=limits
    ) as client:

        async def write(i: int) -> None:
            response = await client.post("/complaints", json=body | {"title": f"交付延迟 {i}"})
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        tasks = []
        loop = asyncio.get_running_loop()
        began = loop.time()
        for i in range(rate * seconds):
            due = began + i / rate
            if (pause := due - loop.time()) > 0:
                await asyncio.sleep(pause)
            elif -pause > 0.05:
                late += 1
            tasks.append(asyncio.create_task(write(i)))
        sent = loop.time() - began
        await asyncio.gather(*tasks)
    return statuses, rate * seconds / max(sent, 1e-9), late
