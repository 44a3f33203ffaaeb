"""Schemathesis (4.x) over every operation of the gateway's merged OpenAPI, as an authenticated supervisor, on a
platform of its own (real processes, its own NATS): no server error and no response outside the documented schema.

Bounded so that it stays within a few minutes: the coverage phase (boundary and invalid values of every parameter
and body field) and the fuzzing phase at ``MAX_EXAMPLES`` cases per operation, with a fixed seed.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.nats_server import NatsServer
from tests.gateway.platform import PLATFORM_USERS, Platform, create_users, gateway_process, start_services
from tests.support import token

MAX_EXAMPLES = 5
SEED = 20260101
CHECKS = "not_a_server_error,response_schema_conformance"
PHASES = "coverage,fuzzing"
SUPERVISOR = "sup-wang"


@pytest.fixture(scope="module")
def fuzzed_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """NATS, the four services and a gateway whose rate limits do not throttle the fuzzer, with the test users and
    two accounts (one the supervisor's team works on)."""
    workdir = tmp_path_factory.mktemp("fuzzed")
    server = NatsServer(workdir / "nats").start()
    services = start_services(workdir, server.url)
    gateway = gateway_process(workdir, server.url, services)
    gateway.extra_env.update({"rate_limit_per_minute": "1000000", "rate_limit_burst": "100000"})
    plat = Platform(workdir=workdir, nats=server, services=services, gateway=gateway.start())

    async def seed() -> None:
        async with httpx.AsyncClient(base_url=plat.api, timeout=60) as client:
            await create_users(client, PLATFORM_USERS)
            headers = {"Authorization": f"Bearer {token('supervisor', user_id=SUPERVISOR)}"}
            for name, owner in (("华东精密制造有限公司", "am-li"), ("深圳云启科技股份有限公司", "am-zhang")):
                body = {"name": name, "industry": "制造业", "region": "华东", "status": "key_account"}
                body["owner_id"] = owner
                response = await client.post("/accounts", json=body, headers=headers)
                assert response.status_code == 201, response.text
                plat.accounts[name] = response.json()["id"]
            for _ in range(600):  # every service documented in the merged document
                doc = (await client.get(f"{gateway.url}/openapi.json")).json()
                if not doc.get("info", {}).get("x-services-missing"):
                    return
                await asyncio.sleep(0.1)
            raise AssertionError("the merged OpenAPI document never listed every service")

    try:
        gateway.wait_ready()
        asyncio.run(seed())
        yield plat
    finally:
        gateway.stop()
        for proc in services.values():
            proc.stop()
        server.stop()


def _events(report: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for line in report.read_text().splitlines():
        event = json.loads(line)
        name = next(iter(event))
        yield name, event[name]


def _summary(report: Path) -> tuple[int, int, list[str]]:
    """(operations, cases, one line per failed check) from Schemathesis's NDJSON event stream."""
    operations, cases, failures = 0, 0, []
    seen: set[tuple[str, str, str]] = set()
    for name, event in _events(report):
        if name == "LoadingFinished":
            operations = event["statistic"]["operations"]["selected"]
        if name != "ScenarioFinished":
            continue
        recorder = event["recorder"]
        cases += len(recorder.get("cases", {}))
        for case_id, checks in recorder.get("checks", {}).items():
            for check in checks:
                if check.get("status") != "failure":
                    continue
                case = recorder["cases"][case_id]["value"]
                info = check.get("failure_info") or {}
                message = str((info.get("failure") or {}).get("message", ""))[:300] if isinstance(info, dict) else ""
                response = (recorder.get("interactions", {}).get(case_id) or {}).get("response") or {}
                message = f"{response.get('status_code')} {message}".strip()
                key = (recorder["label"], check["name"], message[:80])
                if key not in seen:
                    seen.add(key)
                    body = json.dumps(case.get("body"), ensure_ascii=False)[:200]
                    failures.append(
                        f"{recorder['label']} [{check['name']}] {case.get('method')} path={case.get('path_parameters')}"
                        f" query={case.get('query')} body={body}: {message}"
                    )
    return operations, cases, failures


def _unhandled_errors(workdir: Path) -> list[str]:
    """Each distinct unhandled error the processes logged: process, path and the end of its traceback."""
    found: list[str] = []
    for log in sorted(workdir.glob("*.log")):
        for raw in log.read_text(errors="replace").splitlines():
            if '"exc"' not in raw:
                continue
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            tail = " | ".join(entry.get("exc", "").strip().splitlines()[-3:])[-400:]
            line = f"{log.stem} {entry.get('path', '')}: {tail}"
            if line not in found:
                found.append(line)
    return found


@pytest.mark.timeout(1500)  # ~3 min on an idle 2-core machine; 5–12 min measured on a loaded one
def test_schemathesis_finds_no_server_error_and_no_schema_violation(fuzzed_platform: Platform, tmp_path: Path):
    gateway = fuzzed_platform.gateway.url
    report = tmp_path / "events.ndjson"
    bearer = token("supervisor", user_id=SUPERVISOR)
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "run", f"{gateway}/openapi.json", "--url", gateway),
        *("--header", f"Authorization: Bearer {bearer}"),
        *("--checks", CHECKS, "--phases", PHASES, "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED)),
        *("--workers", "2", "--no-shrink", "--request-timeout", "30", "--suppress-health-check", "all"),
        *("--report", "ndjson", "--report-ndjson-path", str(report)),
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=1200, check=False)
    assert report.exists(), run.stdout[-2000:] + run.stderr[-2000:]
    operations, cases, failures = _summary(report)
    statuses = Counter(line.split("]")[0] + "]" for line in failures)
    print(f"\nschemathesis: {operations} operations, {cases} cases, {len(failures)} distinct failures")
    for line in failures:
        print("  " + line)
    if failures:
        print("unhandled errors in the processes' logs:")
        for line in _unhandled_errors(fuzzed_platform.workdir):
            print("  " + line)
    assert operations > 150 and cases > operations
    assert not failures, f"{len(failures)} failures ({dict(statuses)}); see the output above"
