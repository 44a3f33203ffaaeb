"""The ``kam`` command: run the platform, migrate, inspect and replay dead letters, manage demo data."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from kam.local_secrets import use_local_jwt_secret, use_local_nats_credentials
from kam.registry import APPS, ROOT, SERVICES, AppInfo
from kam.supervise import app_child, nats_child, supervise
from shared.bus.nats import redacted
from shared.nats_server import NatsServer, port_is_free

app = typer.Typer(help="KA Platform operator commands.", no_args_is_help=True)
dead_letters_app = typer.Typer(help="Inspect and replay events that failed their handlers.", no_args_is_help=True)
app.add_typer(dead_letters_app, name="dead-letters")
console = Console()

VAR = Path(os.environ.get("KAM_VAR_DIR", ROOT / "var"))


def _pick(name: str) -> AppInfo:
    if name not in APPS:
        raise typer.BadParameter(f"unknown app {name!r}; choose from {', '.join(APPS)}")
    return APPS[name]


async def _migrate(info: AppInfo) -> None:
    from shared.db import Database
    from shared.migrations import upgrade_to_head

    settings = info.settings()
    db = Database(settings.database_url)
    try:
        await upgrade_to_head(db, info.migrations_dir)
    finally:
        await db.dispose()


@app.command()
def migrate(name: Annotated[str, typer.Argument(help="an app name or 'all'")] = "all") -> None:
    """Apply migrations to each app's database."""
    targets = list(APPS.values()) if name == "all" else [_pick(name)]
    for info in targets:
        asyncio.run(_migrate(info))
        console.print(f"[green]migrated[/green] {info.name}")


@app.command()
def makemigrations(name: str, message: Annotated[str, typer.Option("-m", "--message")] = "schema change") -> None:
    """Autogenerate a migration for an app from its models (against a scratch SQLite database)."""
    from alembic import command

    from shared.db import Database
    from shared.migrations import alembic_config, upgrade_to_head

    info = _pick(name)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/scratch.db"
        db = Database(url)
        asyncio.run(upgrade_to_head(db, info.migrations_dir))
        asyncio.run(db.dispose())
        config = alembic_config(info.migrations_dir, url)
        command.revision(config, message=message, autogenerate=True)


@dead_letters_app.command("list")
def dead_letters_list(name: str, status: str | None = None, limit: int = 50) -> None:
    """List an app's dead letters (newest first)."""
    from shared.bus.consumer import list_dead_letters
    from shared.db import Database

    info = _pick(name)
    tables = __import__(f"{info.module}.models", fromlist=["platform"]).platform

    async def _run() -> tuple[list[dict[str, Any]], int]:
        db = Database(info.settings().database_url)
        try:
            return await list_dead_letters(db, tables, status=status, limit=limit)
        finally:
            await db.dispose()

    items, total = asyncio.run(_run())
    table = Table("id", "event type", "event id", "attempts", "status", "error", title=f"{name}: {total} dead letters")
    for item in items:
        table.add_row(
            str(item["id"]),
            item["event_type"],
            item["event_id"],
            str(item["attempts"]),
            item["status"],
            item["error"][:80],
        )
    console.print(table)


@dead_letters_app.command("replay")
def dead_letters_replay(name: str, dead_letter_id: int) -> None:
    """Run a dead-lettered event through its handlers again."""
    from shared.bus.consumer import replay_dead_letter

    info = _pick(name)
    module = __import__(f"{info.module}.app", fromlist=["create_app"])

    async def _run() -> dict[str, Any]:
        # The service's own app without NATS: the replay gets exactly the handlers, publisher and extras it runs with
        # (what it publishes waits in the outbox for the running service's relay).
        settings = info.settings().model_copy(update={"nats_enabled": False})
        app = module.create_app(settings)
        async with app.router.lifespan_context(app):
            if app.state.consumer is None:
                raise typer.BadParameter(f"{name} consumes no events")
            result: dict[str, Any] = await replay_dead_letter(app.state.consumer, dead_letter_id)
            return result

    console.print_json(json.dumps(asyncio.run(_run())))


def _start_nats() -> tuple[str, NatsServer | None]:
    """An external NATS (KAM_NATS_URL, with its own KAM_NATS_USER/PASSWORD if it needs them) or the embedded one,
    which refuses clients without the generated credentials (kam.local_secrets)."""
    external = os.environ.get("KAM_NATS_URL")
    if external:
        return external, None
    credentials = use_local_nats_credentials(VAR, os.environ)
    port = 4222 if port_is_free(4222) else None
    server = NatsServer(
        VAR / "nats",
        port=port,
        log_file=VAR / "logs" / "nats.log",
        user=credentials.user,
        password=credentials.password,
    ).start()
    return server.url, server


def _wait_ready(urls: dict[str, str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = dict(urls)
    while pending and time.monotonic() < deadline:
        for name, url in list(pending.items()):
            try:
                if httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200:
                    pending.pop(name)
            except httpx.HTTPError:
                pass
        time.sleep(0.2)
    if pending:
        raise RuntimeError(f"not ready after {timeout}s: {', '.join(pending)} (see {VAR / 'logs'})")


@app.command()
def up(
    demo: Annotated[bool, typer.Option(help="load the demo portfolio on first start")] = True,
    host: str = "127.0.0.1",
    ready_timeout: float = 60.0,
) -> None:
    """Start NATS (embedded unless KAM_NATS_URL is set), the services and the gateway; restart a crashed one."""
    (VAR / "logs").mkdir(parents=True, exist_ok=True)
    use_local_jwt_secret(VAR, os.environ)  # before the demo mints tokens and the apps are spawned
    nats_url, nats_server = _start_nats()
    where = f" (embedded, authenticated, storage {VAR / 'nats'})" if nats_server else " (external)"
    console.print(f"NATS      {redacted(nats_url)}{where}")
    console.print(f"logs      {VAR / 'logs'}", soft_wrap=True)
    console.print(f"secrets   {VAR / 'secrets'} (generated on first start, owner-only)", soft_wrap=True)
    processes: list[subprocess.Popen[bytes]] = []
    urls: dict[str, str] = {}
    env = dict(os.environ)
    env.setdefault("KAM_NATS_URL", nats_url)
    env["KAM_NATS_URL"] = nats_url
    for info in APPS.values():
        port = int(env.get(f"{info.env_prefix}PORT", info.port))
        env.setdefault(f"{info.env_prefix}DATABASE_URL", f"sqlite+aiosqlite:///{VAR / (info.name + '.db')}")
        urls[info.name] = f"http://{host}:{port}"
    for name in SERVICES:
        env.setdefault(f"KAM_GATEWAY_{name.upper()}_URL", urls[name])

    def _spawn(info: AppInfo) -> subprocess.Popen[bytes]:
        listen_port = urls[info.name].rsplit(":", 1)[1]
        log = open(VAR / "logs" / f"{info.name}.log", "ab")
        return subprocess.Popen(  # noqa: S603 - fixed argv
            [
                *UVICORN,
                info.factory,
                "--host",
                host,
                "--port",
                listen_port,
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )

    processes.extend(_spawn(info) for info in APPS.values())

    def _stop(*_: object) -> None:
        # A second signal (Ctrl-C twice, or `timeout` forwarding one) must not abort the stop half-way and orphan
        # the children: stopping is bounded anyway (SIGTERM, then SIGKILL after 15 s).
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        console.print("\nstopping …")
        for proc in processes:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in processes:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        if nats_server is not None:
            nats_server.stop()
        console.print("stopped.")

    def _interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    # Ctrl-C, SIGTERM (a supervisor, `timeout`) and SIGHUP all stop the children in order. SIGINT is set
    # explicitly: a process started in the background of a script inherits it ignored.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    exit_code = 0
    try:
        started = time.monotonic()
        _wait_ready(urls, ready_timeout)
        console.print(f"[green]all apps ready[/green] in {time.monotonic() - started:.1f}s")
        marker = VAR / ".demo-loaded"
        if demo and not marker.exists():
            from kam.demo import load_demo

            summary = asyncio.run(load_demo(urls))
            marker.write_text(json.dumps(summary, ensure_ascii=False))
            console.print(f"demo data loaded through {urls['gateway']}/api/v1: {summary}")
        if demo:
            from kam.demo import DEMO_USERS

            logins = Table("user", "password", "roles", "who", title="Demo logins (POST /api/v1/auth/token)")
            for user in DEMO_USERS:
                logins.add_row(user["user_id"], user["password"], ", ".join(user["roles"]), user["name"])
            console.print(logins)
        console.print(f"[bold]Console   {urls['gateway']}/[/bold]   (log in with a demo user above)\n")
        for name, url in urls.items():
            console.print(f"{name:<14}{url}   docs {url}/docs")
        console.print(f"\nPublic API: {urls['gateway']}/api/v1   OpenAPI: {urls['gateway']}/docs")
        console.print("Press Ctrl-C to stop.")
        children = [
            app_child(info.name, VAR / "logs" / f"{info.name}.log", processes, i, functools.partial(_spawn, info))
            for i, info in enumerate(APPS.values())
        ]
        if nats_server is not None:
            children.append(nats_child(nats_server, VAR / "logs" / "nats.log"))
        exit_code = supervise(children, console)
    except KeyboardInterrupt:
        pass
    finally:
        _stop()
    if exit_code:
        raise typer.Exit(exit_code)


UVICORN = (sys.executable, "-m", "uvicorn", "--factory")


@app.command("nats")
def nats_cmd() -> None:
    """Run only the embedded NATS server (foreground)."""
    url, server = _start_nats()
    auth = f" (user {server.user}, password in {VAR / 'secrets' / 'nats_password'})" if server else ""
    console.print(f"NATS at {url}{auth}; Ctrl-C to stop")
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        if server:
            server.stop()


@app.command("demo")
def demo_cmd(gateway_url: str = "http://127.0.0.1:8000") -> None:
    """Load the demo portfolio into a running platform."""
    from kam.demo import load_demo

    use_local_jwt_secret(VAR, os.environ)  # the secret of the platform `kam up` runs from this var directory
    urls = {info.name: f"http://127.0.0.1:{info.port}" for info in APPS.values()}
    urls["gateway"] = gateway_url
    console.print(asyncio.run(load_demo(urls)))


def _register_command_modules() -> None:
    """Commands contributed by other modules: every ``kam/cmd_*.py`` exposes ``register(app)``."""
    import importlib
    import pkgutil

    package_dir = Path(__file__).parent
    for module in sorted(pkgutil.iter_modules([str(package_dir)]), key=lambda m: m.name):
        if module.name.startswith("cmd_"):
            importlib.import_module(f"kam.{module.name}").register(app)


_register_command_modules()

if __name__ == "__main__":
    app()
