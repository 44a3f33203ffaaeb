"""Early-warning domain: rules and plan templates, signals → deduplicated alerts, the alert lifecycle and the
contingency plan's action items."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.models import audit_log, platform
from services.risk.paging import paged
from services.risk.warnings.defaults import DEFAULT_PLANS, DEFAULT_RULES
from services.risk.warnings.early_warning import (
    CLEARING,
    OPEN_ALERT_STATUSES,
    REOPENED_BY_ESCALATION,
    SIGNAL_TYPES,
    SUBJECT_KEYS,
    check_alert_transition,
    evaluate_conditions,
    level_rank,
    parse_conditions,
    step_applies,
)
from services.risk.warnings.history import record_alert_history
from services.risk.warnings.models import ActionItem, Alert, PlanTemplate, RiskSignal, WarningRule
from services.risk.warnings.schemas import (
    ActionItemUpdate,
    AlertTransition,
    AlertUpdate,
    PlanTemplatePut,
    RulePut,
    SignalCreate,
)
from shared.api import PageParams
from shared.audit import record_audit, snapshot
from shared.auth import PORTFOLIO_ROLES, Principal, visible_accounts_clause
from shared.bus import Publisher
from shared.clock import business_date
from shared.errors import Conflict, Unprocessable
from shared.events import (
    AlertCleared,
    AlertLevelRaised,
    AlertRaised,
    RiskActionItemAssigned,
    RiskActionItemOverdue,
)
from shared.events.catalogue import AlertData, AlertLevelRaisedData, RiskActionItemData
from shared.people import READ_ONLY_ROLES, known_user, require_assignable

# Plan-step owners that are a queue for a role rather than a person.
ROLE_OWNERS = ("risk_officer", "supervisor", "account_manager")
# Where a step goes when the person it names cannot take it on this account (unknown, inactive, account-blind).
FALLBACK_QUEUE = "supervisor"
# Action item lifecycle: a plan step is open until done; completing it again changes nothing.
ACTION_ITEM_TRANSITIONS: dict[str, tuple[str, ...]] = {"open": ("done",), "done": ()}


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


async def find_rule(session: AsyncSession, *, code: str) -> WarningRule | None:
    """The rule with this code, if there is one."""
    return await session.get(WarningRule, code)


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


async def put_rule(session: AsyncSession, *, code: str, body: RulePut, now: datetime, actor: Principal) -> WarningRule:
    """Create or replace a rule (version goes up on every change; audited)."""
    conditions = [c.model_dump(mode="json") for c in body.conditions]
    _validate_rule(body.signal_type, conditions)
    rule = await session.get(WarningRule, code)
    before = snapshot(rule, RULE_AUDIT) if rule is not None else None
    if rule is None:
        rule = WarningRule(code=code, version=1)
        session.add(rule)
    else:
        rule.version += 1
    rule.name, rule.signal_type, rule.conditions, rule.enabled, rule.updated_at = (
        body.name,
        body.signal_type,
        conditions,
        body.enabled,
        now,
    )
    rule.min_amount = body.min_amount
    await session.flush()
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action="warning_rule.saved",
        object_type="warning_rule",
        object_id=code,
        before=before,
        after=snapshot(rule, RULE_AUDIT),
        at=now,
    )
    return rule


# What the audit log shows of a rule and of a plan template.
RULE_AUDIT = ("name", "signal_type", "conditions", "enabled", "min_amount", "version")
PLAN_TEMPLATE_AUDIT = ("steps", "version")


async def list_plan_templates(session: AsyncSession) -> list[PlanTemplate]:
    """Every contingency plan template."""
    return list((await session.execute(select(PlanTemplate).order_by(PlanTemplate.signal_type))).scalars())


async def put_plan_template(
    session: AsyncSession, *, signal_type: str, body: PlanTemplatePut, now: datetime, actor: Principal
) -> PlanTemplate:
    """Create or replace the plan template of an alert type (a step's named owner must be a known, active worker)."""
    if signal_type not in SIGNAL_TYPES:
        raise Unprocessable(f"Unknown signal type {signal_type!r}", field="signal_type")
    for index, step in enumerate(body.steps):
        if step.owner != "account_owner" and step.owner not in ROLE_OWNERS:
            await require_assignable(session, platform, user_id=step.owner, field=f"steps.{index}.owner")
    template = await session.get(PlanTemplate, signal_type)
    before = snapshot(template, PLAN_TEMPLATE_AUDIT) if template is not None else None
    if template is None:
        template = PlanTemplate(signal_type=signal_type, version=1)
        session.add(template)
    else:
        template.version += 1
    template.steps, template.updated_at = [s.model_dump() for s in body.steps], now
    await session.flush()
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action="plan_template.saved",
        object_type="plan_template",
        object_id=signal_type,
        before=before,
        after=snapshot(template, PLAN_TEMPLATE_AUDIT),
        at=now,
    )
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
    publisher: Publisher,
    now: datetime,
    today: date,
    observed_at: datetime | None = None,
) -> tuple[RiskSignal, list[Alert]]:
    """Record a signal and run the rules of its type; a repeat of the same fact (same ``source_ref``) is a no-op.

    ``source`` is where the signal came from (the signal's own column: manual, policy, event or job);
    ``observed_at`` when the fact was observed (default ``now``); ``today`` the business date of ``now`` (the
    due dates of a new alert's plan steps count from it). Returns the signal and the alerts it raised or
    escalated.
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
        existing.value, existing.title, existing.observed_at = value, title, observed_at or now  # a corrected figure
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
            observed_at=observed_at or now,
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
            alert = await _raise_alert(
                session, rule=rule, level=level, signal=signal, publisher=publisher, now=now, today=today
            )
            if alert is not None:
                alerts.append(alert)
    return signal, alerts


async def enter_signal(
    session: AsyncSession, *, account_id: str, body: SignalCreate, publisher: Publisher, now: datetime, today: date
) -> RiskSignal:
    """A financial signal entered or imported by hand; the same ``reference`` twice is recorded once."""
    if body.observed_at is not None and body.observed_at > now:
        raise Unprocessable("observed_at is in the future", field="observed_at")
    signal, _ = await record_signal(
        session,
        account_id=account_id,
        signal_type=body.signal_type,
        value=body.value,
        source="manual",
        source_ref=f"manual:{body.reference or now.isoformat()}",
        title=body.title,
        details=body.details,
        publisher=publisher,
        now=now,
        today=today,
        observed_at=body.observed_at,
    )
    return signal


def _alert_data(alert: Alert) -> AlertData:
    return AlertData.model_validate(
        {
            "alert_id": alert.id,
            "rule_code": alert.rule_code,
            "level": alert.level,
            "signal_type": alert.signal_type,
            "title": alert.title,
        }
    )


async def _raise_alert(
    session: AsyncSession,
    *,
    rule: WarningRule,
    level: str,
    signal: RiskSignal,
    publisher: Publisher,
    now: datetime,
    today: date,
) -> Alert | None:
    """Open an alert for (account, rule), or fold the signal into the open one; None if nothing new to say.

    A new alert publishes ``risk.alert_raised`` and gets its contingency plan; an open alert moved to a higher
    level publishes ``risk.alert_raised`` with the new level and ``risk.alert_level_raised`` (with the previous
    level) — once per move, since a level only goes up while the alert is open.
    """
    subject_key = SUBJECT_KEYS.get(rule.signal_type)
    subject_id = str(signal.details[subject_key]) if subject_key and signal.details.get(subject_key) else None
    open_key = f"{rule.code}:{subject_id}" if subject_id else f"{signal.account_id}:{rule.code}"
    alert = await session.scalar(select(Alert).where(Alert.open_key == open_key))
    if alert is not None:
        alert.signal_count += 1
        alert.last_signal_id, alert.last_signal_at = signal.id, now
        alert.clear_proposed_at, alert.clear_reason = None, None  # the cause is back
        if level_rank(level) <= level_rank(alert.level):
            await session.flush()
            return None
        await _escalate(
            session,
            alert=alert,
            level=level,
            title=f"{rule.name}: {signal.title}",
            publisher=publisher,
            now=now,
            today=today,
        )
        return alert
    alert = Alert(
        account_id=signal.account_id,
        rule_code=rule.code,
        signal_type=rule.signal_type,
        level=level,
        status="raised",
        title=f"{rule.name}: {signal.title}",
        open_key=open_key,
        subject_id=subject_id,
        signal_count=1,
        last_signal_id=signal.id,
        raised_at=now,
        last_signal_at=now,
        version=1,
    )
    session.add(alert)
    await session.flush()
    await record_alert_history(
        session, alert=alert, action="raised", from_state=None, to_state=level, actor_id=None, at=now, note=alert.title
    )
    await publisher.publish(session, AlertRaised, _alert_data(alert), account_id=alert.account_id)
    await _instantiate_plan(session, alert=alert, publisher=publisher, now=now, today=today)
    return alert


async def _escalate(
    session: AsyncSession, *, alert: Alert, level: str, title: str, publisher: Publisher, now: datetime, today: date
) -> None:
    """An open alert moves to a higher level: announced (``risk.alert_raised`` with the new level and
    ``risk.alert_level_raised``); an acknowledged or mitigating one is re-opened for attention (``raised``)
    and gets the plan steps of the level(s) reached."""
    previous, previous_status = alert.level, alert.status
    alert.level, alert.title = level, title
    alert.version += 1
    if alert.status in REOPENED_BY_ESCALATION:
        alert.status, alert.reopened_at = "raised", now
    await session.flush()
    await record_alert_history(
        session,
        alert=alert,
        action="level_raised",
        from_state=previous,
        to_state=level,
        actor_id=None,
        at=now,
        note=title if previous_status == alert.status else f"{title} (reopened from {previous_status})",
    )
    await publisher.publish(session, AlertRaised, _alert_data(alert), account_id=alert.account_id)
    raised = AlertLevelRaisedData.model_validate({**_alert_data(alert).model_dump(), "previous_level": previous})
    await publisher.publish(session, AlertLevelRaised, raised, account_id=alert.account_id)
    await _instantiate_plan(session, alert=alert, publisher=publisher, now=now, today=today, above=previous)


async def _instantiate_plan(
    session: AsyncSession, *, alert: Alert, publisher: Publisher, now: datetime, today: date, above: str | None = None
) -> None:
    """Turn the plan template of the alert's type into action items with owners and due dates, and publish
    ``risk.action_item_assigned`` for each (``due_on``: ``today`` plus the step's days, a business date).

    ``account_owner`` is the account's owner when a known, active worker (else the account managers' queue); a
    named user who cannot take the step on this account (unknown, inactive, read-only or account-blind by now)
    leaves it in the supervisors' queue. A role is a queue. A step with a ``level`` is added once the alert
    reaches that level (``above``: the level it had before an escalation; None for a new alert).
    """
    template = await session.get(PlanTemplate, alert.signal_type)
    if template is None:
        return
    accounts = platform.accounts
    owner = await session.scalar(select(accounts.c.owner_id).where(accounts.c.account_id == alert.account_id))
    steps: list[tuple[ActionItem, date]] = []
    for step in template.steps:
        if not step_applies(step.get("level"), alert.level, above):
            continue
        owner_id, owner_role = await _step_owner(session, str(step.get("owner", "account_owner")), owner, alert)
        days = int(step.get("due_in_days", 7))
        item = ActionItem(
            alert_id=alert.id,
            account_id=alert.account_id,
            title=str(step["title"]),
            owner_id=owner_id,
            owner_role=owner_role,
            due_at=now + timedelta(days=days),
            status="open",
            version=1,
        )
        session.add(item)
        steps.append((item, today + timedelta(days=days)))
    await session.flush()
    for item, due_on in steps:
        await _announce_assignment(session, publisher=publisher, item=item, due_on=due_on)


async def _step_owner(
    session: AsyncSession, who: str, account_owner: str | None, alert: Alert
) -> tuple[str | None, str | None]:
    """The person or the role's queue (``owner_id``, ``owner_role``) a plan step naming ``who`` goes to."""
    if who == "account_owner":
        if await _can_take(session, account_owner, alert.account_id):
            return account_owner, None
        return None, "account_manager"
    if who in ROLE_OWNERS:
        return None, who
    if await _can_take(session, who, alert.account_id):
        return who, None
    return None, FALLBACK_QUEUE


def _item_data(item: ActionItem, due_on: date) -> RiskActionItemData:
    return RiskActionItemData(
        item_id=item.id,
        alert_id=item.alert_id,
        title=item.title,
        owner_id=item.owner_id,
        owner_role=item.owner_role,
        due_on=due_on,
    )


async def _announce_assignment(session: AsyncSession, *, publisher: Publisher, item: ActionItem, due_on: date) -> None:
    """``risk.action_item_assigned``: the step now lies with its person or its role's queue."""
    await publisher.publish(session, RiskActionItemAssigned, _item_data(item, due_on), account_id=item.account_id)


async def _can_take(session: AsyncSession, user_id: str | None, account_id: str) -> bool:
    """Whether ``user_id`` may own work on the account (known, active, a working role, sees it)."""
    if user_id is None:
        return False
    try:
        await require_assignable(session, platform, user_id=user_id, field="owner_id", account_id=account_id)
    except Unprocessable:
        return False
    return True


async def list_signals(
    session: AsyncSession, *, account_id: str, signal_type: str | None, page: PageParams
) -> tuple[list[RiskSignal], int]:
    """An account's signals, newest first."""
    stmt = select(RiskSignal).where(RiskSignal.account_id == account_id)
    if signal_type:
        stmt = stmt.where(RiskSignal.signal_type == signal_type)
    return await paged(session, stmt, page, RiskSignal.observed_at.desc())


# ---------------------------------------------------------------- alerts and their action items


async def transition_alert(
    session: AsyncSession,
    *,
    alert: Alert,
    body: AlertTransition,
    actor: Principal,
    publisher: Publisher,
    now: datetime,
) -> Alert:
    """Move an alert along raised → acknowledged → mitigating → cleared (409 otherwise); clearing publishes."""
    target = body.status
    check_alert_transition(alert.status, target)
    if target == "cleared" and not body.note:
        await _require_note_for_open_steps(session, alert)
    previous_status = alert.status
    alert.status = target
    alert.updated_by = actor.user_id
    alert.version += 1
    if body.note:
        alert.note = body.note
    if target == "acknowledged":
        alert.acknowledged_at = now
    elif target == "mitigating":
        alert.mitigating_at = now
    elif target == "cleared":
        alert.cleared_at = now
        alert.open_key = None  # a later signal may raise a fresh alert
        await publisher.publish(session, AlertCleared, _alert_data(alert), account_id=alert.account_id)
    await session.flush()
    await record_alert_history(
        session,
        alert=alert,
        action=target,
        from_state=previous_status,
        to_state=target,
        actor_id=actor.user_id,
        at=now,
        note=body.note,
    )
    return alert


async def _require_note_for_open_steps(session: AsyncSession, alert: Alert) -> None:
    """Clearing an alert whose plan still has open steps needs a note saying why (422 naming ``note``)."""
    open_steps = await session.scalar(
        select(func.count()).where(ActionItem.alert_id == alert.id, ActionItem.status == "open")
    )
    if open_steps:
        raise Unprocessable(
            f"note: the alert still has {open_steps} open action item(s); say why it is cleared", field="note"
        )


# Who the service acts as when it clears an alert itself (the cause is gone).
SYSTEM_ACTOR = Principal(user_id="system", roles=frozenset({"service"}))


async def settle_alerts(
    session: AsyncSession,
    *,
    account_id: str,
    signal_type: str,
    reason: str,
    publisher: Publisher,
    now: datetime,
    subject_id: str | None = None,
) -> list[Alert]:
    """The cause of the account's open alerts of ``signal_type`` (of one subject, if given) is gone: clear them
    (``auto`` types; their open plan steps are closed with the reason) or propose clearing (``proposed``); see
    ``CLEARING``. ``manual`` types are left alone. Returns the alerts changed."""
    policy = CLEARING.get(signal_type, "manual")
    if policy == "manual":
        return []
    stmt = select(Alert).where(
        Alert.account_id == account_id, Alert.signal_type == signal_type, Alert.status.in_(OPEN_ALERT_STATUSES)
    )
    if subject_id is not None:
        stmt = stmt.where(Alert.subject_id == subject_id)
    changed: list[Alert] = []
    for alert in list((await session.execute(stmt)).scalars()):
        if policy == "auto":
            await _close_open_steps(session, alert=alert, outcome=f"原因已消除 Cause gone: {reason}", now=now)
            body = AlertTransition(status="cleared", note=f"自动解除 Cleared automatically: {reason}")
            await transition_alert(session, alert=alert, body=body, actor=SYSTEM_ACTOR, publisher=publisher, now=now)
        elif alert.clear_proposed_at is None:
            alert.clear_proposed_at, alert.clear_reason = now, reason
            alert.version += 1
        else:
            continue
        changed.append(alert)
    await session.flush()
    return changed


async def _close_open_steps(session: AsyncSession, *, alert: Alert, outcome: str, now: datetime) -> None:
    """Mark the open plan steps of an alert cleared by the service done, with why."""
    for item in await action_items_of(session, alert_id=alert.id):
        if item.status == "open":
            await complete_action_item(session, item=item, actor=SYSTEM_ACTOR, now=now, outcome=outcome)


async def rule_matches(session: AsyncSession, *, signal_type: str, value: Decimal) -> bool:
    """Whether some enabled rule of ``signal_type`` gives ``value`` a level."""
    rules = await session.execute(
        select(WarningRule.conditions).where(WarningRule.signal_type == signal_type, WarningRule.enabled.is_(True))
    )
    return any(evaluate_conditions(parse_conditions(c), value) is not None for c in rules.scalars())


async def list_alerts(
    session: AsyncSession,
    *,
    actor: Principal,
    account_id: str | None,
    level: str | None,
    status: str | None,
    rule_code: str | None,
    page: PageParams,
) -> tuple[list[Alert], int]:
    """Alerts the actor may see, newest first; ``status="open"`` means not cleared."""
    stmt = select(Alert).where(visible_accounts_clause(platform, actor, Alert.account_id))
    if account_id:
        stmt = stmt.where(Alert.account_id == account_id)
    if level:
        stmt = stmt.where(Alert.level == level)
    if status == "open":
        stmt = stmt.where(Alert.status.in_(OPEN_ALERT_STATUSES))
    elif status:
        stmt = stmt.where(Alert.status == status)
    if rule_code:
        stmt = stmt.where(Alert.rule_code == rule_code)
    return await paged(session, stmt, page, Alert.raised_at.desc(), Alert.id)


async def action_items_of(session: AsyncSession, *, alert_id: str) -> list[ActionItem]:
    """The contingency plan of an alert, by due date."""
    rows = await session.execute(
        select(ActionItem).where(ActionItem.alert_id == alert_id).order_by(ActionItem.due_at, ActionItem.title)
    )
    return list(rows.scalars())


async def complete_action_item(
    session: AsyncSession, *, item: ActionItem, actor: Principal, now: datetime, outcome: str | None = None
) -> ActionItem:
    """Mark a plan step done with what was done (repeating it is harmless; a later outcome note is kept)."""
    if "done" in ACTION_ITEM_TRANSITIONS[item.status]:
        item.status, item.done_at, item.done_by = "done", now, actor.user_id
        item.outcome = outcome
        item.version += 1
        await session.flush()
    elif outcome is not None and item.status == "done" and outcome != item.outcome:
        item.outcome = outcome
        item.version += 1
        await session.flush()
    return item


async def update_action_item(
    session: AsyncSession,
    *,
    item: ActionItem,
    body: ActionItemUpdate,
    publisher: Publisher,
    now: datetime,
    zone: ZoneInfo,
) -> ActionItem:
    """Reassign an open plan step to a person (checked: 422 naming ``owner_id``) or a role's queue, or move it.

    A new person or queue publishes ``risk.action_item_assigned`` (``due_on``: the due time's business date in
    ``zone``); a due time moved into the future re-arms the overdue notice (announced again once it passes).
    """
    if item.status != "open":
        raise Conflict(f"A {item.status} action item cannot be changed", current=item.status)
    changes = body.model_fields_set
    if {"owner_id", "owner_role"} <= changes and body.owner_id is not None and body.owner_role is not None:
        raise Unprocessable("owner_id: give a person or a role's queue, not both", field="owner_id")
    before = (item.owner_id, item.owner_role)
    if "owner_id" in changes and body.owner_id is not None:
        await require_assignable(session, platform, user_id=body.owner_id, field="owner_id", account_id=item.account_id)
        item.owner_id, item.owner_role = body.owner_id, None
    elif "owner_role" in changes and body.owner_role is not None:
        item.owner_id, item.owner_role = None, body.owner_role
    elif "owner_id" in changes:
        item.owner_id, item.owner_role = None, item.owner_role or "account_manager"
    if body.due_at is not None:
        if body.due_at != item.due_at and body.due_at > now:
            item.overdue_notified_at = None
        item.due_at = body.due_at
    item.version += 1
    await session.flush()
    if (item.owner_id, item.owner_role) != before:
        await _announce_assignment(session, publisher=publisher, item=item, due_on=business_date(item.due_at, zone))
    return item


async def announce_overdue_action_items(
    session: AsyncSession, *, publisher: Publisher, now: datetime, zone: ZoneInfo
) -> int:
    """Publish ``risk.action_item_overdue`` once for every open plan step whose due time has passed by ``now``
    (``overdue_notified_at`` marks it in the same transaction; replicas skip rows another one holds). Returns how
    many were announced."""
    query = (
        select(ActionItem)
        .where(ActionItem.status == "open", ActionItem.due_at < now, ActionItem.overdue_notified_at.is_(None))
        .order_by(ActionItem.due_at, ActionItem.id)
        .with_for_update(skip_locked=True)
    )
    items = list((await session.execute(query)).scalars())
    for item in items:
        item.overdue_notified_at = now
        data = _item_data(item, business_date(item.due_at, zone))
        await publisher.publish(session, RiskActionItemOverdue, data, account_id=item.account_id)
    await session.flush()
    return len(items)


async def assign_alert(
    session: AsyncSession, *, alert: Alert, body: AlertUpdate, actor: Principal, now: datetime
) -> Alert:
    """Give an open alert an owner (checked: 422 naming ``owner_id``) or take it away (null)."""
    if alert.status == "cleared":
        raise Conflict("A cleared alert cannot be assigned", current=alert.status)
    await require_assignable(session, platform, user_id=body.owner_id, field="owner_id", account_id=alert.account_id)
    previous_owner = alert.owner_id
    alert.owner_id = body.owner_id
    alert.updated_by = actor.user_id
    alert.version += 1
    await session.flush()
    await record_alert_history(
        session,
        alert=alert,
        action="assigned",
        from_state=previous_owner,
        to_state=body.owner_id,
        actor_id=actor.user_id,
        at=now,
    )
    return alert


# ---------------------------------------------------------------- handing over an account


async def _sees_account(session: AsyncSession, user_id: str, account_id: str) -> bool:
    """Whether a user still sees the account: a portfolio role (not read-only) or an owner/team member of it."""
    user = await known_user(session, platform, user_id)
    if user is not None and not frozenset(user["roles"] or ()).isdisjoint(PORTFOLIO_ROLES - READ_ONLY_ROLES):
        return True
    access = platform.account_access
    row = await session.scalar(
        select(access.c.user_id).where(access.c.account_id == account_id, access.c.user_id == user_id)
    )
    return row is not None


async def hand_over_account(
    session: AsyncSession,
    *,
    account_id: str,
    old_owner_id: str | None,
    new_owner_id: str,
    publisher: Publisher,
    zone: ZoneInfo,
) -> int:
    """Open action items and open alerts the former owner held follow the new owner once the former no longer
    sees the account (the projection is already updated); each moved item publishes
    ``risk.action_item_assigned``. Returns how many moved."""
    if old_owner_id is None or old_owner_id == new_owner_id or await _sees_account(session, old_owner_id, account_id):
        return 0
    items = (
        await session.execute(
            select(ActionItem).where(
                ActionItem.account_id == account_id, ActionItem.owner_id == old_owner_id, ActionItem.status == "open"
            )
        )
    ).scalars()
    alerts = (
        await session.execute(
            select(Alert).where(
                Alert.account_id == account_id,
                Alert.owner_id == old_owner_id,
                Alert.status.in_(OPEN_ALERT_STATUSES),
            )
        )
    ).scalars()
    moved_items, moved_alerts = list(items), list(alerts)
    for item in moved_items:
        item.owner_id, item.version = new_owner_id, item.version + 1
    for alert in moved_alerts:
        alert.owner_id, alert.version = new_owner_id, alert.version + 1
    await session.flush()
    for item in moved_items:
        await _announce_assignment(session, publisher=publisher, item=item, due_on=business_date(item.due_at, zone))
    return len(moved_items) + len(moved_alerts)


async def list_action_items(
    session: AsyncSession,
    *,
    actor: Principal,
    owner_id: str | None,
    status: str | None,
    page: PageParams,
    owner_role: str | None = None,
) -> tuple[list[ActionItem], int]:
    """Action items the actor may see, by due date (``owner_role``: the steps in that role's queue)."""
    stmt = select(ActionItem).where(visible_accounts_clause(platform, actor, ActionItem.account_id))
    if owner_id:
        stmt = stmt.where(ActionItem.owner_id == owner_id)
    if owner_role:
        stmt = stmt.where(ActionItem.owner_role == owner_role)
    if status:
        stmt = stmt.where(ActionItem.status == status)
    return await paged(session, stmt, page, ActionItem.due_at, ActionItem.id)
