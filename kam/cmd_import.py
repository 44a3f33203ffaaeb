"""``kam import FILE --batch-id ID``: bulk-import sales lines into the goals service, with a progress bar.

The import runs in this process against the goals database (``KAM_GOALS_DATABASE_URL``), through the same
code as ``POST /goals/imports``: rows are streamed, validated and inserted in batches, and the
``goals.actuals_imported`` events (one per account, its months coalesced) go to the goals outbox, which the
running goals service relays to NATS.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

console = Console()


async def _run(path: Path, batch_id: str, encoding: str | None, show_rejections: int) -> dict[str, Any]:
    from sqlalchemy import select

    from kam.registry import SERVICES
    from services.goals.actuals.importer import count_rows, run_import, start_batch
    from services.goals.actuals.models import ImportRejection
    from services.goals.app import goals_publisher
    from shared.clock import SystemClock
    from shared.db import Database
    from shared.migrations import upgrade_to_head

    info = SERVICES["goals"]
    settings = info.settings()
    db = Database(settings.database_url)
    clock = SystemClock()
    try:
        await upgrade_to_head(db, info.migrations_dir)
        async with db.transaction() as session:
            batch, fresh = await start_batch(
                session, batch_id=batch_id, filename=path.name, actor_id="kam-cli", now=clock.now()
            )
        if not fresh:
            console.print(f"[yellow]batch {batch_id} was already imported[/yellow]; nothing added")
            result = {c: getattr(batch, c) for c in ("batch_id", "status", "accepted", "rejected", "total_rows")}
        else:
            total = await asyncio.to_thread(count_rows, path)
            columns = (
                TextColumn("[bold]importing[/bold] {task.fields[name]}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("rows · [red]{task.fields[rejected]} rejected[/red]"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
            )
            with Progress(*columns, console=console) as progress:
                task = progress.add_task("import", total=total, name=path.name, rejected=0)

                def on_progress(state: dict[str, Any]) -> None:
                    progress.update(
                        task, completed=state["rows_done"], total=state["total_rows"], rejected=state["rejected"]
                    )

                result = await run_import(
                    db,
                    batch_id=batch_id,
                    path=path,
                    settings=settings,
                    clock=clock,
                    publisher=goals_publisher(clock),
                    encoding=encoding,
                    progress=on_progress,
                )
        if show_rejections and result.get("rejected"):
            async with db.transaction() as session:
                rows = await session.scalars(
                    select(ImportRejection)
                    .where(ImportRejection.batch_id == batch_id)
                    .order_by(ImportRejection.line_no)
                    .limit(show_rejections)
                )
                table = Table("line", "reason", title=f"rejected rows (first {show_rejections})")
                for row in rows:
                    table.add_row(str(row.line_no), row.reason)
            console.print(table)
        return result
    finally:
        await db.dispose()


def register(app: typer.Typer) -> None:
    """Add ``kam import`` to the CLI."""

    @app.command("import")
    def import_sales(
        file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV of sales lines")],
        batch_id: Annotated[str, typer.Option("--batch-id", help="idempotency key: the same batch twice adds nothing")],
        encoding: Annotated[
            str, typer.Option(help="auto (UTF-8 with/without BOM, else GBK), utf-8, utf-8-sig, gbk")
        ] = "auto",
        show_rejections: Annotated[int, typer.Option(help="how many rejected rows to list")] = 20,
    ) -> None:
        """Import sales lines (account_id,date,product_line,region,quantity,revenue,cost) into goals."""
        enc = None if encoding == "auto" else ("gb18030" if encoding == "gbk" else encoding)
        result = asyncio.run(_run(file, batch_id, enc, show_rejections))
        status = result.get("status")
        colour = "green" if status == "completed" else "red"
        console.print(
            f"[{colour}]{status}[/{colour}] batch {batch_id}: {result.get('accepted')} accepted, "
            f"{result.get('rejected')} rejected" + (f" — {result.get('error')}" if result.get("error") else "")
        )
        if status != "completed":
            raise typer.Exit(1)
