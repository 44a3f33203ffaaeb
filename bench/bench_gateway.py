"""The gateway's account overview under load vs a bare FastAPI endpoint with a body of the same size.

Runs NATS, the four services and the gateway as real uvicorn processes (SQLite in a temp dir), registers
accounts through the public API, then drives 32 concurrent clients from a separate process against
(a) ``GET /api/v1/accounts/{id}/overview`` and (b) a bare FastAPI app that returns the same bytes.
Also measures freshness: a write through the API until the overview shows it.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx

from bench.common import BenchResult

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-" + "z" * 40

LOAD_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys, time
    import httpx

    async def main(url, headers, concurrency, duration):
        latencies = []
        errors = 0
        stop = time.perf_counter() + duration
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(headers=headers, limits=limits, timeout=10) as client:
            async def worker():
                nonlocal errors
                while time.perf_counter() < stop:
                    started = time.perf_counter()
                    response = await client.get(url)
                    latencies.append(time.perf_counter() - started)
                    if response.status_code != 200:
                        errors += 1
            began = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - began
        print(json.dumps({"latencies": latencies, "elapsed": elapsed, "errors": errors}))

    url, headers, concurrency, duration = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    asyncio.run(main(url, headers, concurrency, duration))
    """
)

BARE_APP = textwrap.dedent(
    """
    import os
    from fastapi import FastAPI

    BODY = __import__("json").loads(open(os.environ["BENCH_BODY_FILE"], encoding="utf-8").read())

    def create_app():
        app = FastAPI()

        @app.get("/bare")
        async def bare() -> dict:
            return BODY

        return app
    """
)


def _free_port() -> int:
    from shared.nats_server import free_port

    return free_port()


def _start(module_factory: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            module_factory,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(url)


def _load(url: str, headers: dict[str, str], concurrency: int, duration: float) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT, url, json.dumps(headers), str(concurrency), str(duration)],
        capture_output=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout)


def _summary(run: dict) -> tuple[float, float, float]:
    lat = sorted(run["latencies"])
    throughput = len(lat) / run["elapsed"]
    p50 = statistics.median(lat) * 1000
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
    return throughput, p50, p99


async def _cpu_per_request(env: dict[str, str], url: str, body: object, requests: int) -> tuple[float, float]:
    """CPU µs per request of the overview (cache hits) and of a bare endpoint, both in this process.

    Wall-clock figures suffer from whatever else the machine runs; CPU time per request does not.
    """
    from fastapi import FastAPI

    from gateway.app import create_app
    from gateway.config import GatewaySettings

    saved = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k.startswith("KAM_")})
    try:
        gateway = create_app(GatewaySettings(run_migrations=False, log_level="WARNING"))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    bare = FastAPI()

    @bare.get("/bare")
    async def bare_endpoint() -> object:
        return body

    headers = {"Authorization": f"Bearer {_token('sup-wang', ['supervisor'])}"}
    results = []
    async with gateway.router.lifespan_context(gateway):
        runtime = gateway.state.runtime
        deadline = time.monotonic() + 30
        while not runtime.cache_active and time.monotonic() < deadline:  # noqa: ASYNC110 - polling a flag
            await asyncio.sleep(0.05)
        runtime.cache.ttl = runtime.cache.refresh_after = 3600.0  # measure the hit path alone
        for app, path in ((gateway, url), (bare, "/bare")):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client:
                for _ in range(50):
                    (await client.get(path)).raise_for_status()
                started = time.process_time()
                for _ in range(requests):
                    await client.get(path)
                results.append((time.process_time() - started) / requests * 1e6)
    return results[0], results[1]


def _token(user_id: str, roles: list[str]) -> str:
    from shared.auth import mint_token

    return mint_token(secret=SECRET, user_id=user_id, roles=roles)


def run(quick: bool) -> BenchResult:
    """Overview throughput and latency vs a bare endpoint, and write-to-overview freshness."""
    from shared.nats_server import NatsServer

    result = BenchResult("Gateway: account overview vs a bare FastAPI endpoint (32 concurrent)")
    duration = 3.0 if quick else 10.0
    concurrency = 32
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        nats = NatsServer(tmp / "nats").start()
        try:
            env = dict(os.environ)
            urls: dict[str, str] = {}
            for name in ("scoring", "complaints", "risk", "goals", "gateway"):
                port = _free_port()
                prefix = f"KAM_{name.upper()}_"
                env.update(
                    {
                        f"{prefix}DATABASE_URL": f"sqlite+aiosqlite:///{tmp / (name + '.db')}",
                        f"{prefix}NATS_URL": nats.url,
                        f"{prefix}JWT_SECRET": SECRET,
                        f"{prefix}ENVIRONMENT": "test",
                        f"{prefix}LOG_LEVEL": "WARNING",
                        f"{prefix}PORT": str(port),
                    }
                )
                urls[name] = f"http://127.0.0.1:{port}"
            for name in ("scoring", "complaints", "risk", "goals"):
                env[f"KAM_GATEWAY_{name.upper()}_URL"] = urls[name]
            env["KAM_GATEWAY_RATE_LIMIT_PER_MINUTE"] = "100000000"
            env["KAM_GATEWAY_RATE_LIMIT_BURST"] = "1000000"
            for name, url in urls.items():
                factory = "gateway.app:create_app" if name == "gateway" else f"services.{name}.app:create_app"
                procs.append(_start(factory, int(url.rsplit(":", 1)[1]), env, tmp / f"{name}.log"))
            for url in urls.values():
                _wait(f"{url}/readyz")
            # The gateway owns users: the ones the benchmark's tokens name must exist (and reach every service).
            for user_id, role in (("sup-wang", "supervisor"), ("am-li", "account_manager")):
                add = ["users", "add", user_id, "--role", role, "--password", "bench-pass-1"]
                subprocess.run([sys.executable, "-m", "kam.cli", *add], env=env, check=True, capture_output=True)
            api = f"{urls['gateway']}/api/v1"
            supervisor = {"Authorization": f"Bearer {_token('sup-wang', ['supervisor'])}"}
            with httpx.Client(base_url=api, headers=supervisor, timeout=10) as client:
                account = {
                    "name": "华东精密制造有限公司",
                    "industry": "制造业",
                    "region": "华东",
                    "owner_id": "am-li",
                    "status": "key_account",
                }
                deadline = time.monotonic() + 30
                created = client.post("/accounts", json=account)
                while created.status_code == 422 and time.monotonic() < deadline:  # am-li not projected yet
                    time.sleep(0.1)
                    created = client.post("/accounts", json=account)
                created.raise_for_status()
                account_id = created.json()["id"]
                overview_path = f"/accounts/{account_id}/overview"
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:  # every service has projected the account
                    body = client.get(overview_path).json()
                    if all(s["status"] == "ok" for s in body["sections"].values()):
                        break
                    time.sleep(0.2)
                body_bytes = client.get(overview_path).content
                (tmp / "body.json").write_bytes(body_bytes)
                # Freshness: a write through the API, then the overview until it shows the change; and the same
                # for a write made behind the gateway (straight to scoring), which only events can announce.
                through, through_after, behind = [], [], []
                scoring = httpx.Client(base_url=urls["scoring"], headers=supervisor, timeout=10)
                for i in range(5 if quick else 20):
                    client.get(overview_path)  # cached
                    marker = f"Huadong Precision {i}"
                    started = time.perf_counter()
                    written_through = client.patch(f"/accounts/{account_id}", json={"name_en": marker})
                    assert written_through.status_code == 200, written_through.text
                    written = time.perf_counter()
                    while marker not in client.get(overview_path).text:
                        time.sleep(0.001)
                    through.append((time.perf_counter() - started) * 1000)
                    through_after.append((time.perf_counter() - written) * 1000)
                    client.get(overview_path)
                    marker = f"Huadong Precision behind {i}"
                    scoring.patch(f"/accounts/{account_id}", json={"name_en": marker}).raise_for_status()
                    written = time.perf_counter()
                    while marker not in client.get(overview_path).text:
                        time.sleep(0.001)
                    behind.append((time.perf_counter() - written) * 1000)
                scoring.close()
                body_bytes = client.get(overview_path).content
                (tmp / "body.json").write_bytes(body_bytes)
            bare_port = _free_port()
            (tmp / "bare_app.py").write_text(BARE_APP)
            bare_env = {**env, "BENCH_BODY_FILE": str(tmp / "body.json"), "PYTHONPATH": str(tmp)}
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "--factory",
                        "bare_app:create_app",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(bare_port),
                        "--no-access-log",
                        "--log-level",
                        "warning",
                    ],
                    env=bare_env,
                    cwd=tmp,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
            # A second gateway on the same database with only event invalidation (no 100 ms TTL), to show what
            # the strict staleness bound costs: its background refreshes compete for the same CPUs.
            relaxed_port = _free_port()
            relaxed_env = {
                **env,
                "KAM_GATEWAY_CACHE_TTL_SECONDS": "30",
                "KAM_GATEWAY_CACHE_REFRESH_AFTER_SECONDS": "30",
            }
            procs.append(_start("gateway.app:create_app", relaxed_port, relaxed_env, tmp / "gateway-relaxed.log"))
            _wait(f"http://127.0.0.1:{bare_port}/bare")
            _wait(f"http://127.0.0.1:{relaxed_port}/readyz")
            relaxed_url = f"http://127.0.0.1:{relaxed_port}/api/v1{overview_path}"
            _load(f"{api}{overview_path}", supervisor, concurrency, 1.0)  # warm-up
            gateway_run = _load(f"{api}{overview_path}", supervisor, concurrency, duration)
            bare_run = _load(f"http://127.0.0.1:{bare_port}/bare", {}, concurrency, duration)
            _load(relaxed_url, supervisor, concurrency, 1.0)
            relaxed_run = _load(relaxed_url, supervisor, concurrency, duration)
            overview_cpu, bare_cpu = asyncio.run(
                _cpu_per_request(env, f"/api/v1{overview_path}", json.loads(body_bytes), 300 if quick else 2000)
            )
            g_rps, g_p50, g_p99 = _summary(gateway_run)
            b_rps, b_p50, b_p99 = _summary(bare_run)
            r_rps, r_p50, r_p99 = _summary(relaxed_run)
            result.add("overview body size (bytes)", len(body_bytes))
            result.add("overview throughput (req/s)", f"{g_rps:.0f}")
            result.add("bare endpoint throughput (req/s)", f"{b_rps:.0f}")
            result.add("throughput ratio overview / bare (goal ≥ 0.5)", f"{g_rps / b_rps:.2f}")
            result.add("overview p50 / p99 (ms, goal p99 ≤ 50)", f"{g_p50:.1f} / {g_p99:.1f}")
            result.add("bare p50 / p99 (ms)", f"{b_p50:.1f} / {b_p99:.1f}")
            result.add("overview errors", gateway_run["errors"])
            result.add(
                "CPU per request in-process, overview (cache hit) / bare (µs) → ratio",
                f"{overview_cpu:.0f} / {bare_cpu:.0f} → {bare_cpu / overview_cpu:.2f}",
            )
            result.add("events-only cache (TTL 30 s): throughput (req/s), ratio", f"{r_rps:.0f}, {r_rps / b_rps:.2f}")
            result.add("events-only cache: p50 / p99 (ms)", f"{r_p50:.1f} / {r_p99:.1f}")
            result.add(
                "write through the API → shown in overview (ms, incl. the write; median / max)",
                f"{statistics.median(through):.1f} / {max(through):.1f}",
            )
            result.add(
                "after that write returned → shown (ms, median / max, goal ≤ 100)",
                f"{statistics.median(through_after):.1f} / {max(through_after):.1f}",
            )
            result.add(
                "write behind the gateway (to scoring) → shown via events (ms, median / max)",
                f"{statistics.median(behind):.1f} / {max(behind):.1f}",
            )
            result.notes = (
                f"{concurrency} concurrent keep-alive clients for {duration:.0f} s each, load generated by a separate "
                "process (httpx); every app a single uvicorn worker on SQLite. The bare endpoint is a FastAPI app "
                "returning the same JSON document as the overview. Freshness: PATCH /api/v1/accounts/{id} through "
                "the gateway, then GET the overview until the change shows (the write invalidates the cached "
                "sections synchronously; services' events invalidate them for changes made elsewhere). The default "
                "cache bounds staleness to 100 ms even without events (TTL from fetch start, hot sections refreshed "
                "in the background after 80 ms); the events-only row shows the same overview without that bound."
            )
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
            nats.stop()
    return result


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv).markdown())
