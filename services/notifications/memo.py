"""What routing reads once per consumer transaction instead of once per event.

The consumer applies a fetched batch several events per transaction (``shared.bus.consumer``); routing each one
read the rules of its kind, the webhook subscriptions, the teams, every recipient's preferences, user and account
rows again — ten statements of twelve for an event that tells two people. ``on_notifiable_event`` opens a memo on
the transaction's session; the readers below keep what they read in it for the rest of that transaction.

Safe because a transaction sees one state of the database: the rules, subscriptions, robots, teams and
preferences are changed only by API requests (other transactions), and the user and account projections, which
handlers of this same transaction do change, are forgotten whenever a projection event is applied
(``forget_directory``). Nothing is remembered outside a consumer transaction (``memo`` is None there)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")

MEMO = "kam.notifications.memo"
# Keys whose first part is one of these come from the projections (written by this service's own handlers).
PROJECTED = frozenset({"account", "user"})
Key = tuple[Hashable, ...]


# The keys, one builder each: two readers never share a key by accident (a user whose id is "active-roles" once
# would have read the list of role holders as their row).
def user_key(user_id: str) -> Key:
    """A user's projected row."""
    return ("user", user_id)


ACTIVE_ROLES_KEY: Key = ("user", "*", "active-roles")  # who holds which role (three parts: no user's key)


def account_key(account_id: str) -> Key:
    """An account's projected row."""
    return ("account", account_id)


def access_key(account_id: str, user_id: str) -> Key:
    """Whether a user may see an account (from the projections)."""
    return ("account", account_id, "access", user_id)


def rules_key(kind: str) -> Key:
    """The enabled routing rules of an event kind."""
    return ("rules", kind)


def robots_key(account_id: str | None, team_codes: tuple[str, ...]) -> Key:
    """The group robots of an account and its owner's teams."""
    return ("robots", account_id, team_codes)


def preferences_key(user_id: str) -> Key:
    """A user's effective preferences."""
    return ("preferences", user_id)


TEAMS_KEY: Key = ("teams",)
WEBHOOKS_KEY: Key = ("webhooks",)


def open_memo(session: AsyncSession) -> None:
    """Let the readers remember for the rest of this transaction (the consumer's handler calls it)."""
    session.info.setdefault(MEMO, {})


def memo(session: AsyncSession) -> dict[Hashable, Any] | None:
    """This transaction's memo, or None outside a consumer transaction."""
    return session.info.get(MEMO)


async def remembered(session: AsyncSession, key: Key, load: Callable[[], Awaitable[T]]) -> T:
    """``load()`` once per transaction for ``key`` (every time when no memo is open)."""
    kept = memo(session)
    if kept is None:
        return await load()
    if key not in kept:
        kept[key] = await load()
    return kept[key]  # type: ignore[no-any-return]


def forget_directory(session: AsyncSession) -> None:
    """Forget the projected rows (a user or account event was just applied in this transaction)."""
    kept = memo(session)
    if kept:
        for key in [k for k in kept if isinstance(k, tuple) and k and k[0] in PROJECTED]:
            del kept[key]
