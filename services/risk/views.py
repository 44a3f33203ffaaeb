"""The risk sections of the account overview and the portfolio board (a few grouped queries each)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.contracts import attention_reason
from services.risk.early_warning import LEVELS, OPEN_ALERT_STATUSES, level_rank
from services.risk.exposure import utilisation_pct
from services.risk.models import Alert, Contract, CreditProfile, Invoice, SalesOrder, platform
from services.risk.service import EXPOSED_ORDER_STATUSES, effective_limit, exposure_summary, get_profile
from shared.auth import Principal, visible_accounts_clause

TIERS_ORDER = ("strategic", "key", "growth", "maintain")


async def account_risk_view(session: AsyncSession, *, account: dict[str, Any], today: date) -> dict[str, Any]:
    """Grade, score, limit, utilisation, aging, open alerts by level and contracts needing attention."""
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
    by_level = dict.fromkeys(LEVELS, 0)
    for alert in alerts:
        by_level[alert.level] += 1
    contracts = (await session.execute(select(Contract).where(Contract.account_id == account_id))).scalars().all()
    attention = [r for c in contracts if (r := attention_reason(c, today)) is not None]
    return {
        "account_id": account_id,
        "name": account["name"],
        "tier": account["tier"],
        "credit": {
            "grade": profile.grade if profile else None,
            "score": profile.score if profile else None,
            "risk_class": profile.risk_class if profile else None,
            "assessed_at": profile.assessed_at if profile else None,
            "currency": exposure["currency"],
            "credit_limit": exposure["credit_limit"],
            "effective_limit": exposure["effective_limit"],
            "exposure": exposure["exposure"],
            "utilisation_pct": exposure["utilisation_pct"],
            "over_limit": exposure["over_limit"],
        },
        "aging": exposure["aging"],
        "open_alerts_by_level": by_level,
        "open_alerts": [
            {
                "id": a.id,
                "rule_code": a.rule_code,
                "signal_type": a.signal_type,
                "level": a.level,
                "status": a.status,
                "title": a.title,
                "raised_at": a.raised_at,
            }
            for a in alerts
        ],
        "contracts_needing_attention": attention,
    }


async def portfolio_risk_view(session: AsyncSession, *, principal: Principal, today: date) -> dict[str, Any]:
    """Heat map (open alerts by level × tier), grade mix, over-limit accounts and top risks."""
    accounts = platform.accounts
    visible = visible_accounts_clause(platform, principal, accounts.c.account_id)
    names = {
        row.account_id: row
        for row in (
            await session.execute(select(accounts.c.account_id, accounts.c.name, accounts.c.tier).where(visible))
        ).all()
    }

    alert_rows = (
        await session.execute(
            select(Alert.account_id, Alert.level, func.count())
            .where(
                Alert.status.in_(OPEN_ALERT_STATUSES), visible_accounts_clause(platform, principal, Alert.account_id)
            )
            .group_by(Alert.account_id, Alert.level)
        )
    ).all()
    heat: dict[str, dict[str, int]] = {}
    per_account: dict[str, dict[str, int]] = {}
    for account_id, level, n in alert_rows:
        tier = (names[account_id].tier if account_id in names else None) or "unassigned"
        heat.setdefault(tier, dict.fromkeys(LEVELS, 0))[level] += int(n)
        per_account.setdefault(account_id, dict.fromkeys(LEVELS, 0))[level] += int(n)
    heatmap = [
        {"tier": tier, "level": level, "count": counts[level]}
        for tier, counts in sorted(heat.items(), key=lambda kv: _tier_sort(kv[0]))
        for level in LEVELS
    ]

    profiles = (
        (
            await session.execute(
                select(CreditProfile).where(visible_accounts_clause(platform, principal, CreditProfile.account_id))
            )
        )
        .scalars()
        .all()
    )
    receivables = dict(
        (
            await session.execute(
                select(Invoice.account_id, func.sum(Invoice.amount - Invoice.paid_amount))
                .where(visible_accounts_clause(platform, principal, Invoice.account_id))
                .group_by(Invoice.account_id)
            )
        ).all()
    )
    orders = dict(
        (
            await session.execute(
                select(SalesOrder.account_id, func.sum(SalesOrder.amount))
                .where(
                    SalesOrder.status.in_(EXPOSED_ORDER_STATUSES),
                    visible_accounts_clause(platform, principal, SalesOrder.account_id),
                )
                .group_by(SalesOrder.account_id)
            )
        ).all()
    )
    blocked = await session.scalar(
        select(func.count()).where(
            SalesOrder.status == "blocked", visible_accounts_clause(platform, principal, SalesOrder.account_id)
        )
    )
    grades = dict.fromkeys(("A", "B", "C", "D", "E"), 0)
    over_limit: list[dict[str, Any]] = []
    for p in profiles:
        if p.grade:
            grades[p.grade] += 1
        limit = effective_limit(p, today)
        exposure = Decimal(receivables.get(p.account_id) or 0) + Decimal(orders.get(p.account_id) or 0)
        if limit is not None and exposure > limit:
            row = names.get(p.account_id)
            over_limit.append(
                {
                    "account_id": p.account_id,
                    "name": row.name if row else "",
                    "tier": row.tier if row else None,
                    "currency": p.currency,
                    "effective_limit": limit,
                    "exposure": exposure,
                    "utilisation_pct": utilisation_pct(exposure, limit),
                }
            )
    over_limit.sort(key=lambda r: -Decimal(r["utilisation_pct"] or 0))

    grade_of = {p.account_id: p.grade for p in profiles}
    ranked = sorted(
        per_account.items(),
        key=lambda kv: tuple(-kv[1][level] for level in reversed(LEVELS)),
    )
    top_risks = []
    for account_id, counts in ranked[:10]:
        row = names.get(account_id)
        highest = next(level for level in reversed(LEVELS) if counts[level])
        top_risks.append(
            {
                "account_id": account_id,
                "name": row.name if row else "",
                "tier": row.tier if row else None,
                "grade": grade_of.get(account_id),
                "highest_level": highest,
                "open_alerts": sum(counts.values()),
                "open_alerts_by_level": counts,
            }
        )
    return {
        "heatmap": heatmap,
        "levels": list(LEVELS),
        "grades": grades,
        "over_limit": over_limit,
        "top_risks": top_risks,
        "blocked_orders": int(blocked or 0),
        "open_alerts": sum(sum(c.values()) for c in per_account.values()),
    }


def _tier_sort(tier: str) -> tuple[int, str]:
    return (TIERS_ORDER.index(tier) if tier in TIERS_ORDER else len(TIERS_ORDER), tier)


def to_json(value: Any) -> Any:
    """JSON-ready copy: money as decimal strings, dates and times as ISO 8601 (never floats)."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value
