"""Reading what the platform's services did with events, straight from their SQLite databases (benchmarks only):
when an event was committed to its producer's outbox and when each consumer's inbox recorded it handled."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any


def _path(url: str) -> str:
    if not url.startswith("sqlite"):
        raise RuntimeError("event timings are read from SQLite databases only")
    return url.split(":///", 1)[1]


def _instant(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


@contextmanager
def sqlite_connection(url: str, timeout: float = 5.0) -> Iterator[sqlite3.Connection]:
    """A connection to the SQLite database of ``url`` in one transaction (committed when the block ends), then
    closed: ``with sqlite3.connect(...)`` alone commits but leaves the connection open (one leaked per poll)."""
    conn = sqlite3.connect(_path(url), timeout=timeout)
    try:
        with conn:
            yield conn
    finally:
        conn.close()


def outbox(url: str, subject_like: str) -> dict[str, tuple[datetime, str]]:
    """event id → (committed at, payload) of the producer's events whose subject matches."""
    with sqlite_connection(url) as conn:
        rows = conn.execute("SELECT event_id, created_at, payload FROM outbox WHERE subject LIKE ?", (subject_like,))
        return {r[0]: (_instant(r[1]), r[2]) for r in rows}


def handled(url: str, event_ids: set[str]) -> dict[str, datetime]:
    """event id → when the consumer's inbox recorded it, for those of ``event_ids`` it handled."""
    with sqlite_connection(url) as conn:
        rows = conn.execute("SELECT event_id, processed_at FROM inbox").fetchall()
    return {r[0]: _instant(r[1]) for r in rows if r[0] in event_ids}


def copies(payload: str, n: int, new_ids: list[str]) -> list[str]:
    """``n`` copies of an event payload, each with its own event id."""
    event = json.loads(payload)
    key = "id" if "id" in event else "event_id"
    out = []
    for i in range(n):
        event[key] = new_ids[i]
        out.append(json.dumps(event, ensure_ascii=False))
    return out
