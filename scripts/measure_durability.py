"""Measure what durability costs: JetStream publish acks/s by ``sync_interval``, SQLite commits/s by ``synchronous``.

Run: ``.venv/bin/python scripts/measure_durability.py`` (about a minute); prints the Markdown table that
docs/RELIABILITY.md quotes. Everything runs on this machine in a temporary folder (a NATS of its own).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

import nats
from nats.js.api import StreamConfig

from shared.nats_server import JETSTREAM_DEFAULT_SYNC, SYNC_ALWAYS, NatsServer


async def _publish_rate(url: str, count: int, in_flight: int) -> float:
    """Acknowledged publishes per second, ``in_flight`` awaiting their acks at a time (as the relay does)."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream(timeout=10)
        await js.add_stream(StreamConfig(name="MEASURE", subjects=["measure.>"]))
        payload = b"x" * 600  # about one event envelope
        started = time.perf_counter()
        for offset in range(0, count, in_flight):
            batch = range(offset, min(offset + in_flight, count))
            await asyncio.gather(
                *(js.publish("measure.event", payload, headers={"Nats-Msg-Id": f"m-{i}"}) for i in batch)
            )
        return count / (time.perf_counter() - started)
    finally:
        await nc.close()


def nats_rate(sync_interval: str, count: int, in_flight: int) -> float:
    """Publish ``count`` events to a fresh embedded server with this ``sync_interval``."""
    with tempfile.TemporaryDirectory() as tmp:
        server = NatsServer(Path(tmp) / "nats", sync_interval=sync_interval).start()
        try:
            return asyncio.run(_publish_rate(server.url, count, in_flight))
        finally:
            server.stop()


def sqlite_rate(synchronous: str, count: int) -> float:
    """Commits per second of one-row write transactions (WAL, BEGIN IMMEDIATE, as a request does)."""
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "measure.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT)")
        started = time.perf_counter()
        for i in range(count):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t (payload) VALUES (?)", (f"row {i} " * 20,))
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        conn.close()
        return count / elapsed


def main() -> None:
    """Measure each setting ``--rounds`` times and print the median of each as a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--commits", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    def median(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    rows = []
    for setting in (JETSTREAM_DEFAULT_SYNC, SYNC_ALWAYS):
        rate = median([nats_rate(setting, args.events, args.in_flight) for _ in range(args.rounds)])
        rows.append((f"JetStream `sync_interval: {setting}`", f"{rate:,.0f} acked publishes/s"))
    for setting in ("NORMAL", "FULL"):
        rate = median([sqlite_rate(setting, args.commits) for _ in range(args.rounds)])
        rows.append((f"SQLite WAL `synchronous={setting}`", f"{rate:,.0f} commits/s"))
    print(f"| setting | median of {args.rounds} runs |")
    print("|---|---|")
    for name, figure in rows:
        print(f"| {name} | {figure} |")


if __name__ == "__main__":
    main()
