"""The risk sections of the account overview and the portfolio board (a few grouped queries each) and their routes."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.contracts.models import Contract
from services.risk.contracts.service import attention_reason
from services.risk.credit.exposure import utilisation_pct
from services.risk.credit.models import CreditProfile, Invoice, SalesOrder
from services.risk.credit.profiles import effective_limit, get_profile, limit_currencies
from services.risk.credit.receivables import EXPOSED_ORDER_STATUSES, exposure_summary, has_open_balance
from services.risk.deps import AccountForRead, Actor, Today
from services.risk.fx.conversion import Converter
from services.risk.fx.service import rate_table
from services.risk.models import platform
from services.risk.warnings.early_warning import OPEN_ALERT_STATUSES, level_rank
from services.risk.warnings.models import Alert
from shared.auth import Principal, visible_accounts_clause
from shared.errors import PROBLEM_RESPONSES
from shared.service import SessionDep
from shared.views.risk import (
    AlertLevelCounts,
    ContractAttention,
    FxConversion,
    GradeCounts,
    HeatmapCell,
    OverLimitAccount,
    RiskAccountView,
    RiskAging,
    RiskCredit,
    RiskOpenAlert,
    RiskPortfolioView,
    TopRisk,
)
from shared.vocabulary import ALERT_LEVELS, tier_rank

router = APIRouter(tags=["risk"], responses=PROBLEM_RESPONSES)
AccountRows = dict[str, Any]  # account id → its (account_id, name, tier) projection row
log = logging.getLogger("kam.risk")


# ---------------------------------------------------------------- the account overview


async def build_account_view(session: AsyncSession, *, account: dict[str, Any], today: date) -> RiskAccountView:
    """Grade, score, limit, utilisation, aging, open alerts by level and contracts needing attention.

    Money is in the limit's currency, other currencies converted at ``today``'s rates (a missing rate is a 422
    naming the currency: the section is never built from a raw sum)."""
    account_id = account["account_id"]
    profile = await get_profile(session, account_id=account_id)
    exposure = await exposure_summary(session, account_id=account_id, today=today)
    alerts = (
        (
            await session.execute(
                select(Alert)
                .where(Alert.account_id == account_id, Alert.status.in_(OPEN_ALERT_STATUSES))
                .order_by(Alert.raised_at.desc())
            )
        )
        .scalars()
        .all()
    )
    alerts = sorted(alerts, key=lambda a: -level_rank(a.level))
    by_level: dict[str, int] = dict.fromkeys(ALERT_LEVELS, 0)
    for alert in alerts:
        by_level[alert.level] += 1
    contracts = (await session.execute(select(Contract).where(Contract.account_id == account_id))).scalars().all()
    attention = [r for c in contracts if (r := attention_reason(c, today)) is not None]
    credit = RiskCredit(
        grade=profile.grade if profile else None,
        score=profile.score if profile else None,
        risk_class=profile.risk_class if profile else None,
        assessed_at=profile.assessed_at if profile else None,
        currency=exposure["currency"],
        credit_limit=exposure["credit_limit"],
        effective_limit=exposure["effective_limit"],
        exposure=exposure["exposure"],
        utilisation_pct=exposure["utilisation_pct"],
        over_limit=exposure["over_limit"],
        conversions=[FxConversion.model_validate(c, from_attributes=True) for c in exposure["conversions"]],
    )
    return RiskAccountView(
        account_id=account_id,
        name=account["name"],
        tier=account["tier"],
        credit=credit,
        aging=RiskAging.model_validate(exposure["aging"]),
        open_alerts_by_level=AlertLevelCounts(**by_level),
        open_alerts=[RiskOpenAlert.model_validate(a, from_attributes=True) for a in alerts],
        contracts_needing_attention=[ContractAttention.model_validate(a) for a in attention],
    )


# ---------------------------------------------------------------- the portfolio board


async def build_portfolio_view(session: AsyncSession, *, actor: Principal, today: date) -> RiskPortfolioView:
    """Heat map (open alerts by level × tier), grade mix, over-limit accounts and top risks."""
    accounts = platform.accounts
    visible = visible_accounts_clause(platform, actor, accounts.c.account_id)
    names = {
        row.account_id: row
        for row in (
            await session.execute(select(accounts.c.account_id, accounts.c.name, accounts.c.tier).where(visible))
        ).all()
    }
    per_account = await _open_alerts_per_account(session, actor)
    profiles = list(
        (
            await session.execute(
                select(CreditProfile).where(visible_accounts_clause(platform, actor, CreditProfile.account_id))
            )
        ).scalars()
    )
    blocked = await session.scalar(
        select(func.count()).where(
            SalesOrder.status == "blocked", visible_accounts_clause(platform, actor, SalesOrder.account_id)
        )
    )
    grades = GradeCounts(**Counter(p.grade for p in profiles if p.grade))
    return RiskPortfolioView(
        heatmap=_heatmap(per_account, names),
        levels=list(ALERT_LEVELS),
        grades=grades,
        over_limit=await _over_limit(session, actor, profiles, names, today),
        top_risks=_top_risks(per_account, names, {p.account_id: p.grade for p in profiles}),
        blocked_orders=int(blocked or 0),
        open_alerts=sum(sum(c.values()) for c in per_account.values()),
    )


async def _open_alerts_per_account(session: AsyncSession, actor: Principal) -> dict[str, dict[str, int]]:
    """Open alerts per visible account and level (every level present, zero when none)."""
    rows = (
        await session.execute(
            select(Alert.account_id, Alert.level, func.count())
            .where(Alert.status.in_(OPEN_ALERT_STATUSES), visible_accounts_clause(platform, actor, Alert.account_id))
            .group_by(Alert.account_id, Alert.level)
        )
    ).all()
    per_account: dict[str, dict[str, int]] = {}
    for account_id, level, n in rows:
        per_account.setdefault(account_id, dict.fromkeys(ALERT_LEVELS, 0))[level] += int(n)
    return per_account


def _heatmap(per_account: dict[str, dict[str, int]], names: AccountRows) -> list[HeatmapCell]:
    """Open alerts per tier × level, tiers best first (then others by name; no tier is ``unassigned``)."""
    heat: dict[str, dict[str, int]] = {}
    for account_id, counts in per_account.items():
        tier = (names[account_id].tier if account_id in names else None) or "unassigned"
        cell = heat.setdefault(tier, dict.fromkeys(ALERT_LEVELS, 0))
        for level, n in counts.items():
            cell[level] += n
    return [
        HeatmapCell(tier=tier, level=level, count=counts[level])
        for tier, counts in sorted(heat.items(), key=lambda kv: (tier_rank(kv[0]), kv[0]))
        for level in ALERT_LEVELS
    ]


async def _over_limit(
    session: AsyncSession,
    actor: Principal,
    profiles: list[CreditProfile],
    names: AccountRows,
    today: date,
) -> list[OverLimitAccount]:
    """Accounts whose receivables and exposed orders exceed the limit in force, highest utilisation first.

    Each account is counted in its own limit's currency (amounts in others converted at ``today``'s rates, item
    by item as in its exposure); an account with an amount whose rate is missing is left out (logged).
    """
    amounts = await _exposed_amounts(session, actor)
    currencies = {c for rows in amounts.values() for c, _ in rows}
    currencies |= {c for p in profiles for c in limit_currencies(p, today)} | {p.currency for p in profiles}
    table = await rate_table(session, currencies=currencies, day=today)
    over_limit: list[OverLimitAccount] = []
    for p in profiles:
        held = amounts.get(p.account_id, [])
        if table.missing([c for c, _ in held] + list(limit_currencies(p, today)), p.currency):
            log.warning("account %s left off the over-limit list: an FX rate is missing", p.account_id)
            continue
        converter = Converter(table=table, target=p.currency)
        limit = effective_limit(p, today, converter)
        exposure = sum((converter.to_target(a, c, figure="exposure") for c, a in held), Decimal(0))
        if limit is not None and exposure > limit:
            row = names.get(p.account_id)
            over_limit.append(
                OverLimitAccount(
                    account_id=p.account_id,
                    name=row.name if row else "",
                    tier=row.tier if row else None,
                    currency=p.currency,
                    effective_limit=limit,
                    exposure=exposure,
                    utilisation_pct=utilisation_pct(exposure, limit),
                    conversions=[FxConversion.model_validate(c, from_attributes=True) for c in converter.conversions()],
                )
            )
    over_limit.sort(key=lambda r: -Decimal(r.utilisation_pct or 0))
    return over_limit


async def _exposed_amounts(session: AsyncSession, actor: Principal) -> dict[str, list[tuple[str, Decimal]]]:
    """Per visible account: the open balance of each invoice and the amount of each exposed order, with currency."""
    invoices = await session.execute(
        select(
            Invoice.account_id, Invoice.currency, Invoice.amount - Invoice.paid_amount - Invoice.credited_amount
        ).where(has_open_balance(), visible_accounts_clause(platform, actor, Invoice.account_id))
    )
    orders = await session.execute(
        select(SalesOrder.account_id, SalesOrder.currency, SalesOrder.amount).where(
            SalesOrder.status.in_(EXPOSED_ORDER_STATUSES),
            visible_accounts_clause(platform, actor, SalesOrder.account_id),
        )
    )
    amounts: dict[str, list[tuple[str, Decimal]]] = {}
    for account_id, currency, amount in [*invoices.all(), *orders.all()]:
        amounts.setdefault(account_id, []).append((currency, Decimal(amount)))
    return amounts


def _top_risks(
    per_account: dict[str, dict[str, int]], names: AccountRows, grade_of: dict[str, str | None]
) -> list[TopRisk]:
    """The ten accounts with the most red, then orange, yellow and green open alerts."""
    ranked = sorted(per_account.items(), key=lambda kv: tuple(-kv[1][level] for level in reversed(ALERT_LEVELS)))
    top_risks = []
    for account_id, counts in ranked[:10]:
        row = names.get(account_id)
        top_risks.append(
            TopRisk(
                account_id=account_id,
                name=row.name if row else "",
                tier=row.tier if row else None,
                grade=grade_of.get(account_id),
                highest_level=next(level for level in reversed(ALERT_LEVELS) if counts[level]),
                open_alerts=sum(counts.values()),
                open_alerts_by_level=AlertLevelCounts(**counts),
            )
        )
    return top_risks


# ---------------------------------------------------------------- routes


@router.get("/risk/views/accounts/{account_id}", summary="This service's section of the account overview")
async def account_view(account: AccountForRead, session: SessionDep, today: Today) -> RiskAccountView:
    """The risk section of the account 360 (composed by the gateway); shape in docs/risk.md."""
    return await build_account_view(session, account=account, today=today)


@router.get("/risk/views/portfolio", summary="This service's section of the portfolio board")
async def portfolio_view(session: SessionDep, actor: Actor, today: Today) -> RiskPortfolioView:
    """The risk section of the supervisor's board (composed by the gateway); shape in docs/risk.md."""
    return await build_portfolio_view(session, actor=actor, today=today)
