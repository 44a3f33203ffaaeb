"""Group credit: the group structure kept from the account events, a group's exposure over itself and every
subsidiary (per currency), the group limit on the group's credit profile, and the group check of an order.

Scoring owns the hierarchy (``parent_account_id`` on ``accounts.registered`` / ``accounts.updated``); risk keeps its
own copy in ``account_group_links``. The exposure of a group is the sum, per currency, of the exposures (open
balances + exposed orders) of the group itself and of every account below it — never added across currencies; only
to compare with the group limit are the per-currency sums converted into the limit's currency at today's rates.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.credit.exposure import ZERO, CreditCheckResult, utilisation_pct
from services.risk.credit.models import AccountGroupLink, CreditProfile, LimitRequest
from services.risk.credit.receivables import _exposed_orders, _open_invoices
from services.risk.credit.schemas import LimitRequestCreate
from services.risk.fx.service import converter_for
from services.risk.models import platform
from shared.auth import Principal, visible_accounts_clause
from shared.errors import Unprocessable

# Scoring keeps at most 5 groups above an account; the walks stop beyond that whatever the stored links say.
MAX_LEVELS = 6
CENTS = Decimal("0.0001")
GROUP_REASON = "group_exposure_exceeds_limit"


async def record_group_link(
    session: AsyncSession, *, account_id: str, parent_account_id: str | None, event_time: datetime, event_id: str
) -> bool:
    """Keep the account's group from an account event unless a newer event is stored already; True if kept."""
    link = await session.get(AccountGroupLink, account_id)
    if link is None:
        link = AccountGroupLink(account_id=account_id)
        session.add(link)
    elif (link.event_time, link.event_id) > (event_time, event_id):
        return False  # an older snapshot arriving late must not undo a newer one
    link.parent_account_id = parent_account_id if parent_account_id != account_id else None
    link.event_time, link.event_id = event_time, event_id
    await session.flush()
    return True


async def group_ancestors(session: AsyncSession, *, account_id: str) -> list[str]:
    """The groups above an account, nearest first."""
    chain: list[str] = []
    seen = {account_id}
    current = await session.scalar(
        select(AccountGroupLink.parent_account_id).where(AccountGroupLink.account_id == account_id)
    )
    while current is not None and current not in seen and len(chain) < MAX_LEVELS:
        chain.append(current)
        seen.add(current)
        current = await session.scalar(
            select(AccountGroupLink.parent_account_id).where(AccountGroupLink.account_id == current)
        )
    return chain


async def group_members(session: AsyncSession, *, account_id: str) -> list[str]:
    """The group itself, then every account below it, level by level."""
    members, frontier = [account_id], [account_id]
    for _ in range(MAX_LEVELS):
        rows = await session.execute(
            select(AccountGroupLink.account_id)
            .where(AccountGroupLink.parent_account_id.in_(frontier))
            .order_by(AccountGroupLink.account_id)
        )
        frontier = [a for a in rows.scalars() if a not in members]
        if not frontier:
            break
        members.extend(frontier)
    return members


async def member_exposures(session: AsyncSession, account_ids: list[str]) -> dict[str, dict[str, list[Decimal]]]:
    """Per member and currency: [open balances, exposed orders] in that currency (nothing converted)."""
    result: dict[str, dict[str, list[Decimal]]] = {}
    for account_id in account_ids:
        by_currency: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
        for invoice in await _open_invoices(session, account_id):
            by_currency[invoice.currency][0] += invoice.open_balance
        for order in await _exposed_orders(session, account_id):
            by_currency[order.currency][1] += order.amount
        result[account_id] = dict(by_currency)
    return result


def _totals(exposures: dict[str, dict[str, list[Decimal]]]) -> dict[str, list[Decimal]]:
    totals: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for by_currency in exposures.values():
        for currency, (receivables, orders) in by_currency.items():
            totals[currency][0] += receivables
            totals[currency][1] += orders
    return dict(sorted(totals.items()))


def _rows(by_currency: dict[str, list[Decimal]]) -> list[dict[str, Any]]:
    return [
        {
            "currency": currency,
            "receivables": receivables.quantize(CENTS),
            "open_orders": orders.quantize(CENTS),
            "exposure": (receivables + orders).quantize(CENTS),
        }
        for currency, (receivables, orders) in sorted(by_currency.items())
    ]


async def _names(session: AsyncSession, ids: list[str]) -> dict[str, str]:
    accounts = platform.accounts
    rows = await session.execute(select(accounts.c.account_id, accounts.c.name).where(accounts.c.account_id.in_(ids)))
    return {account_id: name for account_id, name in rows}


async def group_exposure(session: AsyncSession, *, account_id: str, actor: Principal, today: date) -> dict[str, Any]:
    """The group's exposure per currency over itself and every subsidiary, each member the actor sees with its
    own, and — with a group limit — the sums converted into the limit's currency at today's rates (422 naming a
    currency without a rate)."""
    members = await group_members(session, account_id=account_id)
    exposures = await member_exposures(session, members)
    totals = _totals(exposures)
    accounts = platform.accounts
    seen = select(accounts.c.account_id).where(
        accounts.c.account_id.in_(members), visible_accounts_clause(platform, actor, accounts.c.account_id)
    )
    visible = set((await session.execute(seen)).scalars()) | {account_id}
    names = await _names(session, members)
    parents = select(AccountGroupLink.account_id, AccountGroupLink.parent_account_id).where(
        AccountGroupLink.account_id.in_(members)
    )
    links: dict[str, str | None] = {a: p for a, p in (await session.execute(parents)).all()}
    profile = await session.get(CreditProfile, account_id)
    limit = profile.group_credit_limit if profile else None
    limit_currency = profile.group_limit_currency if profile and limit is not None else None
    in_limit, conversions = None, []
    if limit_currency is not None:
        converter = await converter_for(session, target=limit_currency, currencies=set(totals), day=today)
        in_limit = sum((converter.to_target(r + o, c, figure="group_exposure") for c, (r, o) in totals.items()), ZERO)
        in_limit = in_limit.quantize(CENTS)
        conversions = converter.conversions()
    shown = [m for m in members if m in visible]
    return {
        "account_id": account_id,
        "name": names.get(account_id),
        "as_of": today,
        "exposure": _rows(totals),
        "members": [
            {
                "account_id": m,
                "name": names.get(m),
                "parent_account_id": links.get(m) if m != account_id else None,
                "exposure": _rows(exposures[m]),
            }
            for m in shown
        ],
        "members_not_shown": len(members) - len(shown),
        "group_limit": limit,
        "group_limit_currency": limit_currency,
        "exposure_in_limit_currency": in_limit,
        "utilisation_pct": utilisation_pct(in_limit, limit) if in_limit is not None else None,
        "over_limit": limit is not None and in_limit is not None and in_limit > limit,
        "conversions": conversions,
    }


async def _group_verdict(
    session: AsyncSession,
    *,
    group_id: str,
    limit: Decimal,
    limit_currency: str,
    amount: Decimal,
    currency: str,
    today: date,
) -> dict[str, str] | None:
    """A block reason when the group's exposure with the order exceeds the group limit (None: within it)."""
    totals = _totals(await member_exposures(session, await group_members(session, account_id=group_id)))
    converter = await converter_for(session, target=limit_currency, currencies=set(totals) | {currency}, day=today)
    after = converter.to_target(amount, currency, figure="order") + sum(
        (converter.to_target(r + o, c, figure="group_exposure") for c, (r, o) in totals.items()), ZERO
    )
    if after <= limit:
        return None
    name = (await _names(session, [group_id])).get(group_id, group_id)
    return {
        "code": GROUP_REASON,
        "message": f"Group {name} ({group_id}): exposure after the order {after.quantize(CENTS):f} {limit_currency} "
        f"exceeds the group limit {limit:f} {limit_currency}",
        "group_account_id": group_id,
    }


async def with_group_limits(
    session: AsyncSession, result: CreditCheckResult, *, account_id: str, amount: Decimal, currency: str, today: date
) -> CreditCheckResult:
    """The credit check of an order also against the limit of every group the account is in (its own group limit
    included, when it heads a group): over any of them blocks, with a reason naming the group."""
    reasons = []
    for group_id in [account_id, *await group_ancestors(session, account_id=account_id)]:
        profile = await session.get(CreditProfile, group_id)
        if profile is None or profile.group_credit_limit is None or profile.group_limit_currency is None:
            continue
        verdict = await _group_verdict(
            session,
            group_id=group_id,
            limit=profile.group_credit_limit,
            limit_currency=profile.group_limit_currency,
            amount=amount,
            currency=currency,
            today=today,
        )
        if verdict is not None:
            reasons.append(verdict)
    if not reasons:
        return result
    return replace(result, decision="block", reasons=[*result.reasons, *reasons])


def check_group_request(profile: CreditProfile, body: LimitRequestCreate) -> None:
    """A group limit has no expiry and stays in the currency it was first set in (422 naming the field)."""
    if body.expires_on is not None:
        raise Unprocessable("A group limit has no expiry date", field="expires_on")
    if profile.group_limit_currency is not None and body.currency != profile.group_limit_currency:
        raise Unprocessable(f"The group's limit is kept in {profile.group_limit_currency}", field="currency")


def set_group_limit(profile: CreditProfile, request: LimitRequest, *, now: datetime) -> None:
    """Put an approved group-limit request on the group's profile (no ``credit_limit_changed``: that event is the
    account's own limit; the decision is in the audit log)."""
    profile.group_credit_limit = request.requested_limit
    profile.group_limit_currency = request.currency
    profile.version += 1
    profile.updated_at = now
