"""Account hierarchy: a group and its subsidiaries (``parent_account_id``), checked, audited and rolled up.

A parent must exist and be visible to the actor, may not be the account itself or one of its subsidiaries (no
cycles), and no account may end up more than ``MAX_DEPTH`` groups below its top group. The roll-up of a group
(``group_summary``) adds purchases per currency — never across currencies — and combines the other score inputs
by the rule of each (docs/scoring.md *Groups*).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.features import WINDOW_MONTHS, AsOf, growth_pct, month_index, summarise_actuals
from services.scoring.models import audit_log
from services.scoring.registry.models import Account
from services.scoring.registry.schemas import (
    AccountHierarchyRead,
    GroupPurchases,
    GroupScoreInputs,
    GroupSummaryRead,
    HierarchyNode,
)
from services.scoring.scores.feature_store import SCORING_CURRENCY
from services.scoring.scores.models import AccountFeatures, MonthlyActual
from services.scoring.scores.portfolio_state import lock_state
from services.scoring.scoring_model import CREDIT_GRADE_VALUES
from shared.audit import record_audit
from shared.auth import Principal, ensure_account_access, visible_accounts_clause
from shared.db import PlatformTables
from shared.errors import NotFound, Unprocessable

# At most this many groups above any account (a top group and five levels of subsidiaries below it).
MAX_DEPTH = 5
FIELD = "parent_account_id"
RATINGS = ("industry_leadership", "reference_value", "channel_value", "product_fit", "expected_growth_pct")


async def ancestors(session: AsyncSession, *, account: Account) -> list[Account]:
    """The groups above an account, nearest first (bounded: stored hierarchies are never deeper)."""
    chain: list[Account] = []
    seen = {account.id}
    current = account.parent_account_id
    while current is not None and len(chain) <= MAX_DEPTH:
        parent = await session.get(Account, current)
        if parent is None or parent.id in seen:
            break
        chain.append(parent)
        seen.add(parent.id)
        current = parent.parent_account_id
    return chain


async def descendant_levels(session: AsyncSession, *, account_id: str) -> list[list[Account]]:
    """The subsidiaries below an account, level by level (direct subsidiaries first), each level by name."""
    levels: list[list[Account]] = []
    frontier, seen = [account_id], {account_id}
    while frontier and len(levels) <= MAX_DEPTH:
        rows = await session.execute(
            select(Account).where(Account.parent_account_id.in_(frontier)).order_by(Account.name, Account.id)
        )
        level = [a for a in rows.scalars() if a.id not in seen]
        if not level:
            break
        levels.append(level)
        seen.update(a.id for a in level)
        frontier = [a.id for a in level]
    return levels


async def check_parent(
    session: AsyncSession, tables: PlatformTables, *, account: Account | None, parent_id: str | None, actor: Principal
) -> None:
    """A parent the actor sees, not the account itself nor below it, keeping every account at most ``MAX_DEPTH``
    groups below its top group; else a 422 naming ``parent_account_id``. ``account`` is None for a registration.

    Takes the portfolio-state lock first, so two concurrent re-parentings cannot build a cycle between them."""
    if parent_id is None:
        return
    if account is not None and parent_id == account.id:
        raise Unprocessable(f"{FIELD}: an account cannot be its own parent", field=FIELD)
    try:
        await ensure_account_access(session, tables, actor, parent_id)
    except NotFound as exc:
        raise Unprocessable(f"{FIELD}: account {parent_id} not found", field=FIELD) from exc
    await lock_state(session)
    parent = await session.get(Account, parent_id)
    if parent is None:
        raise Unprocessable(f"{FIELD}: account {parent_id} not found", field=FIELD)
    chain = [parent, *await ancestors(session, account=parent)]
    if account is not None and any(a.id == account.id for a in chain):
        raise Unprocessable(f"{FIELD}: {parent.name} is a subsidiary of this account (a cycle)", field=FIELD)
    below = len(await descendant_levels(session, account_id=account.id)) if account is not None else 0
    if len(chain) + below > MAX_DEPTH:
        raise Unprocessable(
            f"{FIELD}: an account would be {len(chain) + below} levels below its top group (at most {MAX_DEPTH})",
            field=FIELD,
        )


async def audit_parent_change(
    session: AsyncSession, *, account: Account, before: str | None, actor: Principal, now: datetime
) -> None:
    """The structure change in the audit log (``account.parent_changed``), in the change's transaction."""
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action="account.parent_changed",
        object_type="account",
        object_id=account.id,
        before={FIELD: before},
        after={FIELD: account.parent_account_id},
        at=now,
    )


async def _visible_ids(session: AsyncSession, tables: PlatformTables, actor: Principal, ids: Sequence[str]) -> set[str]:
    if not ids:
        return set()
    rows = await session.execute(
        select(Account.id).where(Account.id.in_(list(ids)), visible_accounts_clause(tables, actor, Account.id))
    )
    return set(rows.scalars())


def _node(account: Account, depth: int) -> HierarchyNode:
    return HierarchyNode(
        id=account.id,
        name=account.name,
        tier=account.tier,
        status=account.status,
        parent_account_id=account.parent_account_id,
        depth=depth,
    )


async def account_hierarchy(
    session: AsyncSession, tables: PlatformTables, *, account: Account, actor: Principal
) -> AccountHierarchyRead:
    """The groups above the account (up to the first the actor may not see) and its visible subsidiaries (a
    subsidiary the actor may not see is left out with everything below it); ``hidden_accounts`` counts both."""
    above = list(reversed(await ancestors(session, account=account)))  # top first
    levels = await descendant_levels(session, account_id=account.id)
    below = [a for level in levels for a in level]
    visible = await _visible_ids(session, tables, actor, [a.id for a in above + below])
    shown_above: list[Account] = []
    for group in reversed(above):  # nearest first: stop at the first group the actor may not see
        if group.id not in visible:
            break
        shown_above.insert(0, group)
    depth = len(above)
    tree = _node(account, depth)
    nodes = {account.id: tree}
    for offset, level in enumerate(levels, start=1):
        for sub in level:
            parent_node = nodes.get(sub.parent_account_id or "")
            if parent_node is not None and sub.id in visible:
                nodes[sub.id] = _node(sub, depth + offset)
                parent_node.children.append(nodes[sub.id])
    start = depth - len(shown_above)
    return AccountHierarchyRead(
        account_id=account.id,
        top_account_id=(shown_above[0] if shown_above else account).id,
        ancestors=[_node(group, start + i) for i, group in enumerate(shown_above)],
        tree=tree,
        hidden_accounts=(len(above) - len(shown_above)) + (len(below) - (len(nodes) - 1)),
    )


async def subsidiaries(
    session: AsyncSession, tables: PlatformTables, *, account: Account, actor: Principal, all_levels: bool
) -> list[Account]:
    """The visible direct subsidiaries of an account (``all_levels``: every visible account below it)."""
    levels = await descendant_levels(session, account_id=account.id)
    below = [a for level in (levels if all_levels else levels[:1]) for a in level]
    visible = await _visible_ids(session, tables, actor, [a.id for a in below])
    return [a for a in below if a.id in visible]


async def _monthly(session: AsyncSession, ids: Sequence[str], at: AsOf) -> dict[str, list[Any]]:
    """Every member month of the window and the 12 months before it, by currency."""
    first = month_index(at.period) - 2 * WINDOW_MONTHS + 1
    rows = await session.execute(
        select(
            MonthlyActual.currency,
            MonthlyActual.period,
            MonthlyActual.revenue,
            MonthlyActual.gross_profit,
            MonthlyActual.by_product_line,
        ).where(
            MonthlyActual.account_id.in_(list(ids)), MonthlyActual.period >= f"{first // 12:04d}-{first % 12 + 1:02d}"
        )
    )
    by_currency: dict[str, list[Any]] = defaultdict(list)
    for currency, period, revenue, profit, lines in rows:
        by_currency[currency].append((period, revenue, profit, lines or {}))
    return by_currency


def _weighted_satisfaction(features: Sequence[AccountFeatures]) -> tuple[Decimal | None, int]:
    """Every member's satisfaction weighted by its votes (closed complaints and survey answers)."""
    votes = [(f.satisfaction_avg, f.satisfaction_count + f.survey_count) for f in features]
    total = sum(n for value, n in votes if value is not None)
    if not total:
        return None, 0
    weighted = sum((Decimal(value) * n for value, n in votes if value is not None), Decimal(0))
    return (weighted / total).quantize(Decimal("0.01")), total


def _score_inputs(
    accounts: Sequence[Account], features: Sequence[AccountFeatures], by_currency: dict[str, list[Any]], at: AsOf
) -> GroupScoreInputs:
    """Sum what adds up (purchases, escalations), take the best of ratings and contact levels and the worst
    credit grade, union product lines and months with purchases."""
    now = month_index(at.period)
    window = [m for months in by_currency.values() for m in months if 0 <= now - month_index(m[0]) < WINDOW_MONTHS]
    cny = summarise_actuals(by_currency.get(SCORING_CURRENCY, ()), current_period=at.period)
    satisfaction, votes = _weighted_satisfaction(features)
    grades = [f.credit_grade for f in features if f.credit_grade in CREDIT_GRADE_VALUES]
    ratings = {
        name: max((getattr(a, name) for a in accounts if getattr(a, name) is not None), default=None)
        for name in RATINGS
    }
    return GroupScoreInputs(
        revenue_growth=growth_pct(cny.annual_purchases, cny.previous_year_purchases),
        stability=len({m[0] for m in window if m[1] > 0}),
        product_lines=sorted({line for m in window for line, amount in m[3].items() if Decimal(str(amount)) > 0}),
        highest_contact_level=max((f.highest_contact_level for f in features), default=0),
        **ratings,
        cooperation_since=min((a.cooperation_since for a in accounts if a.cooperation_since), default=None),
        satisfaction=satisfaction,
        satisfaction_votes=votes,
        escalations=sum(f.escalations for f in features),
        credit_grade=min(grades, key=lambda g: CREDIT_GRADE_VALUES[g]) if grades else None,
    )


async def group_summary(
    session: AsyncSession, tables: PlatformTables, *, account: Account, actor: Principal, at: AsOf
) -> GroupSummaryRead:
    """The group rolled up over itself and every subsidiary the actor sees, as of the business month of ``at``."""
    levels = await descendant_levels(session, account_id=account.id)
    below = [a for level in levels for a in level]
    visible = await _visible_ids(session, tables, actor, [a.id for a in below])
    subs = [a for a in below if a.id in visible]
    members = [account, *subs]
    ids = [a.id for a in members]
    features = list(
        (await session.execute(select(AccountFeatures).where(AccountFeatures.account_id.in_(ids)))).scalars()
    )
    by_currency = await _monthly(session, ids, at)
    purchases = []
    for currency in sorted(by_currency):
        summary = summarise_actuals(by_currency[currency], current_period=at.period)
        purchases.append(
            GroupPurchases(
                currency=currency,
                annual_purchases=summary.annual_purchases,
                annual_profit=summary.annual_profit,
                previous_year_purchases=summary.previous_year_purchases,
            )
        )
    return GroupSummaryRead(
        account_id=account.id,
        period=at.period,
        member_ids=ids,
        subsidiaries=len(subs),
        direct_subsidiaries=sum(1 for a in subs if a.parent_account_id == account.id),
        hidden_subsidiaries=len(below) - len(subs),
        subsidiary_tiers=dict(sorted(Counter(a.tier or "unassigned" for a in subs).items())),
        purchases=purchases,
        score_inputs=_score_inputs(members, features, by_currency, at),
    )
