"""``kam republish <app> --since T``: send again the events an app already published (after a broker loss).

It works on the app's database directly (the app may be running or not): the rows sent in ``[since, until)`` are
marked pending again and the app's relay re-publishes them with their own event ids — at once when it runs, when
it starts otherwise. Consumers de-duplicate by event id. The same operation over HTTP is
``POST /api/v1/<app>/admin/outbox/republish`` (admin). docs/RELIABILITY.md.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console

console = Console()


def _instant(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise typer.BadParameter(f"{value!r} has no UTC offset (e.g. 2026-03-01T08:00:00+08:00)")
    return parsed


async def _republish(name: str, since: datetime, until: datetime | None, dry_run: bool) -> dict[str, Any]:
    import importlib

    from kam.registry import APPS
    from shared.bus.retention import republish
    from shared.db import Database

    info = APPS[name]
    tables = importlib.import_module(f"{info.module}.models").platform
    db = Database(info.settings().database_url)
    try:
        result = await republish(db, tables.outbox, since=since, until=until, dry_run=dry_run)
    finally:
        await db.dispose()
    return {"app": name, **asdict(result)}


def register(app: typer.Typer) -> None:
    """Add ``kam republish`` to the CLI."""

    @app.command("republish")
    def republish_cmd(
        name: Annotated[str, typer.Argument(help="the app whose published events to send again")],
        since: Annotated[str, typer.Option(help="first sent instant, with offset (RFC 3339)")],
        until: Annotated[str | None, typer.Option(help="end of the window (exclusive), with offset")] = None,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="only count the rows")] = False,
    ) -> None:
        """Queue an app's already-sent outbox rows again; its relay re-publishes them (consumers dedupe by id)."""
        from kam.registry import APPS

        if name not in APPS:
            raise typer.BadParameter(f"unknown app {name!r}; choose from {', '.join(APPS)}")
        start, end = _instant(since), (_instant(until) if until else None)
        if end is not None and end <= start:
            raise typer.BadParameter("--until must be after --since")
        console.print_json(json.dumps(asyncio.run(_republish(name, start, end, dry_run))))
