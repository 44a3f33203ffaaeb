"""What every scenario shares: its result (rows of figure, baseline and ratio), the run's context, the machine's
description, wrk, uvicorn processes and memory readings."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-" + "z" * 40
LIBRARIES = ("fastapi", "starlette", "uvicorn", "pydantic", "SQLAlchemy", "aiosqlite", "asyncpg", "nats-py", "orjson")


@dataclass
class Row:
    """One figure of a scenario: what, its value, its baseline from the same run and their ratio, the goal."""

    measure: str
    value: str
    baseline: str = "—"
    ratio: str = "—"
    goal: str = ""
    met: bool | None = None

    def cells(self) -> list[str]:
        verdict = {True: "met", False: "**missed**", None: ""}[self.met]
        return [self.measure, self.value, self.baseline, self.ratio, self.goal, verdict]


@dataclass
class Section:
    """A scenario's outcome: rows, notes, and whether the run was valid (no errors, no non-2xx answers)."""

    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(
        self, measure: str, value: str, baseline: str = "—", ratio: str = "—", goal: str = "", met: bool | None = None
    ) -> None:
        self.rows.append(Row(measure, value, baseline, ratio, goal, met))

    def markdown(self) -> str:
        lines = [f"## {self.title}", ""]
        if self.invalid:
            lines += [f"**INVALID RUN**: {'; '.join(self.invalid)}", ""]
        if self.rows:
            lines += ["| measure | value | baseline (same run) | ratio | goal | |", "|---|---|---|---|---|---|"]
            lines += ["| " + " | ".join(row.cells()) + " |" for row in self.rows]
        lines += ["", *self.notes, "", f"(scenario took {self.seconds:.0f} s)"]
        return "\n".join(lines) + "\n"


@dataclass
class Context:
    """What a scenario is run with: quick or full sizes, an optional PostgreSQL server, a scratch directory."""

    quick: bool
    postgres_url: str | None
    workdir: Path
    platforms: dict[str, Any] = field(default_factory=dict)  # shared running platforms, by database kind

    def sizes(self, full: Sequence[int], quick: Sequence[int]) -> list[int]:
        return list(quick if self.quick else full)

    def backends(self) -> list[str]:
        """``sqlite`` and, when a server was given, ``postgresql``."""
        return ["sqlite", "postgresql"] if self.postgres_url else ["sqlite"]

    def scratch(self, name: str) -> Path:
        path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.workdir))
        return path


def ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.2f}" if baseline else "—"


# ---------------------------------------------------------------- the machine


def _lscpu() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or platform.machine()
    facts = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    model = facts.get("Model name", platform.machine()).strip()
    cpus, threads = facts.get("CPU(s)", "?").strip(), facts.get("Thread(s) per core", "?").strip()
    return f"{model}, {cpus} CPU(s), {threads} thread(s)/core"


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def wrk_version() -> str:
    path = shutil.which("wrk")
    if path is None:
        return "absent"
    out = subprocess.run([path, "-v"], capture_output=True, text=True)
    return (out.stdout + out.stderr).strip().splitlines()[0] if (out.stdout + out.stderr).strip() else path


def machine_description(command: str, postgres: str | None) -> str:
    """Where, when, with what and how the benchmarks ran."""
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    libraries = ", ".join(f"{n} {_version(n)}" for n in LIBRARIES)
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return "\n".join(
        [
            f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
            f"- CPU (lscpu): {_lscpu()}; {mem_gib:.0f} GiB; {platform.system()} {platform.release()}",
            f"- load average at start (1/5/15 min): {load}",
            f"- Python {platform.python_version()}; {libraries}",
            f"- databases: SQLite {sqlite3.sqlite_version}"
            + (f"; PostgreSQL {postgres}" if postgres else " (no PostgreSQL run)"),
            f"- HTTP load generator: {wrk_version()}",
            f"- command: `{command}`",
        ]
    )


# ---------------------------------------------------------------- wrk

WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format(
    '{"requests":%.0f,"duration_us":%.0f,"non2xx":%.0f,"connect":%.0f,"read":%.0f,"write":%.0f,' ..
    '"timeout":%.0f,"p50_us":%.0f,"p99_us":%.0f,"max_us":%.0f}\\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def ensure_wrk() -> str:
    """The wrk binary; installed from the system packages (``apt-get install -y wrk``) when missing."""
    path = shutil.which("wrk")
    if path is None:
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, capture_output=True)
        path = shutil.which("wrk")
        if path is None:
            subprocess.run(["apt-get", "update"], check=False, capture_output=True)
            subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, capture_output=True)
            path = shutil.which("wrk")
    if path is None:
        raise RuntimeError("wrk is not installed and could not be installed with apt-get")
    return path


@dataclass(frozen=True)
class Load:
    """One wrk run: throughput, latency percentiles and errors (non-2xx/3xx answers and socket errors)."""

    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    non2xx: int
    socket_errors: int

    @property
    def errors(self) -> int:
        return self.non2xx + self.socket_errors


def wrk(url: str, *, connections: int, seconds: float, headers: dict[str, str] | None = None, threads: int = 2) -> Load:
    """Drive ``url`` with wrk for ``seconds`` over ``connections`` keep-alive connections."""
    script = Path(tempfile.gettempdir()) / "kam-bench-wrk.lua"
    script.write_text(WRK_SCRIPT)
    args = [ensure_wrk(), f"-t{min(threads, connections)}", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
    args += ["--timeout", "10s", "-s", str(script)]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True)
    data = json.loads([line for line in out.stdout.splitlines() if line.startswith("{")][-1])
    seconds_run = data["duration_us"] / 1e6
    return Load(
        rps=data["requests"] / seconds_run if seconds_run else 0.0,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        requests=int(data["requests"]),
        non2xx=int(data["non2xx"]),
        socket_errors=int(data["connect"] + data["read"] + data["write"] + data["timeout"]),
    )


# ---------------------------------------------------------------- processes and memory


def uvicorn(factory: str, port: int, env: dict[str, str], log: Path, cwd: Path = ROOT) -> subprocess.Popen[bytes]:
    """An app under uvicorn as the platform runs it: one worker, no access log, warnings only."""
    command = [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--no-access-log", "--log-level", "warning"]
    return subprocess.Popen(
        command, env=env, cwd=cwd, stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True
    )


def wait_ok(url: str, timeout: float = 60, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(url)


def stop(procs: Sequence[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def rss_mib(pid: int) -> float:
    """Resident memory of a running process (MiB)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mib() -> float:
    """Peak resident memory of this process (MiB): the kernel's high-water mark of its address space (VmHWM),
    which starts afresh at exec. Not ``getrusage(RUSAGE_SELF).ru_maxrss``: Linux carries that across execve, so a
    child started by a large parent reported the parent's peak (the 1M-row import once "peaked" at 2,176 MiB —
    the bench runner's own peak after building the bulk-import file)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_child(module: str, *args: str, timeout: float = 3600) -> dict[str, Any]:
    """Run ``python -m module args`` and return the JSON object its last line prints (its peak RSS its own)."""
    out = subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout
    )
    if out.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed: {out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def token(user_id: str, roles: list[str]) -> str:
    """A token for the whole run: the default 15 minutes expired in the middle of the writes scenario (its
    50,000 registrations take longer), which then failed with 401."""
    from datetime import timedelta

    from shared.auth import mint_token

    return mint_token(secret=SECRET, user_id=user_id, roles=roles, ttl=timedelta(hours=12))
