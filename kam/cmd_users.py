"""``kam users``: create the first admin (and other users) directly in the gateway's database.

Every change is published to the services like one made through the API (``identity.*`` events in the gateway's
outbox, in the same transaction): a running gateway relays them at once, a stopped one when it starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from gateway.identity import Passwords
    from shared.bus.publish import Publisher

console = Console()
T = TypeVar("T")


async def _in_gateway_db(work: Callable[[AsyncSession, Passwords, Publisher], Awaitable[T]]) -> T:
    """Run ``work`` in one transaction of the gateway's database (migrated first), with its publisher."""
    from gateway.identity import Passwords
    from gateway.models import platform
    from kam.registry import APPS
    from shared.bus.publish import Publisher
    from shared.clock import SystemClock
    from shared.db import Database
    from shared.migrations import upgrade_to_head

    info = APPS["gateway"]
    settings = info.settings()
    db = Database(settings.database_url)
    try:
        await upgrade_to_head(db, info.migrations_dir)
        passwords = Passwords(time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib)
        publisher = Publisher(service="gateway", outbox=platform.outbox, clock=SystemClock())
        async with db.transaction() as session:
            return await work(session, passwords, publisher)
    finally:
        await db.dispose()


# Who the audit log names for a change made with ``kam users`` (an operator on the gateway's host, no login).
CLI_ACTOR = "kam-cli"


async def _add(fields: dict[str, Any]) -> None:
    from gateway import users
    from gateway.schemas import UserCreate

    body = UserCreate.model_validate(fields)

    async def work(session: AsyncSession, passwords: Passwords, publisher: Publisher) -> None:
        await users.create_user(session, body=body, passwords=passwords, publisher=publisher, actor_id=CLI_ACTOR)

    await _in_gateway_db(work)


async def _set(user_id: str, fields: dict[str, Any]) -> tuple[list[str], bool]:
    from gateway import users
    from gateway.schemas import UserUpdate

    body = UserUpdate.model_validate(fields)

    async def work(session: AsyncSession, passwords: Passwords, publisher: Publisher) -> tuple[list[str], bool]:
        user = await users.get_user(session, user_id=user_id)
        await users.update_user(
            session, user=user, body=body, passwords=passwords, publisher=publisher, actor_id=CLI_ACTOR
        )
        return list(user.roles), user.active

    return await _in_gateway_db(work)


async def _list() -> list[tuple[str, str, list[str], bool, str]]:
    from gateway import users

    async def work(session: AsyncSession, _: Passwords, __: Publisher) -> list[tuple[str, str, list[str], bool, str]]:
        rows, _total = await users.list_users(session, limit=10_000, offset=0)
        return [(u.user_id, u.name, list(u.roles), u.active, u.email or "") for u in rows]

    return await _in_gateway_db(work)


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a command; a refused change (bad input, unknown or existing user) is printed and exits with 1."""
    from pydantic import ValidationError

    from shared.errors import DomainError

    try:
        return asyncio.run(coroutine)
    except DomainError as exc:
        console.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from exc
    except ValidationError as exc:
        for error in exc.errors():
            console.print(f"[red]{'.'.join(str(p) for p in error['loc'])}: {error['msg']}[/red]")
        raise typer.Exit(1) from exc


RoleOption = Annotated[list[str], typer.Option("--role", "-r", help="admin, supervisor, account_manager, …")]
ChannelOption = Annotated[
    list[str], typer.Option("--channel", help="a contact channel as kind=id (wecom, dingtalk, feishu, email)")
]


def _channels(values: list[str]) -> dict[str, str]:
    """``["wecom=LiLei"]`` → ``{"wecom": "LiLei"}`` (validated by the users' schema)."""
    pairs = [value.partition("=") for value in values]
    return {kind.strip(): ident.strip() for kind, _, ident in pairs}


def register(app: typer.Typer) -> None:
    """Add ``kam users add``, ``kam users set`` and ``kam users list``."""
    users = typer.Typer(help="Users of the gateway (log in at /api/v1/auth/token).", no_args_is_help=True)

    @users.command("add")
    def add(
        user_id: str,
        role: RoleOption = ["admin"],  # noqa: B006
        name: Annotated[str, typer.Option(help="display name")] = "",
        email: Annotated[str | None, typer.Option(help="e-mail address")] = None,
        channel: ChannelOption = [],  # noqa: B006
        password: Annotated[
            str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="at least 8 characters")
        ] = "",
    ) -> None:
        """Create a user (by default an admin) in the gateway's database; every service hears of them."""
        fields = {"user_id": user_id, "name": name, "password": password, "roles": role, "email": email}
        _run(_add({**fields, "channels": _channels(channel)}))
        console.print(f"[green]created[/green] {user_id} ({', '.join(sorted(set(role)))})")

    @users.command("set")
    def set_(
        user_id: str,
        role: RoleOption = [],  # noqa: B006
        name: Annotated[str | None, typer.Option(help="display name")] = None,
        email: Annotated[str | None, typer.Option(help="e-mail address")] = None,
        channel: ChannelOption = [],  # noqa: B006
        active: Annotated[bool | None, typer.Option("--active/--inactive", help="(de)activate the user")] = None,
    ) -> None:
        """Change a user's roles (all of them: repeat --role), name, contact details or active flag.

        Deactivating ends their sessions at once; the change is published to every service.
        """
        fields: dict[str, Any] = {"roles": role or None, "name": name, "active": active}
        if email is not None:
            fields["email"] = email or None  # --email '' removes the address
        if channel:
            fields["channels"] = _channels(channel)
        roles, is_active = _run(_set(user_id, {k: v for k, v in fields.items() if v is not None or k == "email"}))
        console.print(f"[green]updated[/green] {user_id} ({', '.join(roles)}; {'active' if is_active else 'inactive'})")

    @users.command("list")
    def list_() -> None:
        """List the users."""
        table = Table("user", "name", "roles", "active", "email")
        for user_id, name, roles, active, email in _run(_list()):
            table.add_row(user_id, name, ", ".join(roles), "yes" if active else "no", email)
        console.print(table)

    app.add_typer(users, name="users")
