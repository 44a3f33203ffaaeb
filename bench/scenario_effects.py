"""Write → event → effect: complaints created through the gateway at a steady rate (200/s; quick: 20/s), and
for each event the time from its commit in the complaints outbox until every consuming service (scoring, risk,
goals, …) recorded it handled; p50, p99 and lost events (SQLite platform)."""

from __future__ import annotations

import statistics
import time

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
    statuses: dict[int, int] = {}
    began = time.perf_counter()
    with httpx.Client(
        base_url=platform.api, headers=platform.headers(), timeout=30, limits=httpx.Limits(max_connections=64)
    ) as client:
        for i in range(rate * seconds):
            due = began + i / rate
            if (pause := due - time.perf_counter()) > 0:
                time.sleep(pause)
            status = client.post("/complaints", json=body | {"title": f"交付延迟 {i}"}).status_code
            statuses[status] = statuses.get(status, 0) + 1
    achieved = rate * seconds / (time.perf_counter() - began)
    events = {k: v for k, v in outbox(platform.databases["complaints"], "%").items() if k not in before}
    consumers = [s for s in SERVICES if s != "complaints"]
    seen: dict[str, dict[str, object]] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        seen = {s: handled(platform.databases[s], set(events)) for s in consumers}
        subscribed = {s: got for s, got in seen.items() if got}
        if subscribed and all(len(got) == len(events) for got in subscribed.values()):
            break
        time.sleep(0.5)
    subscribed = {s: got for s, got in seen.items() if got}
    if not subscribed:
        raise RuntimeError(f"no consumer handled any of the {len(events)} complaints events within 60 s")
    delays, lost = [], 0
    for event_id, (committed, _) in events.items():
        times = [got.get(event_id) for got in subscribed.values()]
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
    section.add("complaints written (achieved rate /s)", f"{rate * seconds} ({achieved:.0f}/s)")
    section.add("events committed (complaints outbox)", str(len(events)))
    section.add("consuming services", ", ".join(sorted(subscribed)) or "none")
    section.add("commit → handled by all consumers: p50 (ms)", f"{p50:.0f}")
    section.add("commit → handled by all consumers: p99 (ms)", f"{p99:.0f}", goal="≤ 100 ms", met=p99 <= 100)
    section.add("lost events (not handled within 60 s)", str(lost), goal="0", met=lost == 0)
    section.notes.append(
        "One client writing sequentially on a schedule (a write that takes longer delays the next). Timings from "
        "the databases: the outbox row's commit time and each consumer's inbox row (handled in the same "
        "transaction as its effect); notifications count as the consumer that records them."
    )
    return section
