"""``kam users``: create the first admin (and other users) directly in the gateway's database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console()


async def _add(user_id: str, name: str, password: str, roles: list[str]) -> None:
    from gateway import identity
    from kam.registry import APPS
    from shared.db import Database
    from shared.migrations import upgrade_to_head

    info = APPS["gateway"]
    settings = info.settings()
    db = Database(settings.database_url)
    try:
        await upgrade_to_head(db, info.migrations_dir)
        async with db.transaction() as session:
            await identity.create_user(
                session=session,
                passwords=identity.Passwords(
                    time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib
                ),
                user_id=user_id,
                name=name,
                password=password,
                roles=roles,
                now=datetime.now(UTC),
            )
    finally:
        await db.dispose()


async def _list() -> list[tuple[str, str, list[str], bool]]:
    from gateway import identity
    from kam.registry import APPS
    from shared.db import Database
    from shared.migrations import upgrade_to_head

    info = APPS["gateway"]
    db = Database(info.settings().database_url)
    try:
        await upgrade_to_head(db, info.migrations_dir)
        async with db.transaction(write=False) as session:
            users, _ = await identity.list_users(session=session, limit=10_000, offset=0)
            return [(u.user_id, u.name, list(u.roles), u.active) for u in users]
    finally:
        await db.dispose()


def register(app: typer.Typer) -> None:
    """Add ``kam users add`` and ``kam users list``."""
    users = typer.Typer(help="Users of the gateway (log in at /api/v1/auth/token).", no_args_is_help=True)

    @users.command("add")
    def add(
        user_id: str,
        role: Annotated[list[str], typer.Option("--role", "-r", help="admin, supervisor, account_manager, …")] = [  # noqa: B006
            "admin"
        ],
        name: Annotated[str, typer.Option(help="display name")] = "",
        password: Annotated[
            str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="at least 8 characters")
        ] = "",
    ) -> None:
        """Create a user (by default an admin) in the gateway's database."""
        from shared.errors import DomainError

        try:
            asyncio.run(_add(user_id, name, password, role))
        except DomainError as exc:
            console.print(f"[red]{exc.detail}[/red]")
            raise typer.Exit(1) from exc
        console.print(f"[green]created[/green] {user_id} ({', '.join(sorted(set(role)))})")

    @users.command("list")
    def list_() -> None:
        """List the users."""
        table = Table("user", "name", "roles", "active")
        for user_id, name, roles, active in asyncio.run(_list()):
            table.add_row(user_id, name, ", ".join(roles), "yes" if active else "no")
        console.print(table)

    app.add_typer(users, name="users")
