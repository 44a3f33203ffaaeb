"""Possible duplicates of a company before it is registered: the same name key, or the same credit-code family
(registry/matching.py says what each is).

A name match counts unless both companies carry credit codes of different families (two registered legal entities
that share a name are not one company). The same full credit code is refused outright elsewhere (a credit code is
unique in the registry). Accounts the caller may not see are counted, never named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.models import audit_log
from services.scoring.registry.matching import credit_family, name_key
from services.scoring.registry.models import Account
from shared.audit import record_audit
from shared.auth import Principal, visible_account_ids
from shared.db import PlatformTables
from shared.errors import Conflict

SAME_NAME = "same_name"
SAME_CREDIT_CODE_FAMILY = "same_credit_code_family"
REASON_LABELS = {
    SAME_NAME: ("名称相同", "Same name (normalised)"),
    SAME_CREDIT_CODE_FAMILY: ("统一社会信用代码同一机构", "Same credit-code family (same organisation code)"),
}
MAX_CANDIDATES = 20


class PossibleDuplicate(Conflict):
    """A registration that may duplicate registered accounts (listed in ``duplicates`` / ``hidden_duplicates``)."""

    code = "possible-duplicate"


@dataclass
class Candidate:
    """An account that may be the company about to be registered, and why."""

    account: Account
    reasons: list[str] = field(default_factory=list)
    visible: bool = False


def _reasons(account: Account, keys: set[str], family: str | None) -> list[str]:
    reasons = []
    if {account.name_key, account.name_en_key} & keys:
        differ = family is not None and account.credit_family is not None and account.credit_family != family
        if not differ:
            reasons.append(SAME_NAME)
    if family is not None and account.credit_family == family:
        reasons.append(SAME_CREDIT_CODE_FAMILY)
    return reasons


async def find_duplicates(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    actor: Principal,
    name: str | None,
    name_en: str | None = None,
    credit_code: str | None = None,
    exclude_id: str | None = None,
) -> list[Candidate]:
    """Registered accounts that may be this company (at most ``MAX_CANDIDATES``), each marked visible or not; the
    account ``exclude_id`` (the one being renamed) is never its own duplicate."""
    keys = {k for k in (name_key(name), name_key(name_en)) if k}
    family = credit_family(credit_code)
    matches: list[ColumnElement[bool]] = [Account.name_key.in_(keys), Account.name_en_key.in_(keys)] if keys else []
    if family is not None:
        matches.append(Account.credit_family == family)
    if not matches:
        return []
    query = select(Account).where(or_(*matches))
    if exclude_id is not None:
        query = query.where(Account.id != exclude_id)
    rows = await session.execute(query.order_by(Account.created_at, Account.id))
    found = [Candidate(a, r) for a in rows.scalars() if (r := _reasons(a, keys, family))][:MAX_CANDIDATES]
    visible = visible_account_ids(tables, actor)
    if visible is None:
        for candidate in found:
            candidate.visible = True
    elif found:
        ids = [c.account.id for c in found]
        seen = set((await session.execute(visible.where(tables.account_access.c.account_id.in_(ids)))).scalars())
        for candidate in found:
            candidate.visible = candidate.account.id in seen
    return found


def described(candidates: Sequence[Candidate]) -> dict[str, Any]:
    """The candidates as a problem or a check names them: visible ones in detail, the others only counted."""
    shown = [
        {
            "account_id": c.account.id,
            "name": c.account.name,
            "name_en": c.account.name_en,
            "credit_code": c.account.credit_code,
            "status": c.account.status,
            "owner_id": c.account.owner_id,
            "reasons": c.reasons,
        }
        for c in candidates
        if c.visible
    ]
    hidden = [{"reasons": c.reasons} for c in candidates if not c.visible]
    return {"duplicates": shown, "hidden_duplicates": hidden}


async def refuse_or_confirm(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    actor: Principal,
    name: str,
    name_en: str | None,
    credit_code: str | None,
    confirmed: bool,
    exclude_id: str | None = None,
) -> list[Candidate]:
    """409 listing the possible duplicates of a registration (or of an account renamed or given another credit
    code: ``exclude_id``), unless the body confirms it is not one (the candidates it was confirmed against are then
    returned, for the audit entry)."""
    candidates = await find_duplicates(
        session, tables, actor=actor, name=name, name_en=name_en, credit_code=credit_code, exclude_id=exclude_id
    )
    if candidates and not confirmed:
        raise PossibleDuplicate(
            f"{name} may already be registered ({len(candidates)} possible duplicate(s)); check them, or send "
            '"confirm_not_duplicate": true to go ahead all the same',
            field="name",
            **described(candidates),
        )
    return candidates


async def audit_confirmation(
    session: AsyncSession,
    *,
    account: Account,
    candidates: Sequence[Candidate],
    actor: Principal,
    at: datetime | None = None,
) -> None:
    """Keep who registered (or renamed into) a possible duplicate all the same, and against which accounts."""
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action="account.duplicate_confirmed",
        object_type="account",
        object_id=account.id,
        before=None,
        after={
            "name": account.name,
            "credit_code": account.credit_code,
            "candidates": [{"account_id": c.account.id, "reasons": c.reasons} for c in candidates],
        },
        at=at or account.created_at,
    )
