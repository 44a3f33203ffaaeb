"""`kam up`'s supervisor: the embedded NATS restarted like an app, with back-off and a line naming its log; give-up."""

from __future__ import annotations

import io
import os
import signal
from pathlib import Path

from rich.console import Console

from kam.supervise import RESTART_LIMIT, Child, backoff, check, nats_child
from shared.nats_server import NatsServer, wait_for_port


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=80), out


def test_a_killed_embedded_nats_is_restarted_on_its_port_with_a_line_naming_its_log(tmp_path: Path):
    log_file = tmp_path / "logs" / "nats.log"
    log_file.parent.mkdir()
    server = NatsServer(tmp_path / "nats", log_file=log_file).start()
    try:
        child = nats_child(server, log_file)
        console, out = _console()
        waits: list[float] = []
        assert check([child], console, sleep=waits.append) is None
        assert waits == [] and out.getvalue() == ""  # running: nothing to do
        assert server.process is not None
        os.killpg(server.process.pid, signal.SIGKILL)  # a crash from outside (the supervisor did not stop it)
        server.process.wait()
        assert check([child], console, sleep=waits.append) is None
        wait_for_port(server.port, timeout=10)  # back on the same port
        assert waits == [backoff(1)] == [0.5]
        line = out.getvalue()
        assert "nats exited with -9" in line and str(log_file) in line and "restarting in 0.5s" in line
    finally:
        server.stop()


def test_a_child_that_keeps_crashing_makes_the_supervisor_give_up_with_exit_code_1(tmp_path: Path):
    restarts: list[int] = []
    child = Child("scoring", tmp_path / "logs" / "scoring.log", lambda: 3, lambda: restarts.append(1))
    console, out = _console()
    waits: list[float] = []
    codes = [check([child], console, now=100.0 + i, sleep=waits.append) for i in range(RESTART_LIMIT + 1)]
    assert codes == [None] * RESTART_LIMIT + [1]
    assert len(restarts) == RESTART_LIMIT
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0]
    text = out.getvalue()
    assert "scoring keeps crashing" in text and "giving up" in text and str(tmp_path / "logs" / "scoring.log") in text
    # Crashes older than the window are forgotten: a child that crashes rarely is restarted forever.
    child.crashes = [0.0] * RESTART_LIMIT
    assert check([child], console, now=1000.0, sleep=waits.append) is None
