"""Codes imports may name an account by — its ERP customer codes and its credit code — kept from the registry's
account events, and resolved once per import or request (a code → account id map)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.actuals.models import AccountCode
from services.goals.models import platform
from shared.events import AccountRegistered, AccountUpdated
from shared.projection import event_version


async def apply_account_codes(session: AsyncSession, event: AccountRegistered | AccountUpdated) -> None:
    """Take the account's codes from a snapshot: a None field leaves that kind unchanged, a value replaces it (a code
    held by another account moves). An event older than the codes kept for the account is ignored."""
    assert event.account_id is not None
    data, account_id, version = event.data, event.account_id, event_version(event)
    wanted: dict[str, list[str]] = {}
    if data.erp_codes is not None:
        wanted["erp"] = list(dict.fromkeys(data.erp_codes))
    if data.credit_code is not None:
        wanted["credit"] = [data.credit_code] if data.credit_code else []
    if not wanted:
        return
    newest = await session.scalar(select(func.max(AccountCode.version)).where(AccountCode.account_id == account_id))
    if newest is not None and newest > version:
        return
    await session.execute(
        delete(AccountCode).where(AccountCode.account_id == account_id, AccountCode.kind.in_(list(wanted)))
    )
    codes = [code for held in wanted.values() for code in held]
    if codes:
        await session.execute(delete(AccountCode).where(AccountCode.code.in_(codes)))
    session.add_all(
        AccountCode(code=code, account_id=account_id, kind=kind, version=version)
        for kind, held in wanted.items()
        for code in held
    )
    await session.flush()


async def code_map(session: AsyncSession, account_ids: Collection[str]) -> dict[str, str]:
    """Code → account id, of the given accounts (one read of every code, filtered here: no huge IN list)."""
    rows = await session.execute(select(AccountCode.code, AccountCode.account_id))
    return {code: account_id for code, account_id in rows if account_id in account_ids}


async def resolve_codes(session: AsyncSession, keys: Collection[str]) -> dict[str, str]:
    """The accounts of the given keys that are codes (ids and unknown keys are absent): an account id wins over a
    code that happens to spell it, as in the CSV import."""
    if not keys:
        return {}
    accounts = platform.accounts
    ids = set(await session.scalars(select(accounts.c.account_id).where(accounts.c.account_id.in_(keys))))
    codes = [k for k in keys if k not in ids]
    if not codes:
        return {}
    rows = await session.execute(select(AccountCode.code, AccountCode.account_id).where(AccountCode.code.in_(codes)))
    return {code: account_id for code, account_id in rows}
