"""Read side of the registry: the account list's filters (repeatable), score and purchase ranges, search by name,
credit code and ERP code (LIKE wildcards taken literally), and its orders (pinyin name, purchases, score …), all
filtered, ordered and cut into pages in SQL."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Select, case, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.registry.models import Account, AccountErpCode
from services.scoring.registry.schemas import AccountStatus
from services.scoring.scores.feature_store import SCORING_CURRENCY
from services.scoring.scores.models import AccountFeatures
from shared.api import PageParams, parse_sort
from shared.auth import Principal, visible_accounts_clause
from shared.db import PlatformTables
from shared.errors import Unprocessable
from shared.money import CurrencyCode
from shared.vocabulary import TIER_CODES, TierCode, tier_rank

SORTABLE = ("name", "score", "tier", "purchases", "created_at", "updated_at", "industry", "region")
MAX_VALUES = 50
Text = Annotated[str, Field(min_length=1, max_length=100)]
Values = Annotated[list[Text], Field(max_length=MAX_VALUES)]
Score = Annotated[Decimal, Field(ge=0, le=100, allow_inf_nan=False)]
Amount = Annotated[Decimal, Field(ge=0, lt=Decimal(10) ** 16, allow_inf_nan=False)]


class AccountListQuery(BaseModel):
    """Filters and order of the account list (query parameters; a repeated parameter means any of its values)."""

    tier: list[TierCode] = Field(default_factory=list, max_length=4, description="Any of these tiers (repeatable)")
    status: list[AccountStatus] = Field(default_factory=list, max_length=3, description="Any of these statuses")
    owner_id: Values = Field(default_factory=list, description="Owned by any of these users (repeatable)")
    industry: Values = Field(default_factory=list, description="In any of these industries (repeatable)")
    region: Values = Field(default_factory=list, description="In any of these regions (repeatable)")
    score_min: Score | None = Field(default=None, description="Score at least (unscored accounts are left out)")
    score_max: Score | None = Field(default=None, description="Score at most")
    revenue_min: Amount | None = Field(
        default=None, description="Purchases of the last 12 months at least, in the scoring currency (CNY)"
    )
    revenue_max: Amount | None = Field(default=None, description="Purchases of the last 12 months at most (CNY)")
    revenue_currency: CurrencyCode | None = Field(
        default=None, description="The currency of revenue_min/revenue_max: purchases are measured in CNY only"
    )
    erp_code: str | None = Field(default=None, max_length=64, description="Holds this ERP code (exact)")
    credit_code: str | None = Field(default=None, max_length=40, description="Has this credit code (exact)")
    q: str | None = Field(
        default=None, max_length=300, description="Name (中文 or English), credit code or ERP code contains (literal)"
    )
    sort: str | None = Field(
        default=None,
        max_length=30,
        description=f"One of {', '.join(SORTABLE)} (name in pinyin order); prefix - for descending",
    )


def account_list_query(
    tier: Annotated[list[TierCode], Query(max_length=4, description="Any of these tiers (repeatable)")] = [],  # noqa: B006
    status: Annotated[list[AccountStatus], Query(max_length=3, description="Any of these statuses")] = [],  # noqa: B006
    owner_id: Annotated[list[Text], Query(max_length=MAX_VALUES, description="Owned by any of them")] = [],  # noqa: B006
    industry: Annotated[list[Text], Query(max_length=MAX_VALUES, description="In any of them")] = [],  # noqa: B006
    region: Annotated[list[Text], Query(max_length=MAX_VALUES, description="In any of them")] = [],  # noqa: B006
    score_min: Annotated[Score | None, Query(description="Score at least (unscored accounts left out)")] = None,
    score_max: Annotated[Score | None, Query(description="Score at most")] = None,
    revenue_min: Annotated[Amount | None, Query(description="Purchases of the last 12 months at least (CNY)")] = None,
    revenue_max: Annotated[Amount | None, Query(description="Purchases of the last 12 months at most (CNY)")] = None,
    revenue_currency: Annotated[CurrencyCode | None, Query(description="Of the revenue range: CNY only")] = None,
    erp_code: Annotated[str | None, Query(max_length=64, description="Holds this ERP code (exact)")] = None,
    credit_code: Annotated[str | None, Query(max_length=40, description="Has this credit code (exact)")] = None,
    q: Annotated[str | None, Query(max_length=300, description="Name, credit or ERP code contains (literal)")] = None,
    sort: Annotated[str | None, Query(max_length=30, description=f"One of {', '.join(SORTABLE)}; - descends")] = None,
) -> AccountListQuery:
    """The account list's query parameters, each declared (a repeated one means any of its values), validated
    once here: the model is built from the checked values."""
    return AccountListQuery.model_construct(**{k: v for k, v in locals().items()})


AccountListParams = Annotated[AccountListQuery, Depends(account_list_query)]


def like_pattern(text: str) -> str:
    """``%text%`` with the LIKE wildcards of ``text`` escaped (escape character ``\\``): ``50%`` finds 50%."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _check_ranges(query: AccountListQuery) -> None:
    for low, high in (("score_min", "score_max"), ("revenue_min", "revenue_max")):
        start, end = getattr(query, low), getattr(query, high)
        if start is not None and end is not None and start > end:
            raise Unprocessable(f"{low} ({start}) must not be above {high} ({end})", field=low)
    has_revenue = query.revenue_min is not None or query.revenue_max is not None
    if query.revenue_currency not in (None, SCORING_CURRENCY) and has_revenue:
        raise Unprocessable(
            f"Purchases are measured in {SCORING_CURRENCY} only (other currencies are never added to them)",
            field="revenue_currency",
        )


def purchases_column() -> ColumnElement[Any]:
    """The account's purchases of the last 12 months in the scoring currency (0 before any were reported)."""
    return func.coalesce(AccountFeatures.annual_purchases, 0)


def _search(q: str) -> ColumnElement[bool]:
    pattern = like_pattern(q.strip())
    held = exists().where(AccountErpCode.account_id == Account.id, AccountErpCode.code.ilike(pattern, escape="\\"))
    return or_(
        Account.name.ilike(pattern, escape="\\"),
        Account.name_en.ilike(pattern, escape="\\"),
        Account.credit_code.ilike(pattern, escape="\\"),
        held,
    )


def filtered(tables: PlatformTables, *, actor: Principal, query: AccountListQuery) -> Select[Any]:
    """The visible accounts the query asks for (with their features joined), not ordered."""
    _check_ranges(query)
    statement = (
        select(Account)
        .outerjoin(AccountFeatures, AccountFeatures.account_id == Account.id)
        .where(visible_accounts_clause(tables, actor, Account.id))
    )
    for name in ("tier", "status", "owner_id", "industry", "region"):
        values = getattr(query, name)
        if values:
            statement = statement.where(getattr(Account, name).in_(list(dict.fromkeys(values))))
    if query.score_min is not None:
        statement = statement.where(Account.score >= query.score_min)
    if query.score_max is not None:
        statement = statement.where(Account.score <= query.score_max)
    if query.revenue_min is not None:
        statement = statement.where(purchases_column() >= query.revenue_min)
    if query.revenue_max is not None:
        statement = statement.where(purchases_column() <= query.revenue_max)
    if query.credit_code:
        statement = statement.where(Account.credit_code == query.credit_code.strip().upper())
    if query.erp_code:
        statement = statement.where(
            Account.id.in_(select(AccountErpCode.account_id).where(AccountErpCode.code == query.erp_code))
        )
    if query.q and query.q.strip():
        statement = statement.where(_search(query.q))
    return statement


def _binary(column: Any, dialect: str) -> Any:
    """Compared byte by byte on every backend (PostgreSQL's default collation would skip the spaces of a key)."""
    return column.collate("C") if dialect == "postgresql" else column


def ordering(sort: str | None, dialect: str) -> list[Any]:
    """The ORDER BY of a sort parameter: the field, then (for ties) the pinyin name and the id, so pages are
    stable. Unscored accounts come last either way when sorting by score."""
    field, descending = parse_sort(sort, SORTABLE, "name")
    if field == "name":
        keys = [_binary(Account.name_sort_key, dialect), _binary(Account.name, dialect)]
        return [k.desc() if descending else k.asc() for k in keys] + [Account.id.desc() if descending else Account.id]
    ranks = {code: tier_rank(code) for code in TIER_CODES}
    column: Any = {
        "tier": case(ranks, value=Account.tier, else_=len(ranks)),
        "purchases": purchases_column(),
    }.get(field, getattr(Account, field, None))
    ordered = column.desc() if descending else column.asc()
    if field == "score":
        ordered = ordered.nulls_last()
    return [ordered, _binary(Account.name_sort_key, dialect), Account.id]


async def list_accounts(
    session: AsyncSession, tables: PlatformTables, *, actor: Principal, query: AccountListQuery, page: PageParams
) -> tuple[list[Account], int]:
    """A page of the accounts the actor may see, filtered and ordered in SQL, with the total."""
    statement = filtered(tables, actor=actor, query=query)
    total = int(await session.scalar(select(func.count()).select_from(statement.subquery())) or 0)
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    rows = await session.execute(
        statement.order_by(*ordering(query.sort, dialect)).limit(page.limit).offset(page.offset)
    )
    return list(rows.scalars()), total


async def account_names(session: AsyncSession, account_ids: Iterable[str]) -> dict[str, str]:
    """The names of these accounts, by id (one query)."""
    rows = await session.execute(select(Account.id, Account.name).where(Account.id.in_(sorted(set(account_ids)))))
    return {account_id: name for account_id, name in rows}
