"""Console render time (issue 17, item 8): the dashboard and one account 360, HTML with their data, on a running
platform with the demo data. Starts nothing: it is given the gateway's URL and a demo login.

``run(quick, base_url=…, username=…, password=…)`` logs in through the console's own form (CSRF cookie first),
then renders each page N times over one keep-alive connection and returns p50/p95/max in milliseconds. The goal is
under 300 ms for each page. The base URL defaults to ``KAM_BENCH_GATEWAY_URL`` or ``http://127.0.0.1:8000`` (what
``kam up`` serves).
"""

from __future__ import annotations

import os
import re
import statistics
import time
from typing import Any

import httpx

GOAL_MS = 300.0
CSRF_IN_FORM = re.compile(r'name="csrf_token" value="([^"]+)"')
ACCOUNT_LINK = re.compile(r'href="/console/accounts/([0-9a-f-]{36})')


class ConsoleBench(dict[str, Any]):
    """The figures as a dict, readable as a report section too (``title``, ``rows``, ``notes``)."""

    @property
    def title(self) -> str:
        """The section's title."""
        return "Console: dashboard and account 360 render time"

    @property
    def rows(self) -> list[tuple[str, str]]:
        """One row per page: p50 / p95 / max against the goal."""
        return [
            (
                f"{page} render (ms, p50 / p95 / max, n={figures['n']})",
                f"{figures['p50_ms']:.0f} / {figures['p95_ms']:.0f} / {figures['max_ms']:.0f}"
                f" ({'meets' if figures['p95_ms'] < GOAL_MS else 'misses'} ≤ {GOAL_MS:.0f} ms)",
            )
            for page, figures in self["pages"].items()
        ]

    @property
    def notes(self) -> str:
        """How it was measured."""
        return (
            f"{self['base_url']} as {self['username']}: HTML with its data, one keep-alive connection, after "
            f"{self['warmup']} warm-up renders; the composed-view cache is live as in production."
        )


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _log_in(client: httpx.Client, username: str, password: str) -> None:
    form = client.get("/console/login")
    form.raise_for_status()
    match = CSRF_IN_FORM.search(form.text)
    if match is None:
        raise RuntimeError("the login form carries no CSRF token")
    answer = client.post(
        "/console/login", data={"username": username, "password": password, "csrf_token": match.group(1)}
    )
    if answer.status_code != 303:
        raise RuntimeError(f"console login failed: {answer.status_code}")


def _timed(client: httpx.Client, path: str, n: int) -> dict[str, float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code}")
    return {"n": n, "p50_ms": statistics.median(samples), "p95_ms": _percentile(samples, 0.95), "max_ms": max(samples)}


def run(
    quick: bool,
    *,
    base_url: str | None = None,
    username: str = "sup-wang",
    password: str = "wang-demo-2026",
    account_id: str | None = None,
) -> ConsoleBench:
    """Render the dashboard and an account 360 N times each (N=10 quick, 60 full) and report their latencies."""
    base = (base_url or os.environ.get("KAM_BENCH_GATEWAY_URL") or "http://127.0.0.1:8000").rstrip("/")
    n, warmup = (10, 2) if quick else (60, 5)
    with httpx.Client(base_url=base, timeout=30.0, limits=httpx.Limits(max_connections=1)) as client:
        _log_in(client, username, password)
        dashboard = client.get("/console/")
        dashboard.raise_for_status()
        found = ACCOUNT_LINK.search(dashboard.text)
        account = account_id or (found.group(1) if found else None)
        if account is None:
            raise RuntimeError("no account on the dashboard to open; load the demo data first")
        pages = {"dashboard": "/console/", "account 360": f"/console/accounts/{account}"}
        for path in pages.values():
            _timed(client, path, warmup)
        figures = {page: _timed(client, path, n) for page, path in pages.items()}
    return ConsoleBench(
        base_url=base, username=username, account_id=account, warmup=warmup, pages=figures, goal_ms=GOAL_MS
    )


if __name__ == "__main__":
    import json
    import sys

    print(
        json.dumps(
            run("--quick" in sys.argv, base_url=next((a for a in sys.argv[1:] if "://" in a), None)),
            indent=2,
            ensure_ascii=False,
        )
    )
