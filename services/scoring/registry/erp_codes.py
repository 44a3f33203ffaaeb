"""External ERP customer codes of an account: unique across the registry, replaced as a whole, audited; an ERP code
or a credit code resolves to its account (imports name accounts by them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.models import audit_log
from services.scoring.registry.models import Account, AccountErpCode
from shared.audit import record_audit
from shared.auth import Principal
from shared.errors import Conflict

FIELD = "erp_codes"


async def erp_codes_of(session: AsyncSession, account_ids: Sequence[str]) -> dict[str, list[str]]:
    """The ERP codes of each account (sorted by code point; an account without any is absent)."""
    if not account_ids:
        return {}
    rows = await session.execute(
        select(AccountErpCode.account_id, AccountErpCode.code).where(AccountErpCode.account_id.in_(list(account_ids)))
    )
    codes: dict[str, list[str]] = {}
    for account_id, code in rows:
        codes.setdefault(account_id, []).append(code)
    return {account_id: sorted(held) for account_id, held in codes.items()}  # code point order on every backend


async def _ensure_free(session: AsyncSession, codes: Sequence[str], account_id: str) -> None:
    """409 naming ``erp_codes.N`` for a code another account holds (the other account is not named)."""
    rows = await session.execute(
        select(AccountErpCode.code).where(AccountErpCode.code.in_(list(codes)), AccountErpCode.account_id != account_id)
    )
    taken = set(rows.scalars())
    for i, code in enumerate(codes):
        if code in taken:
            raise Conflict(f"ERP code {code} is already used by another account", field=f"{FIELD}.{i}")


async def set_erp_codes(
    session: AsyncSession, *, account: Account, codes: Sequence[str], actor: Principal, now: datetime
) -> bool:
    """Replace the account's ERP codes (audited as ``account.erp_codes_changed``); False when nothing changed."""
    wanted = list(dict.fromkeys(codes))  # the schema refuses duplicates; keep the order for error fields
    before = (await erp_codes_of(session, [account.id])).get(account.id, [])
    if sorted(wanted) == before:
        return False
    await _ensure_free(session, wanted, account.id)
    await session.execute(delete(AccountErpCode).where(AccountErpCode.account_id == account.id))
    session.add_all(AccountErpCode(code=code, account_id=account.id, created_at=now) for code in wanted)
    await session.flush()
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action="account.erp_codes_changed",
        object_type="account",
        object_id=account.id,
        before={FIELD: before},
        after={FIELD: sorted(wanted)},
        at=now,
    )
    return True


async def account_id_by_code(session: AsyncSession, code: str) -> str | None:
    """The account holding an ERP code, else the one with that credit code (upper-cased), else None."""
    found = await session.scalar(select(AccountErpCode.account_id).where(AccountErpCode.code == code))
    if found is None:
        found = await session.scalar(select(Account.id).where(Account.credit_code == code.strip().upper()))
    return found
