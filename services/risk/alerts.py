"""Operating-risk signals and early warning: rules, deduplicated alerts, lifecycle, contingency plans."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.early_warning import (
    DEFAULT_PLANS,
    DEFAULT_RULES,
    LEVELS,
    OPEN_ALERT_STATUSES,
    SIGNAL_TYPES,
    check_alert_transition,
    concentration_pct,
    current_period,
    evaluate_conditions,
    level_rank,
    parse_conditions,
    previous_period,
    sales_drop_pct,
    trailing_periods,
)
from services.risk.models import (
    ActionItem,
    Alert,
    IndustryPolicy,
    MonthlyRevenue,
    PlanTemplate,
    RiskSignal,
    WarningRule,
    platform,
)
from shared.bus import add_event
from shared.errors import NotFound, Unprocessable
from shared.events import AlertCleared, AlertRaised

ROLE_OWNERS = ("risk_officer", "supervisor", "account_manager")


# ---------------------------------------------------------------- configuration


async def seed_defaults(session: AsyncSession, *, now: datetime) -> None:
    """Create the default rules and plan templates that do not exist yet (never overwrites edits)."""
    have_rules = set((await session.execute(select(WarningRule.code))).scalars())
    for rule in DEFAULT_RULES:
        if rule["code"] not in have_rules:
            session.add(WarningRule(**rule, enabled=True, version=1, updated_at=now))
    have_plans = set((await session.execute(select(PlanTemplate.signal_type))).scalars())
    for signal_type, steps in DEFAULT_PLANS.items():
        if signal_type not in have_plans:
            session.add(PlanTemplate(signal_type=signal_type, steps=steps, version=1, updated_at=now))
    await session.flush()


async def list_rules(session: AsyncSession) -> list[WarningRule]:
    """Every early-warning rule."""
    return list((await session.execute(select(WarningRule).order_by(WarningRule.code))).scalars())


async def get_rule(session: AsyncSession, *, code: str) -> WarningRule:
    """A rule or 404."""
    rule = await session.get(WarningRule, code)
    if rule is None:
        raise NotFound(f"Rule {code} not found")
    return rule


def _validate_rule(signal_type: str, conditions: list[dict[str, Any]]) -> None:
    if signal_type not in SIGNAL_TYPES:
        raise Unprocessable(
            f"Unknown signal type {signal_type!r}; known: {', '.join(SIGNAL_TYPES)}", field="signal_type"
        )
    if not conditions:
        raise Unprocessable("A rule needs at least one condition", field="conditions")
    try:
        parse_conditions(conditions)
    except (KeyError, ValueError, ArithmeticError) as exc:
        raise Unprocessable(f"Invalid condition: {exc}", field="conditions") from exc


async def put_rule(
    session: AsyncSession,
    *,
    code: str,
    name: str,
    signal_type: str,
    conditions: list[dict[str, Any]],
    enabled: bool,
    now: datetime,
) -> WarningRule:
    """Create or replace a rule (version goes up on every change)."""
    _validate_rule(signal_type, conditions)
    rule = await session.get(WarningRule, code)
    if rule is None:
        rule = WarningRule(code=code, version=1)
        session.add(rule)
    else:
        rule.version += 1
    rule.name, rule.signal_type, rule.conditions, rule.enabled, rule.updated_at = (
        name,
        signal_type,
        conditions,
        enabled,
        now,
    )
    await session.flush()
    return rule


async def list_plan_templates(session: AsyncSession) -> list[PlanTemplate]:
    """Every contingency plan template."""
    return list((await session.execute(select(PlanTemplate).order_by(PlanTemplate.signal_type))).scalars())


async def put_plan_template(
    session: AsyncSession, *, signal_type: str, steps: list[dict[str, Any]], now: datetime
) -> PlanTemplate:
    """Create or replace the plan template of an alert type."""
    if signal_type not in SIGNAL_TYPES:
        raise Unprocessable(f"Unknown signal type {signal_type!r}", field="signal_type")
    template = await session.get(PlanTemplate, signal_type)
    if template is None:
        template = PlanTemplate(signal_type=signal_type, version=1)
        session.add(template)
    else:
        template.version += 1
    template.steps, template.updated_at = steps, now
    await session.flush()
    return template


# ---------------------------------------------------------------- signals → alerts


async def record_signal(
    session: AsyncSession,
    *,
    account_id: str,
    signal_type: str,
    value: Decimal,
    source: str,
    source_ref: str,
    title: str,
    details: dict[str, Any] | None = None,
    now: datetime,
) -> tuple[RiskSignal, list[Alert]]:
    """Record a signal and run the rules of its type; a repeat of the same fact (same ``source_ref``) is a no-op.

    Returns the signal and the alerts it raised or escalated.
    """
    if signal_type not in SIGNAL_TYPES:
        raise Unprocessable(f"Unknown signal type {signal_type!r}", field="signal_type")
    existing = await session.scalar(
        select(RiskSignal).where(
            RiskSignal.account_id == account_id,
            RiskSignal.signal_type == signal_type,
            RiskSignal.source_ref == source_ref,
        )
    )
    if existing is not None:
        if existing.value == value:
            return existing, []
        existing.value, existing.title, existing.observed_at = value, title, now  # a corrected figure
        signal = existing
    else:
        signal = RiskSignal(
            account_id=account_id,
            signal_type=signal_type,
            value=value,
            source=source,
            source_ref=source_ref,
            title=title,
            details=details or {},
            observed_at=now,
        )
        session.add(signal)
    await session.flush()
    alerts: list[Alert] = []
    rules = (
        await session.execute(
            select(WarningRule).where(WarningRule.signal_type == signal_type, WarningRule.enabled.is_(True))
        )
    ).scalars()
    for rule in list(rules):
        level = evaluate_conditions(parse_conditions(rule.conditions), value)
        if level is not None:
            alert = await _raise_alert(session, rule=rule, level=level, signal=signal, now=now)
            if alert is not None:
                alerts.append(alert)
    return signal, alerts


def _alert_data(alert: Alert) -> dict[str, Any]:
    return {
        "alert_id": alert.id,
        "rule_code": alert.rule_code,
        "level": alert.level,
        "signal_type": alert.signal_type,
        "title": alert.title,
    }


async def _raise_alert(
    session: AsyncSession, *, rule: WarningRule, level: str, signal: RiskSignal, now: datetime
) -> Alert | None:
    """Open an alert for (account, rule), or fold the signal into the open one; None if nothing new to say."""
    open_key = f"{signal.account_id}:{rule.code}"
    alert = await session.scalar(select(Alert).where(Alert.open_key == open_key))
    if alert is not None:
        alert.signal_count += 1
        alert.last_signal_id, alert.last_signal_at = signal.id, now
        if level_rank(level) <= level_rank(alert.level):
            await session.flush()
            return None
        alert.level = level  # escalation is news: announce the higher level
        alert.title = f"{rule.name}: {signal.title}"
        alert.version += 1
        await session.flush()
    else:
        alert = Alert(
            account_id=signal.account_id,
            rule_code=rule.code,
            signal_type=rule.signal_type,
            level=level,
            status="raised",
            title=f"{rule.name}: {signal.title}",
            open_key=open_key,
            signal_count=1,
            last_signal_id=signal.id,
            raised_at=now,
            last_signal_at=now,
            version=1,
        )
        session.add(alert)
        await session.flush()
        await _instantiate_plan(session, alert=alert, now=now)
    await add_event(
        session, platform.outbox, AlertRaised(source="risk", account_id=alert.account_id, data=_alert_data(alert))
    )
    return alert


async def _instantiate_plan(session: AsyncSession, *, alert: Alert, now: datetime) -> None:
    """Turn the plan template of the alert's type into action items with owners and due dates."""
    template = await session.get(PlanTemplate, alert.signal_type)
    if template is None:
        return
    accounts = platform.accounts
    owner = await session.scalar(select(accounts.c.owner_id).where(accounts.c.account_id == alert.account_id))
    for step in template.steps:
        who = str(step.get("owner", "account_owner"))
        owner_id: str | None
        owner_role: str | None = None
        if who == "account_owner":
            owner_id, owner_role = owner, ("account_manager" if owner is None else None)
        elif who in ROLE_OWNERS:
            owner_id, owner_role = None, who
        else:
            owner_id = who
        session.add(
            ActionItem(
                alert_id=alert.id,
                account_id=alert.account_id,
                title=str(step["title"]),
                owner_id=owner_id,
                owner_role=owner_role,
                due_at=now + timedelta(days=int(step.get("due_in_days", 7))),
                status="open",
            )
        )
    await session.flush()


async def get_alert(session: AsyncSession, *, alert_id: str) -> Alert:
    """An alert or 404."""
    alert = await session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"Alert {alert_id} not found")
    return alert


async def action_items_of(session: AsyncSession, *, alert_id: str) -> list[ActionItem]:
    """The contingency plan of an alert, by due date."""
    rows = await session.execute(
        select(ActionItem).where(ActionItem.alert_id == alert_id).order_by(ActionItem.due_at, ActionItem.title)
    )
    return list(rows.scalars())


async def transition_alert(
    session: AsyncSession, *, alert: Alert, target: str, note: str | None, by: str, now: datetime
) -> Alert:
    """Move an alert along raised → acknowledged → mitigating → cleared (409 otherwise); clearing publishes."""
    check_alert_transition(alert.status, target)
    alert.status = target
    alert.updated_by = by
    alert.version += 1
    if note:
        alert.note = note
    if target == "acknowledged":
        alert.acknowledged_at = now
    elif target == "mitigating":
        alert.mitigating_at = now
    elif target == "cleared":
        alert.cleared_at = now
        alert.open_key = None  # a later signal may raise a fresh alert
        await add_event(
            session, platform.outbox, AlertCleared(source="risk", account_id=alert.account_id, data=_alert_data(alert))
        )
    await session.flush()
    return alert


async def complete_action_item(session: AsyncSession, *, item: ActionItem, by: str, now: datetime) -> ActionItem:
    """Mark a plan step done (repeating it is harmless)."""
    if item.status != "done":
        item.status, item.done_at, item.done_by = "done", now, by
        await session.flush()
    return item


async def open_alert_counts(session: AsyncSession, *, account_id: str) -> dict[str, int]:
    """Open alerts of an account per level."""
    rows = await session.execute(
        select(Alert.level, func.count())
        .where(Alert.account_id == account_id, Alert.status.in_(OPEN_ALERT_STATUSES))
        .group_by(Alert.level)
    )
    counts = dict.fromkeys(LEVELS, 0)
    for level, n in rows.all():
        counts[level] = int(n)
    return counts


# ---------------------------------------------------------------- industry policies


async def _apply_policy(session: AsyncSession, *, policy: IndustryPolicy, account_id: str, now: datetime) -> None:
    await record_signal(
        session,
        account_id=account_id,
        signal_type="industry_policy",
        value=Decimal(policy.impact),
        source="policy",
        source_ref=f"policy:{policy.id}",
        title=policy.title,
        details={"policy_id": policy.id, "industry": policy.industry},
        now=now,
    )


async def create_industry_policy(
    session: AsyncSession,
    *,
    industry: str,
    title: str,
    description: str,
    impact: int,
    effective_on: Any,
    by: str,
    now: datetime,
) -> tuple[IndustryPolicy, int]:
    """Enter a policy change once for an industry; it becomes a signal on every account of that industry."""
    policy = IndustryPolicy(
        industry=industry.strip(),
        title=title,
        description=description,
        impact=impact,
        effective_on=effective_on,
        created_by=by,
        created_at=now,
    )
    session.add(policy)
    await session.flush()
    accounts = platform.accounts
    account_ids = (
        await session.execute(
            select(accounts.c.account_id).where(accounts.c.industry == policy.industry, accounts.c.active.is_(True))
        )
    ).scalars()
    count = 0
    for account_id in list(account_ids):
        await _apply_policy(session, policy=policy, account_id=account_id, now=now)
        count += 1
    return policy, count


async def apply_industry_policies(
    session: AsyncSession, *, account_id: str, industry: str | None, now: datetime
) -> None:
    """Apply the industry's policies to an account that joined it after they were entered."""
    if not industry:
        return
    policies = (
        await session.execute(select(IndustryPolicy).where(IndustryPolicy.industry == industry.strip()))
    ).scalars()
    for policy in list(policies):
        await _apply_policy(session, policy=policy, account_id=account_id, now=now)


# ---------------------------------------------------------------- revenue (from goals.actuals_recorded)


async def record_monthly_revenue(
    session: AsyncSession, *, account_id: str, period: str, revenue: Decimal, currency: str, now: datetime
) -> None:
    """Store a month's revenue total and re-derive the account's sales-drop signal.

    Only last month counts (versus the month before): the running month is a partial total, and older
    months — e.g. a history replayed by an import — are not a current risk. Totals replace earlier
    figures, so re-delivery is harmless and either month may arrive first.
    """
    row = await session.get(MonthlyRevenue, (account_id, period))
    if row is None:
        session.add(
            MonthlyRevenue(account_id=account_id, period=period, revenue=revenue, currency=currency, updated_at=now)
        )
    else:
        row.revenue, row.currency, row.updated_at = revenue, currency, now
    await session.flush()
    last_month = previous_period(current_period(now))
    if period in (last_month, previous_period(last_month)):
        await _sales_drop_signal(session, account_id=account_id, period=last_month, now=now)


async def _revenue(session: AsyncSession, account_id: str, period: str) -> Decimal | None:
    row = await session.get(MonthlyRevenue, (account_id, period))
    return row.revenue if row is not None else None


async def _sales_drop_signal(session: AsyncSession, *, account_id: str, period: str, now: datetime) -> None:
    current = await _revenue(session, account_id, period)
    before = await _revenue(session, account_id, previous_period(period))
    if current is None or before is None:
        return
    drop = sales_drop_pct(before, current)
    if drop is None or drop <= 0:
        return
    await record_signal(
        session,
        account_id=account_id,
        signal_type="sales_drop",
        value=drop,
        source="event",
        source_ref=f"sales:{period}",
        title=f"{period} 销售额环比下降 {drop:f}% (revenue down {drop:f}% vs {previous_period(period)})",
        details={"period": period, "previous": str(before), "current": str(current)},
        now=now,
    )


async def refresh_concentration(session: AsyncSession, *, now: datetime) -> int:
    """Each account's share of our revenue over the 12 completed months to the latest one (portfolio-wide).

    Run by the watch job rather than per event: a share computed while other accounts' figures are still
    arriving would overstate it. Returns how many accounts were evaluated.
    """
    latest = await session.scalar(
        select(func.max(MonthlyRevenue.period)).where(MonthlyRevenue.period < current_period(now))
    )
    if latest is None:
        return 0
    window = trailing_periods(latest, 12)
    rows = (
        await session.execute(
            select(MonthlyRevenue.account_id, func.sum(MonthlyRevenue.revenue))
            .where(MonthlyRevenue.period.in_(window))
            .group_by(MonthlyRevenue.account_id)
        )
    ).all()
    grand_total = sum((Decimal(total or 0) for _, total in rows), Decimal(0))
    rules = [
        parse_conditions(rule.conditions)
        for rule in (
            await session.execute(
                select(WarningRule).where(
                    WarningRule.signal_type == "revenue_concentration", WarningRule.enabled.is_(True)
                )
            )
        ).scalars()
    ]
    for account_id, total in rows:
        share = concentration_pct(Decimal(total or 0), grand_total)
        if share is None or not any(evaluate_conditions(conditions, share) for conditions in rules):
            continue  # only shares that some rule cares about become signals
        await record_signal(
            session,
            account_id=account_id,
            signal_type="revenue_concentration",
            value=share,
            source="job",
            source_ref=f"concentration:{latest}",
            title=f"占近12个月收入 {share:f}% (share of our revenue over the 12 months to {latest})",
            details={"period": latest, "account_revenue": str(total), "total_revenue": str(grand_total)},
            now=now,
        )
    return len(rows)
