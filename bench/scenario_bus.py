"""Event bus: events/s from outbox commit to handled by the consumers, against raw nats-py JetStream publish +
pull + ack of the same payloads on the same NATS server (SQLite platform).

N copies of a real ``complaints`` event (each its own id) are committed to the complaints outbox in one
transaction; the relay publishes them and every consuming service handles and records them in its inbox."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

from bench.common import Context, Section, ratio
from bench.events import copies, handled, outbox, sqlite_connection
from bench.platform import SERVICES, account_body, shared_platform

TITLE = "Event bus: outbox commit → handled vs raw nats-py JetStream"


async def _raw(url: str, payloads: list[bytes]) -> float:
    import nats
    from nats.js.api import StreamConfig

    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        name = f"BENCHRAW{uuid.uuid4().hex[:6].upper()}"
        await js.add_stream(StreamConfig(name=name, subjects=[f"{name.lower()}.>"]))
        sub = await js.pull_subscribe(f"{name.lower()}.>", durable="bench")
        began = time.perf_counter()
        for i, payload in enumerate(payloads):
            await js.publish(f"{name.lower()}.event", payload, headers={"Nats-Msg-Id": str(i)})
        got = 0
        while got < len(payloads):
            for msg in await sub.fetch(min(256, len(payloads) - got), timeout=10):
                await msg.ack()
                got += 1
        elapsed = time.perf_counter() - began
        await js.delete_stream(name)
        return len(payloads) / elapsed
    finally:
        await nc.close()


def run(ctx: Context) -> Section:
    n = 300 if ctx.quick else 10_000
    section = Section(f"{TITLE} ({n:,} events)")
    platform = shared_platform(ctx)
    with platform.client() as client:
        account_id = client.post("/accounts", json=account_body(700_000)).json()["id"]
        body = {"account_id": account_id, "title": "总线", "description": "基准", "category": "product_quality"}
        deadline = time.monotonic() + 60
        while client.post("/complaints", json=body).status_code != 201:
            if time.monotonic() > deadline:
                raise TimeoutError("complaints never learned the account")
            time.sleep(0.2)
    url = platform.databases["complaints"]
    deadline = time.monotonic() + 60
    sample: list[str] = []
    while not sample:  # until a consumer handled one of the complaint's events (they are asynchronous)
        produced = outbox(url, "%")
        handled_by = {s: handled(platform.databases[s], set(produced)) for s in SERVICES if s != "complaints"}
        sample = [e for e in produced if any(e in got for got in handled_by.values())]
        if not sample:
            if time.monotonic() > deadline:
                raise RuntimeError("no complaints event was handled by any consumer within 60 s")
            time.sleep(0.2)
    sample_id, payload = sample[-1], produced[sample[-1]][1]
    subject = ""
    with sqlite_connection(url) as conn:
        subject = conn.execute("SELECT subject FROM outbox WHERE event_id = ?", (sample_id,)).fetchone()[0]
    consumers = [s for s in SERVICES if s != "complaints" and handled(platform.databases[s], {sample_id})]
    ids = [str(uuid.uuid4()) for _ in range(n)]
    bodies = copies(payload, n, ids)
    now = datetime.now(UTC).isoformat()
    began = time.perf_counter()
    with sqlite_connection(url, timeout=30) as conn:
        conn.executemany(
            "INSERT INTO outbox (event_id, subject, payload, created_at, attempts) VALUES (?, ?, ?, ?, 0)",
            [(i, subject, b, now) for i, b in zip(ids, bodies, strict=True)],
        )
    wanted = set(ids)
    deadline = time.monotonic() + (120 if ctx.quick else 900)
    while time.monotonic() < deadline:
        if all(len(handled(platform.databases[s], wanted)) == n for s in consumers):
            break
        time.sleep(0.2)
    elapsed = time.perf_counter() - began
    done = min((len(handled(platform.databases[s], wanted)) for s in consumers), default=0)
    if done < n:
        section.invalid.append(f"only {done} of {n} events handled by every consumer in time")
    platform_rate = done / elapsed
    raw_rate = asyncio.run(_raw(platform.nats.url, [b.encode() for b in bodies]))
    section.add(
        "events/s, outbox commit → handled by every consumer",
        f"{platform_rate:,.0f}",
        f"{raw_rate:,.0f}",
        ratio(platform_rate, raw_rate),
        "≥ 0.5 of baseline",
        platform_rate >= 0.5 * raw_rate,
    )
    section.add("consumers", ", ".join(consumers) or "none")
    section.notes.append(
        f"Payload: a real `{subject}` event, {len(payload):,} bytes. Baseline: one nats-py client publishing the "
        "same payloads to a JetStream stream on the same server, then pulling (batches of 256) and acking them."
    )
    return section
