"""``kam up``'s supervisor: restart a crashed app or the embedded NATS with back-off; give up when one keeps crashing.

Every restart and the final give-up print one line naming the child's log file (under the real log folder,
``$KAM_VAR_DIR/logs``). ``kam up`` exits 1 when it gives up.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from shared.nats_server import NatsServer

RESTART_LIMIT = 5  # crashes of one child within RESTART_WINDOW_SECONDS before kam gives up
RESTART_WINDOW_SECONDS = 120.0
MAX_BACKOFF_SECONDS = 10.0


@dataclass
class Child:
    """One supervised process: how to see it exited and how to start it again."""

    name: str
    log_file: Path
    exit_code: Callable[[], int | None]
    restart: Callable[[], None]
    crashes: list[float] = field(default_factory=list)


def app_child(
    name: str,
    log_file: Path,
    processes: list[subprocess.Popen[bytes]],
    index: int,
    spawn: Callable[[], subprocess.Popen[bytes]],
) -> Child:
    """An app started by ``spawn`` whose current process is ``processes[index]`` (replaced on restart)."""

    def restart() -> None:
        processes[index] = spawn()

    return Child(name, log_file, lambda: processes[index].poll(), restart)


def nats_child(server: NatsServer, log_file: Path) -> Child:
    """The embedded NATS server: restarted on its port with its store (JetStream recovers what it had synced)."""

    def exit_code() -> int | None:
        return -1 if server.process is None else server.poll()  # no process: its last start failed

    def restart() -> None:
        server.start()

    return Child("nats", log_file, exit_code, restart)


def backoff(crash_count: int) -> float:
    """Seconds to wait before the n-th restart within the window: 0.5, 1, 2, 4, 8, then 10."""
    return min(0.5 * 2.0 ** (crash_count - 1), MAX_BACKOFF_SECONDS)


def check(
    children: list[Child],
    console: Console,
    *,
    now: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int | None:
    """Restart every child that exited; 1 when one crashed more than ``RESTART_LIMIT`` times in the window."""
    for child in children:
        code = child.exit_code()
        if code is None:
            continue
        at = time.monotonic() if now is None else now
        child.crashes = [t for t in child.crashes if at - t < RESTART_WINDOW_SECONDS] + [at]
        if len(child.crashes) > RESTART_LIMIT:
            console.print(
                f"[red]{child.name} keeps crashing[/red] ({len(child.crashes)} times in "
                f"{RESTART_WINDOW_SECONDS:.0f}s); giving up (see {child.log_file})",
                soft_wrap=True,  # one line, the log path whole
            )
            return 1
        delay = backoff(len(child.crashes))
        console.print(
            f"[yellow]{child.name} exited with {code}[/yellow]; restarting in {delay:.1f}s (see {child.log_file})",
            soft_wrap=True,
        )
        sleep(delay)
        try:
            child.restart()
        except Exception as exc:  # e.g. NATS could not bind its port: counted as the next crash
            console.print(f"[red]{child.name} did not start[/red]: {exc} (see {child.log_file})", soft_wrap=True)
    return None


def supervise(children: list[Child], console: Console, *, poll_seconds: float = 0.5) -> int:
    """Watch the children until one gives up (returns its exit code); Ctrl-C ends it from outside."""
    while True:
        time.sleep(poll_seconds)
        code = check(children, console)
        if code is not None:
            return code
