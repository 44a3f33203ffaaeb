"""Pure: each notifiable event class → its ``Facts`` (one small function per family of events, one table)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from services.notifications.kinds.schemas import Facts
from shared.events import (
    AlertLevelRaised,
    AlertRaised,
    ComplaintAssigned,
    ComplaintEscalated,
    ComplaintRevisitDue,
    ComplaintSlaBreached,
    ComplaintSlaWarning,
    ComplaintTaskAssigned,
    ComplaintTaskOverdue,
    ContractExpiring,
    CreditReviewDue,
    EngagementOverdue,
    EventBase,
    GoalsActionItemDue,
    GoalsActionItemOverdue,
    GoalsProjectPartOverdue,
    LimitRequestSubmitted,
    ReviewRequested,
    RiskActionItemAssigned,
    RiskActionItemOverdue,
    SurveyAnswered,
    TargetAchieved,
    TargetAtRisk,
    TargetMissed,
)


def _base(event: EventBase, *, object_type: str, object_id: str, link_path: str, **facts: Any) -> Facts:
    return Facts(
        kind=event.type,
        event_id=event.id,
        occurred_at=event.time,
        account_id=event.account_id,
        object_type=object_type,
        object_id=object_id,
        link_path=link_path,
        data=event.model_dump(mode="json")["data"],
        **facts,
    )


def _complaint_sla(event: ComplaintSlaWarning | ComplaintSlaBreached) -> Facts:
    d = event.data
    return _base(
        event,
        object_type="complaint",
        object_id=d.complaint_id,
        link_path=f"/complaints/{d.complaint_id}",
        title=d.title,
        critical=isinstance(event, ComplaintSlaBreached),
        level=d.severity,
        tier=d.tier,
        due_at=d.due_at,
        owner_id=d.owner_id,
        values={"timer": d.timer, "severity": d.severity},
    )


def _complaint_escalated(event: ComplaintEscalated) -> Facts:
    d = event.data
    return _base(
        event,
        object_type="complaint",
        object_id=d.complaint_id,
        link_path=f"/complaints/{d.complaint_id}",
        critical=True,
        level=str(d.level),
        owner_id=d.owner_id,
        escalated_to=d.escalated_to,
        values={"level": str(d.level), "reason": d.reason, "severity": d.severity or ""},
    )


def _complaint_assigned(event: ComplaintAssigned) -> Facts:
    d = event.data
    return _base(
        event,
        object_type="complaint",
        object_id=d.complaint_id,
        link_path=f"/complaints/{d.complaint_id}",
        title=d.title,
        level=d.severity,
        owner_id=d.owner_id,
        previous_owner_id=d.previous_owner_id,
        excluded=frozenset({d.assigned_by}) if d.assigned_by else frozenset(),
        values={"severity": d.severity or ""},
    )


def _complaint_task(event: ComplaintTaskAssigned | ComplaintTaskOverdue) -> Facts:
    d = event.data
    return _base(
        event,
        object_type="task",
        object_id=d.task_id,
        link_path=f"/complaints/{d.complaint_id}/tasks/{d.task_id}",
        title=d.title,
        due_at=d.due_at,
        assignee_id=d.assignee_id,
        values={"department": d.department or ""},
    )


def _complaint_revisit(event: ComplaintRevisitDue) -> Facts:
    d = event.data
    return _base(
        event,
        object_type="complaint",
        object_id=d.complaint_id,
        link_path=f"/complaints/{d.complaint_id}",
        title=d.title,
        due_at=d.due_at,
        owner_id=d.owner_id,
    )


def _survey_answered(event: SurveyAnswered) -> Facts:
    """A survey answer: ``level`` is ``low`` for a low score (its follow-up's owner is told), else ``ok``."""
    d = event.data
    scores = " · ".join(
        part for part in (f"NPS {d.nps}" if d.nps is not None else "", f"CSAT {d.csat}" if d.csat else "") if part
    )
    link = f"/complaints/surveys/follow-ups/{d.follow_up_id}" if d.follow_up_id else f"/accounts/{event.account_id}"
    return _base(
        event,
        object_type="survey_follow_up" if d.follow_up_id else "survey_request",
        object_id=d.follow_up_id or d.survey_request_id,
        link_path=link,
        critical=d.low_score,
        level="low" if d.low_score else "ok",
        owner_id=d.owner_id,
        values={"score": scores or "—", "contact_level": d.contact_level or ""},
    )


def _risk_alert(event: AlertRaised | AlertLevelRaised) -> Facts:
    d = event.data
    values = {"level": d.level, "signal": d.signal_type, "rule": d.rule_code}
    if isinstance(event, AlertLevelRaised):
        values["previous_level"] = event.data.previous_level
    return _base(
        event,
        object_type="alert",
        object_id=d.alert_id,
        link_path=f"/risk/alerts/{d.alert_id}",
        title=d.title,
        critical=d.level == "red",
        level=d.level,
        values=values,
    )


def _risk_action_item(event: RiskActionItemAssigned | RiskActionItemOverdue) -> Facts:
    d = event.data
    return _base(
        event,
        object_type="action_item",
        object_id=d.item_id,
        link_path=f"/risk/action-items/{d.item_id}",
        title=d.title,
        due_on=d.due_on,
        assignee_id=d.owner_id,
        queue_role=d.owner_role,
    )


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def _limit_request(event: LimitRequestSubmitted) -> Facts:
    d = event.data
    return _base(
        event,
        object_type="limit_request",
        object_id=d.request_id,
        link_path=f"/risk/limit-requests/{d.request_id}",
        queue_role=d.checker_role,
        excluded=frozenset({d.requested_by}),  # four eyes: the maker never checks their own request
        values={"amount": _money(d.requested_limit, d.currency), "requester": d.requested_by},
    )


def _contract_expiring(event: ContractExpiring) -> Facts:
    d = event.data
    return _base(
        event,
        object_type="contract",
        object_id=d.contract_id,
        link_path=f"/risk/contracts/{d.contract_id}",
        title=d.title,
        level=str(d.stage),
        due_on=d.expires_on,
        owner_id=d.owner_id,
        values={"days_left": str(d.days_left), "stage": str(d.stage)},
    )


def _review_due(event: CreditReviewDue) -> Facts:
    d = event.data
    account = event.account_id or ""
    return _base(
        event,
        object_type="credit_profile",
        object_id=account,
        link_path=f"/accounts/{account}/credit",
        due_on=d.review_on,
        owner_id=d.owner_id,
    )


def _number(value: Decimal | None) -> str:
    return "" if value is None else f"{value.normalize():,f}"


def _target(event: TargetAtRisk | TargetAchieved | TargetMissed) -> Facts:
    d = event.data
    values = {"metric": d.metric, "period": d.period, "target": _number(d.target_value)}
    if isinstance(event, TargetAtRisk):
        values |= {
            "attainment": _number(event.data.attainment_pct.quantize(Decimal("0.1"))),
            "threshold": _number(event.data.threshold_pct),
            "forecast": _number(event.data.forecast),
        }
    else:
        values["actual"] = _number(event.data.actual)
    return _base(
        event,
        object_type="target",
        object_id=d.target_id,
        link_path=f"/goals/targets/{d.target_id}",
        owner_id=d.owner_id,
        values=values,
    )


def _goals_action_item(event: GoalsActionItemDue | GoalsActionItemOverdue) -> Facts:
    d = event.data
    return _base(
        event,
        object_type="action_item",
        object_id=d.item_id,
        link_path=f"/goals/actions/{d.item_id}",
        title=d.title,
        due_on=d.due_on,
        assignee_id=d.owner_id,
    )


def _goals_project_part(event: GoalsProjectPartOverdue) -> Facts:
    d = event.data
    return _base(
        event,
        object_type="project_part",
        object_id=d.part_id,
        link_path=f"/goals/projects/{d.project_id}",
        title=d.title,
        due_on=d.due_on,
        assignee_id=d.owner_id,
        values={"project_department": d.department, "project": d.project_title},
    )


def _engagement_overdue(event: EngagementOverdue) -> Facts:
    d = event.data
    account = event.account_id or ""
    last = d.last_engaged_on.isoformat() if d.last_engaged_on else ""
    return _base(
        event,
        object_type="engagement",
        object_id=f"{account}:{d.contact_level}",
        link_path=f"/accounts/{account}/engagement",
        level=d.contact_level,
        owner_id=d.owner_id,
        values={"contact_level": d.contact_level, "days_overdue": str(d.days_overdue), "last_engaged": last},
    )


def _review_requested(event: ReviewRequested) -> Facts:
    d = event.data
    return _base(
        event,
        object_type=d.object_type,
        object_id=d.review_id,
        link_path=f"/accounts/{event.account_id or ''}",
        level=d.review_kind,
        owner_id=d.owner_id,
        excluded=frozenset({d.requested_by}),  # four eyes: the requester never decides their own report
        values={
            "requester": d.requested_by,
            "review_kind": d.review_kind,
            "contact_level": d.level or "",
            "fields": ", ".join(d.fields),
        },
    )


FactsOf = Callable[[Any], Facts]

# The events notifications consumes, each with how its facts are read (a typo is an import error, not silence).
FACTS: Mapping[type[EventBase], FactsOf] = {
    ComplaintSlaWarning: _complaint_sla,
    ComplaintSlaBreached: _complaint_sla,
    ComplaintEscalated: _complaint_escalated,
    ComplaintAssigned: _complaint_assigned,
    ComplaintTaskAssigned: _complaint_task,
    ComplaintTaskOverdue: _complaint_task,
    ComplaintRevisitDue: _complaint_revisit,
    SurveyAnswered: _survey_answered,
    AlertRaised: _risk_alert,
    AlertLevelRaised: _risk_alert,
    RiskActionItemAssigned: _risk_action_item,
    RiskActionItemOverdue: _risk_action_item,
    LimitRequestSubmitted: _limit_request,
    ContractExpiring: _contract_expiring,
    CreditReviewDue: _review_due,
    TargetAtRisk: _target,
    TargetAchieved: _target,
    TargetMissed: _target,
    GoalsActionItemDue: _goals_action_item,
    GoalsActionItemOverdue: _goals_action_item,
    GoalsProjectPartOverdue: _goals_project_part,
    EngagementOverdue: _engagement_overdue,
    ReviewRequested: _review_requested,
}
NOTIFIABLE_KINDS: tuple[str, ...] = tuple(sorted(cls.type_name() for cls in FACTS))


def facts_of(event: EventBase) -> Facts:
    """The facts of a notifiable event (KeyError for an event class notifications does not consume)."""
    return FACTS[type(event)](event)
