"""After a bulk import: 36 months × 8 product lines of sales for 10,000 accounts (2.88 M lines; quick: 20 accounts)
imported through the gateway while the registry, portfolio and an overview are polled; then the time until the
consumers have handled every ``goals.actuals_imported`` the import published — one per account, each applied at once
(one re-score per account, not per account-month) — on the SQLite platform."""

from __future__ import annotations

import threading
import time
from collections import Counter

import httpx

from bench.common import Context, Section
from bench.events import handled, outbox, sqlite_connection
from bench.platform import SERVICES, shared_platform

TITLE = "After a bulk import: sales for many accounts, then the platform in use"
ACTUALS_EVENTS = "kam.goals.actuals_%"  # imported (one per account), recorded or voided
LINES = ("工业网关", "智能传感器", "PLC控制器", "SCADA软件", "工业云平台", "运维服务", "边缘计算", "备件")


def _poll(platform, account_id: str, stop: threading.Event, out: dict[str, list[float]]) -> None:  # type: ignore[no-untyped-def]
    paths = {
        "registry": "/accounts?limit=20",
        "portfolio": "/portfolio",
        "overview": f"/accounts/{account_id}/overview",
    }
    with httpx.Client(base_url=platform.api, headers=platform.headers(), timeout=30) as client:
        while not stop.is_set():
            for name, path in paths.items():
                began = time.perf_counter()
                status = client.get(path).status_code
                out.setdefault(name, []).append((time.perf_counter() - began) * 1000)
                if not 200 <= status < 300:
                    out.setdefault("errors", []).append(float(status))
            time.sleep(0.2)


def _wait_projected(url: str, ids: list[str], timeout: float = 1800) -> float:
    """Seconds until the goals service has projected every one of ``ids`` (an import names accounts goals must
    know: before, lines of accounts whose registration had not reached goals yet were rejected as unknown)."""
    wanted, began = set(ids), time.perf_counter()
    while True:
        with sqlite_connection(url) as conn:
            known = {r[0] for r in conn.execute("SELECT account_id FROM account_projection")}
        if wanted <= known:
            return time.perf_counter() - began
        if time.perf_counter() - began > timeout:
            raise TimeoutError(f"goals projected {len(wanted & known)} of {len(wanted)} accounts in {timeout:.0f} s")
        time.sleep(0.5)


def run(ctx: Context) -> Section:
    accounts = 20 if ctx.quick else 10_000
    section = Section(f"{TITLE} ({accounts:,} accounts, {accounts * 288:,} lines)")
    platform = shared_platform(ctx)
    with platform.client() as client:
        _, ids = platform.register_accounts(client, accounts, start=500_000)
    projected = _wait_projected(platform.databases["goals"], ids)
    csv = platform.workdir / "bulk.csv"
    with csv.open("w", encoding="utf-8") as f:
        f.write("account_id,date,product_line,region,quantity,revenue,cost\n")
        for account_id in ids:
            for m in range(36):
                for j, line in enumerate(LINES):
                    f.write(f"{account_id},{2024 + m // 12}-{1 + m % 12:02d}-1{j},{line},华东,2,{1000 + j}.5,600\n")
    before = set(outbox(platform.databases["goals"], ACTUALS_EVENTS))
    polled: dict[str, list[float]] = {}
    stop = threading.Event()
    poller = threading.Thread(target=_poll, args=(platform, ids[0], stop, polled), daemon=True)
    poller.start()
    began = time.perf_counter()
    with httpx.Client(base_url=platform.api, headers=platform.headers(), timeout=3600) as client:
        with csv.open("rb") as f:
            response = client.post("/goals/imports", params={"batch_id": "bench-bulk"}, content=f.read())
        if response.status_code not in (200, 202):
            raise RuntimeError(f"import answered {response.status_code}: {response.text[:300]}")
        while (job := client.get("/goals/imports/bench-bulk").json())["status"] == "running":
            time.sleep(0.5)
    imported = time.perf_counter() - began
    if job["status"] != "completed":
        section.invalid.append(f"import ended {job['status']}: {job.get('error')}")
    elif job.get("rejected"):
        section.invalid.append(f"the import rejected {job['rejected']:,} of {accounts * 288:,} lines")
    events = set(outbox(platform.databases["goals"], ACTUALS_EVENTS)) - before
    consumers = [s for s in SERVICES if s != "goals"]
    deadline = time.monotonic() + 600
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        counts = {s: len(handled(platform.databases[s], events)) for s in consumers}
        if all(c in (0, len(events)) for c in counts.values()) and any(counts.values()):
            break
        time.sleep(0.5)
    visible = time.perf_counter() - began - imported
    stop.set()
    poller.join(30)
    errors = len(polled.get("errors", []))
    if errors:
        statuses = Counter(int(s) for s in polled["errors"])
        named = ", ".join(f"{n}× {status}" for status, n in sorted(statuses.items()))
        section.invalid.append(f"{errors} reads during the import answered non-2xx ({named})")
    section.add("goals knew every registered account (s after the last batch)", f"{projected:.1f}")
    section.add("import (s; rows/s)", f"{imported:.1f}; {accounts * 288 / imported:,.0f}")
    section.add(
        "goals.actuals_* events published (coalesced per account)",
        f"{len(events):,} for {accounts * 36:,} account-months",
        goal=f"≤ {accounts:,}",
        met=len(events) <= accounts,
    )
    section.add(
        "import done → effects handled by every consumer (s)", f"{visible:.1f}", goal="≤ 60 s", met=visible <= 60
    )
    section.add(
        "events handled by each consumer at that moment (of those it handles)",
        ", ".join(f"{s} {c:,}/{len(events):,}" for s, c in sorted(counts.items()) if c) or "none",
    )
    for name in ("registry", "portfolio", "overview"):
        times = sorted(polled.get(name, [0.0]))
        section.add(f"{name} during the import: requests, max (ms)", f"{len(times)}, {times[-1]:.0f}")
    section.add("non-2xx reads during the import", str(errors), goal="0 (available)", met=errors == 0)
    return section
