"""The field history of an account: every change of a profile field, a rating or the ownership (owner, team) with
who made it, when, and the value before and after (JSON: dates ISO, decimals as strings, lists sorted)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.registry.models import Account, AccountFieldChange
from shared.api import PageParams

PROFILE_FIELDS = (
    "name",
    "name_en",
    "credit_code",
    "industry",
    "region",
    "company_size",
    "annual_revenue",
    "currency",
    "listed",
    "parent_group",
    "parent_account_id",
    "status",
    "cooperation_since",
    "erp_codes",
)
RATING_FIELDS = (
    "industry_leadership",
    "reference_value",
    "channel_value",
    "product_fit",
    "expected_growth_pct",
    "ratings_rationale",
)
OWNERSHIP_FIELDS = ("owner_id", "team_member_ids")
TRACKED_FIELDS = (*PROFILE_FIELDS, *RATING_FIELDS, *OWNERSHIP_FIELDS)


@dataclass(frozen=True)
class ChangeOrigin:
    """Who a change is recorded for: its author, and the supervisor and request when it was approved."""

    changed_by: str
    approved_by: str | None = None
    change_request_id: str | None = None


def plain(value: Any) -> Any:
    """A field's value as the history keeps it (JSON)."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return sorted(plain(v) for v in value)
    return value


def values_of(account: Account, fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """The named account fields as the history keeps them (``erp_codes`` is not an attribute: pass it in)."""
    return {f: plain(getattr(account, f)) for f in fields if f != "erp_codes"}


def record_changes(
    session: AsyncSession,
    *,
    account_id: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    origin: ChangeOrigin,
    at: datetime,
) -> int:
    """One history row per field whose value differs between ``before`` and ``after``; how many were written."""
    rows = [
        AccountFieldChange(
            account_id=account_id,
            field=name,
            old_value=plain(before.get(name)),
            new_value=plain(after.get(name)),
            changed_by=origin.changed_by,
            changed_at=at,
            approved_by=origin.approved_by,
            change_request_id=origin.change_request_id,
        )
        for name in TRACKED_FIELDS
        if name in after and plain(before.get(name)) != plain(after.get(name))
    ]
    session.add_all(rows)
    return len(rows)


async def field_history(
    session: AsyncSession, *, account_id: str, field: str | None, page: PageParams
) -> tuple[list[AccountFieldChange], int]:
    """A page of the account's field changes, newest first (optionally of one field), with the total."""
    statement = select(AccountFieldChange).where(AccountFieldChange.account_id == account_id)
    if field is not None:
        statement = statement.where(AccountFieldChange.field == field)
    total = int(await session.scalar(select(func.count()).select_from(statement.subquery())) or 0)
    ordered = statement.order_by(AccountFieldChange.changed_at.desc(), AccountFieldChange.id.desc())
    rows = await session.execute(ordered.limit(page.limit).offset(page.offset))
    return list(rows.scalars()), total
