"""Account overview through the gateway under load (wrk, 32 connections) and on one connection (cold, warm),
against a bare FastAPI endpoint returning the same document with the same response class and uvicorn settings."""

from __future__ import annotations

import statistics
import time

import httpx

from bench.common import Context, Section, ratio, stop, uvicorn, wait_ok, wrk
from bench.platform import account_body, shared_platform

TITLE = "Account overview: gateway GET /accounts/{id}/overview vs a bare FastAPI endpoint"


def _wait_sections_ok(client: httpx.Client, path: str, timeout: float = 60) -> bytes:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get(path)
        if response.status_code == 200 and all(s["status"] == "ok" for s in response.json()["sections"].values()):
            return response.content
        time.sleep(0.1)
    raise TimeoutError(f"{path}: not every section ok")


def run(ctx: Context) -> Section:
    from shared.nats_server import free_port

    section = Section(TITLE)
    platform = shared_platform(ctx)
    seconds = 1.0 if ctx.quick else 15.0
    cold_count = 5 if ctx.quick else 30
    with platform.client() as client:
        created = client.post(
            "/accounts/batch", json={"accounts": [account_body(900_000 + i) for i in range(cold_count + 1)]}
        )
        created.raise_for_status()
        ids = [a["id"] for a in created.json()["items"]]
        document = b""
        for account_id in ids:
            document = _wait_sections_ok(client, f"/accounts/{account_id}/overview")
    main_id, cold_ids = ids[0], ids[1:]
    workdir = ctx.scratch("overview")
    (workdir / "body.json").write_bytes(document)
    bare_port = free_port()
    bare = uvicorn(
        "bench.bare_app:create_app",
        bare_port,
        {**platform.env, "BENCH_BODY_FILE": str(workdir / "body.json")},
        workdir / "bare.log",
    )
    try:
        wait_ok(f"http://127.0.0.1:{bare_port}/bare", proc=bare)
        url = f"{platform.api}/accounts/{main_id}/overview"
        bare_url = f"http://127.0.0.1:{bare_port}/bare"
        headers = platform.headers()
        wrk(url, connections=32, seconds=1, headers=headers)  # warm-up
        wrk(bare_url, connections=32, seconds=1)
        loaded = wrk(url, connections=32, seconds=seconds, headers=headers)
        base = wrk(bare_url, connections=32, seconds=seconds)
        warm = wrk(url, connections=1, seconds=seconds, headers=headers, threads=1)
        warm_base = wrk(bare_url, connections=1, seconds=seconds, threads=1)
        time.sleep(0.5)  # past the cache's 100 ms bound: every first request below misses it
        cold = []
        with httpx.Client(headers=headers, timeout=30) as client:
            for account_id in cold_ids:
                began = time.perf_counter()
                response = client.get(f"{platform.api}/accounts/{account_id}/overview")
                cold.append((time.perf_counter() - began) * 1000)
                if response.status_code != 200:
                    section.invalid.append(f"cold request answered {response.status_code}")
                time.sleep(0.15)
            bare_cold = []
            for _ in cold_ids:
                began = time.perf_counter()
                client.get(bare_url).raise_for_status()
                bare_cold.append((time.perf_counter() - began) * 1000)
    finally:
        stop([bare])
    for name, load in (("32 connections", loaded), ("bare, 32", base), ("1 connection", warm), ("bare, 1", warm_base)):
        if load.errors:
            section.invalid.append(f"{name}: {load.non2xx} non-2xx, {load.socket_errors} socket errors")
        if not load.requests:  # no figure at all (a p99 of 0 would read as met)
            section.invalid.append(f"{name}: no request completed in {seconds:.0f} s")
    section.add("body size (bytes)", f"{len(document):,}", f"{len(document):,}", "1.00")
    section.add(
        "32 connections: req/s",
        f"{loaded.rps:,.0f}",
        f"{base.rps:,.0f}",
        ratio(loaded.rps, base.rps),
        "≥ 0.5 of baseline",
        loaded.rps >= 0.5 * base.rps,
    )
    section.add(
        "32 connections: p50 (ms)", f"{loaded.p50_ms:.1f}", f"{base.p50_ms:.1f}", ratio(loaded.p50_ms, base.p50_ms)
    )
    section.add(
        "32 connections: p99 (ms)",
        f"{loaded.p99_ms:.1f}",
        f"{base.p99_ms:.1f}",
        ratio(loaded.p99_ms, base.p99_ms),
        "≤ 50 ms",
        loaded.p99_ms <= 50,
    )
    section.add(
        "32 connections: requests / non-2xx",
        f"{loaded.requests:,} / {loaded.non2xx}",
        f"{base.requests:,} / {base.non2xx}",
    )
    section.add(
        "1 connection, warm: req/s", f"{warm.rps:,.0f}", f"{warm_base.rps:,.0f}", ratio(warm.rps, warm_base.rps)
    )
    section.add(
        "1 connection, warm: p50 / p99 (ms)",
        f"{warm.p50_ms:.1f} / {warm.p99_ms:.1f}",
        f"{warm_base.p50_ms:.1f} / {warm_base.p99_ms:.1f}",
        ratio(warm.p50_ms, warm_base.p50_ms),
    )
    cold_p50, bare_p50 = statistics.median(cold), statistics.median(bare_cold)
    section.add(
        f"1 connection, cold ({len(cold)} accounts): p50 / max (ms)",
        f"{cold_p50:.1f} / {max(cold):.1f}",
        f"{bare_p50:.1f} / {max(bare_cold):.1f}",
        ratio(cold_p50, bare_p50),
        "≤ 20 ms",
        cold_p50 <= 20,
    )
    section.notes.append(
        f"wrk, {seconds:.0f} s per run after a 1 s warm-up, 2 threads at 32 connections, 1 thread at 1; the same "
        "machine runs wrk, the gateway, the four services, notifications and NATS (every app one uvicorn worker, "
        f"{platform.backend}). The bare baseline is FastAPI under the same uvicorn settings returning the same "
        "document as orjson bytes in a plain Response, as the gateway does. Cold: the first request for each of "
        "several accounts, more than the cache's 100 ms bound after any earlier one (httpx client, one connection)."
    )
    return section
