"""`kam up` (behind `make run`) as a new user runs it: all five apps ready within 30 s, clean stop, data kept."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt
import nats
import psutil
import pytest

from kam.registry import APPS
from shared.nats_server import free_port


def _start(var: Path, ports: dict[str, int]) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAM_")}
    env["KAM_VAR_DIR"] = str(var)
    for name, info in APPS.items():
        env[f"{info.env_prefix}PORT"] = str(ports[name])
    return subprocess.Popen(
        [sys.executable, "-m", "kam.cli", "up", "--ready-timeout", "30"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _read_until(proc: subprocess.Popen[str], needle: str, timeout: float) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if needle in line:
            return lines
    raise AssertionError(f"{needle!r} not printed in {timeout}s:\n{''.join(lines)}")


def _stop(proc: subprocess.Popen[str]) -> str:
    """Ctrl-C to kam; if it does not stop everything in time, kill what is left (and fail)."""
    family = psutil.Process(proc.pid).children(recursive=True) if proc.poll() is None else []
    os.killpg(proc.pid, signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        for process in [psutil.Process(proc.pid), *family]:
            with contextlib.suppress(psutil.Error):
                process.kill()
        proc.communicate()
        raise
    leftovers = [p.pid for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not leftovers, f"kam left processes running: {leftovers}"
    return out


def test_kam_up_brings_all_apps_to_ready_within_30s_loads_the_demo_and_stops_cleanly(tmp_path):
    ports = {name: free_port() for name in APPS}
    proc = _start(tmp_path, ports)
    try:
        started = time.monotonic()
        lines = _read_until(proc, "all apps ready", timeout=45)
        ready_after = time.monotonic() - started
        assert ready_after < 30, f"apps took {ready_after:.1f}s to be ready"
        lines += _read_until(proc, "Press Ctrl-C to stop", timeout=180)
        text = "".join(lines)
        assert "demo data loaded" in text
        for name, port in ports.items():
            assert f"http://127.0.0.1:{port}" in text
            ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
            assert ready.status_code == 200, (name, ready.text)
        assert (tmp_path / ".demo-loaded").exists()
        # A demo login works and the account manager's book has composed overviews with every section.
        gateway = f"http://127.0.0.1:{ports['gateway']}/api/v1"
        login = httpx.post(f"{gateway}/auth/token", data={"username": "am-li", "password": "li-demo-2026"}, timeout=10)
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        book = httpx.get(f"{gateway}/me/accounts", headers=headers, timeout=10).json()["items"]
        assert book and all(item["owner_id"] == "am-li" or "am-li" in item["team_member_ids"] for item in book)
        overview = httpx.get(f"{gateway}/accounts/{book[0]['account_id']}/overview", headers=headers, timeout=10)
        assert overview.status_code == 200
        assert overview.json()["unavailable"] == []
        assert overview.json()["account"]["name"] == book[0]["name"]
        # The JWT secret and the embedded NATS password were generated into the var directory, owner-only; the apps
        # sign with that secret, and the NATS server refuses a client without the password.
        secrets_dir = tmp_path / "secrets"
        assert {stat.S_IMODE(p.stat().st_mode) for p in secrets_dir.iterdir()} == {0o600}
        secret = (secrets_dir / "jwt_secret").read_text().strip()
        assert jwt.decode(login.json()["access_token"], secret, algorithms=["HS256"], audience="kam")["sub"] == "am-li"
        nats_url = re.search(r"NATS\s+(nats://\S+)", text)
        assert nats_url is not None
        with pytest.raises(nats.errors.Error, match="Authorization"):
            asyncio.run(nats.connect(nats_url.group(1), allow_reconnect=False, max_reconnect_attempts=0))
    finally:
        out = _stop(proc)
    assert proc.returncode == 0, out
    assert "stopped." in out
    for name in APPS:
        assert (tmp_path / f"{name}.db").exists(), "data lives under var/ and survives a restart"
    # Second start: same data directory, demo not loaded again, the demo users are still there.
    proc = _start(tmp_path, ports)
    try:
        text = "".join(_read_until(proc, "Press Ctrl-C to stop", timeout=60))
        assert "demo data loaded" not in text
        login = httpx.post(
            f"http://127.0.0.1:{ports['gateway']}/api/v1/auth/token",
            data={"username": "am-li", "password": "li-demo-2026"},
            timeout=10,
        )
        assert login.status_code == 200
        # A crashed app is restarted (and kam says where its log is); the others keep running.
        scoring = next(
            child
            for child in psutil.Process(proc.pid).children(recursive=True)
            if "services.scoring.app:create_app" in " ".join(child.cmdline())
        )
        scoring.kill()
        restarted = "".join(_read_until(proc, "restarting in", timeout=30))
        assert "scoring exited" in restarted and str(tmp_path / "logs" / "scoring.log") in restarted
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{ports['scoring']}/readyz", timeout=2).status_code == 200:
                    break
            time.sleep(0.2)  # polling another process's HTTP readiness: there is no event to await
        else:
            raise AssertionError("scoring was not restarted")
        assert not scoring.is_running() or scoring.status() == psutil.STATUS_ZOMBIE
    finally:
        out = _stop(proc)
    assert proc.returncode == 0, out
