"""What the fault tests share: the platform they break, load through the gateway, counts read from the databases
and the stream, and the figures each test reports (printed, and appended to ``$KAM_FAULT_FIGURES`` as JSON lines
for ``scripts/fault_figures.py``)."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats

from tests.support import auth

SUPERVISOR = auth("supervisor", user_id="sup-wang")
ADMIN = auth("admin", user_id="root")
FAULT_USERS: dict[str, list[str]] = {"root": ["admin"], "sup-wang": ["supervisor"], "am-li": ["account_manager"]}


@dataclass
class FaultPlatform:
    """The processes and the account the fault tests work on."""

    workdir: Path
    nats: Any
    services: dict[str, Any]  # complaints, notifications, probe (ServiceProcess)
    gateway: Any
    account_id: str = ""
    backend: str = "sqlite"
    databases: dict[str, str] = field(default_factory=dict)  # PostgreSQL: service → its database URL

    @property
    def api(self) -> str:
        return f"{self.gateway.url}/api/v1"

    def db(self, name: str) -> Path:
        return self.workdir / f"{name}.db"


def asyncpg_dsn(url: str) -> str:
    """A SQLAlchemy ``postgresql+asyncpg://`` URL as asyncpg's own DSN."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _pg_rows(url: str, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    import asyncpg

    parts = sql.split("?")  # the SQLite placeholders as PostgreSQL's $1, $2, ...
    numbered = parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], start=1))
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return [tuple(row) for row in await conn.fetch(numbered, *params)]
    finally:
        await conn.close()


def query(platform: FaultPlatform, service: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of a read on a service's database (another process: the test never writes), on either backend; callable
    from a thread or from the event loop (PostgreSQL reads run on a loop of their own in a worker thread)."""
    if platform.backend == "sqlite":
        with sqlite3.connect(f"file:{platform.db(service)}?mode=ro", uri=True, timeout=10) as conn:
            return conn.execute(sql, params).fetchall()
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _pg_rows(platform.databases[service], sql, params)).result()


def consumed_types(consumer: str) -> set[str]:
    """The complaint event types a consumer of this platform handles (from its handler table)."""
    if consumer == "probe":
        from tests.fault.probe_app import SPEC
    else:
        from services.notifications.app import SPEC
    return {cls.type_name() for cls in SPEC.handlers if cls.type_name().startswith("complaints.")}


def complaint_events(platform: FaultPlatform) -> dict[str, dict[str, str]]:
    """complaint id → {event type → event id} of every event the complaints service wrote."""
    rows = query(platform, "complaints", "SELECT payload FROM outbox WHERE subject LIKE 'kam.complaints.%'")
    events: dict[str, dict[str, str]] = {}
    for payload in rows:
        event = json.loads(payload[0])
        complaint = event["data"].get("complaint_id")
        if complaint:
            events.setdefault(complaint, {})[event["type"]] = event["id"]
    return events


def expected_ids(platform: FaultPlatform, complaints: set[str], consumer: str) -> set[str]:
    """The ids of the events about ``complaints`` that ``consumer`` must apply."""
    types, events = consumed_types(consumer), complaint_events(platform)
    return {i for c in complaints for t, i in events.get(c, {}).items() if t in types}


def opened_event_ids(platform: FaultPlatform) -> dict[str, str]:
    """complaint id → id of its ``complaints.opened`` event, for every complaint stored."""
    return {c: e["complaints.opened"] for c, e in complaint_events(platform).items() if "complaints.opened" in e}


def stored_complaints(platform: FaultPlatform) -> set[str]:
    return {r[0] for r in query(platform, "complaints", "SELECT id FROM complaints")}


def pending_outbox(platform: FaultPlatform, service: str = "complaints") -> int:
    return int(query(platform, service, "SELECT count(*) FROM outbox WHERE sent_at IS NULL")[0][0])


def inbox_ids(platform: FaultPlatform, service: str) -> set[str]:
    return {r[0] for r in query(platform, service, "SELECT event_id FROM inbox")}


def probe_applications(platform: FaultPlatform) -> Counter[str]:
    """How many times the probe applied each event."""
    return Counter(r[0] for r in query(platform, "probe", "SELECT event_id FROM applications"))


@dataclass
class Load:
    """Complaints created through the gateway: every answer, its status and how long it took."""

    statuses: Counter[int] = field(default_factory=Counter)
    causes: Counter[str] = field(default_factory=Counter)
    created: list[str] = field(default_factory=list)
    longest_seconds: float = 0.0


async def create_complaints(
    platform: FaultPlatform, count: int, *, rate: float, workers: int = 8, max_seconds: float = 150.0
) -> Load:
    """Create ``count`` complaints at about ``rate`` a second (a paced client, bounded in count and time)."""
    load = Load()
    stop_at = time.monotonic() + max_seconds
    interval = workers / rate
    remaining = iter(range(count))
    # Idle connections are dropped before the gateway's keep-alive (5 s) ends: a request on a connection the server
    # closes at that moment is a ReadError of the client, not an answer of the platform.
    limits = httpx.Limits(keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=platform.api, headers=SUPERVISOR, timeout=30, limits=limits) as client:

        async def worker() -> None:
            for i in remaining:
                started = time.monotonic()
                if started > stop_at:
                    load.causes["not sent: load time cap reached"] += 1
                    continue
                if i % 100 == 0:
                    print(f"load: {i} requests sent, statuses {dict(load.statuses)}", flush=True)
                body = {
                    "account_id": platform.account_id,
                    "title": f"故障测试投诉 {i}",
                    "description": "控制器批次故障，客户要求答复。",
                    "category": "product_quality",
                    "severity": "medium",
                }
                try:
                    response = await client.post("/complaints", json=body)
                    status = response.status_code
                except httpx.HTTPError as exc:
                    status, response = 0, None
                    load.causes[f"transport: {type(exc).__name__}"] += 1
                took = time.monotonic() - started
                load.longest_seconds = max(load.longest_seconds, took)
                load.statuses[status] += 1
                if status == 201 and response is not None:
                    load.created.append(response.json()["id"])
                elif response is not None and status == 429:
                    load.causes["429 rate limited"] += 1  # the load's own fault: any one fails the run's checks
                elif response is not None and status >= 500:
                    problem = response.json() if response.headers.get("content-type", "").endswith("json") else {}
                    retry = "Retry-After" if "retry-after" in response.headers else "no Retry-After"
                    load.causes[f"{status} {problem.get('code', '?')} ({retry})"] += 1
                await asyncio.sleep(max(interval - took, 0))  # pacing the load, not waiting for a result

        await asyncio.gather(*(worker() for _ in range(workers)))
    return load


async def stream_event_ids(nats_url: str, stream: str = "KAM_COMPLAINTS") -> set[str]:
    """Every event id the stream holds (read with an ephemeral consumer)."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream(timeout=10)
        info = await js.stream_info(stream)
        total = info.state.messages
        sub = await js.pull_subscribe("kam.complaints.>", stream=stream)
        ids: set[str] = set()
        seen = 0
        while seen < total:
            msgs = await sub.fetch(500, timeout=5)
            for msg in msgs:
                ids.add(json.loads(msg.data)["id"])
                await msg.ack()
            seen += len(msgs)
        await sub.unsubscribe()
        return ids
    finally:
        await nc.close()


async def lock_waits(service_url: str) -> dict[str, float]:
    """A service's SQLite write-lock waits as it measured them (``/metrics``): write transactions so far, how many
    waited over 1 s, and the longest wait since it started."""
    from prometheus_client.parser import text_string_to_metric_families

    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(f"{service_url}/metrics", headers=ADMIN)
    response.raise_for_status()
    samples = {
        (s.name, s.labels.get("le", "")): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
        if s.name.startswith("kam_db_write_lock_wait")
    }
    total = samples[("kam_db_write_lock_wait_seconds_count", "")]
    return {
        "writes": total,
        "over_1s": total - samples[("kam_db_write_lock_wait_seconds_bucket", "1.0")],
        "longest_seconds": samples[("kam_db_write_lock_wait_longest_seconds", "")],
    }


def report(test: str, backend: str, **figures: Any) -> None:
    """Print a test's figures and append them to ``$KAM_FAULT_FIGURES`` (JSON lines) when set."""
    line = json.dumps({"test": test, "backend": backend, **figures}, ensure_ascii=False, sort_keys=False)
    print(f"\nFAULT FIGURES {line}")
    target = os.environ.get("KAM_FAULT_FIGURES")
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(line + "\n")
