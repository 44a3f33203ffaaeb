"""Early-warning routes: signals, industry policies, rules, plan templates, alerts, action items, the risk watch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.deps import (
    AccountForRead,
    AccountForUpdate,
    AccountIdFilter,
    ActionItemForRead,
    ActionItemForUpdate,
    Actor,
    AlertForRead,
    AlertForUpdate,
    CodeFilter,
    CreditFeeder,
    CreditManager,
    Paging,
    RiskOfficer,
    Today,
    UserIdFilter,
    Zone,
)
from services.risk.paging import page_of
from services.risk.schemas import CaseHistoryRead
from services.risk.warnings import policies, service
from services.risk.warnings.early_warning import SIGNAL_TYPES
from services.risk.warnings.history import alert_history_of
from services.risk.warnings.models import Alert, PlanTemplate
from services.risk.warnings.schemas import (
    ActionItemComplete,
    ActionItemRead,
    ActionItemUpdate,
    AlertDetail,
    AlertRead,
    AlertTransition,
    AlertUpdate,
    PlanTemplatePut,
    PlanTemplateRead,
    PolicyCreate,
    PolicyRead,
    QueueRole,
    RulePut,
    RuleRead,
    SignalCreate,
    SignalRead,
)
from services.risk.warnings.watch import run_risk_watch
from shared.api import Page, check_if_match, check_if_match_upsert, set_etag
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, PublisherDep, SessionDep
from shared.vocabulary import AlertLevel

router = APIRouter(tags=["risk: early warning"], responses=PROBLEM_RESPONSES)
RuleCode = Annotated[str, Path(min_length=1, max_length=60, pattern="^[A-Za-z0-9_]+$")]
SignalTypePath = Annotated[str, Path(min_length=1, max_length=40, pattern="^[a-z_]+$")]


# ---------------------------------------------------------------- signals, policies, rules, plans


@router.post(
    "/risk/accounts/{account_id}/signals",
    summary="Enter a financial-deterioration signal (runs the early-warning rules)",
    status_code=201,
)
async def create_signal(
    actor: CreditFeeder,
    account: AccountForUpdate,
    body: SignalCreate,
    session: SessionDep,
    publisher: PublisherDep,
    clock: ClockDep,
    today: Today,
) -> SignalRead:
    """Record a financial signal entered or imported; the same ``reference`` twice is recorded once."""
    signal = await service.enter_signal(
        session, account_id=account["account_id"], body=body, publisher=publisher, now=clock.now(), today=today
    )
    return SignalRead.model_validate(signal)


@router.get("/risk/accounts/{account_id}/signals", summary="Risk signals of an account")
async def list_signals(
    account: AccountForRead, session: SessionDep, page: Paging, signal_type: CodeFilter = None
) -> Page[SignalRead]:
    """Signals newest first."""
    rows, total = await service.list_signals(
        session, account_id=account["account_id"], signal_type=signal_type, page=page
    )
    return Page[SignalRead](**page_of([SignalRead.model_validate(r) for r in rows], total, page))


@router.get("/risk/signal-types", summary="Signal types and what their value means")
async def signal_types(actor: Actor) -> dict[str, str]:
    """The known signal types."""
    return SIGNAL_TYPES


@router.post(
    "/risk/industry-policies",
    summary="Enter an industry policy change once; every account of the industry gets the signal",
    status_code=201,
)
async def create_policy(
    body: PolicyCreate,
    session: SessionDep,
    actor: RiskOfficer,
    publisher: PublisherDep,
    clock: ClockDep,
    today: Today,
) -> PolicyRead:
    """Apply a policy change to every account of the industry (accepts an Idempotency-Key)."""
    policy, affected = await policies.create_industry_policy(
        session, body=body, actor=actor, publisher=publisher, now=clock.now(), today=today
    )
    result = PolicyRead.model_validate(policy).model_copy(update={"accounts_affected": affected})
    return result


@router.get("/risk/industry-policies", summary="Industry policy changes")
async def list_policies(
    session: SessionDep, actor: Actor, page: Paging, industry: Annotated[str | None, Query(max_length=100)] = None
) -> Page[PolicyRead]:
    """Policies newest first."""
    rows, total = await policies.list_policies(session, industry=industry, page=page)
    return Page[PolicyRead](**page_of([PolicyRead.model_validate(r) for r in rows], total, page))


@router.get("/risk/rules", summary="Early-warning rules")
async def list_rules(session: SessionDep, actor: Actor) -> list[RuleRead]:
    """Every rule: signal type, conditions → level."""
    return [RuleRead.model_validate(r) for r in await service.list_rules(session)]


@router.put("/risk/rules/{code}", summary="Create or replace an early-warning rule")
async def put_rule(
    code: RuleCode,
    body: RulePut,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: RiskOfficer,
    clock: ClockDep,
) -> RuleRead:
    """Conditions are ``value <operator> threshold → level``; the most severe matching level wins."""
    code = code.upper()
    existing = await service.find_rule(session, code=code)
    check_if_match_upsert(request, existing.version if existing is not None else None)
    rule = await service.put_rule(session, code=code, body=body, now=clock.now(), actor=actor)
    set_etag(response, rule.version)
    return RuleRead.model_validate(rule)


@router.get("/risk/plan-templates", summary="Contingency plan templates per alert type")
async def list_plan_templates(session: SessionDep, actor: Actor) -> list[PlanTemplateRead]:
    """Every template."""
    return [PlanTemplateRead.model_validate(t) for t in await service.list_plan_templates(session)]


@router.put("/risk/plan-templates/{signal_type}", summary="Create or replace the contingency plan of an alert type")
async def put_plan_template(
    signal_type: SignalTypePath,
    body: PlanTemplatePut,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: RiskOfficer,
    clock: ClockDep,
) -> PlanTemplateRead:
    """Steps become action items (owner, due date) whenever an alert of this type is raised; If-Match to replace."""
    existing = await session.get(PlanTemplate, signal_type)
    check_if_match_upsert(request, existing.version if existing is not None else None)
    template = await service.put_plan_template(
        session, signal_type=signal_type, body=body, now=clock.now(), actor=actor
    )
    set_etag(response, template.version)
    return PlanTemplateRead.model_validate(template)


# ---------------------------------------------------------------- alerts and action items


@router.get("/risk/alerts", summary="Early-warning alerts (filter by account, level, status, rule)")
async def list_alerts(
    session: SessionDep,
    actor: Actor,
    page: Paging,
    account_id: AccountIdFilter = None,
    level: AlertLevel | None = None,
    status: Annotated[str | None, Query(pattern="^(open|raised|acknowledged|mitigating|cleared)$")] = None,
    rule_code: CodeFilter = None,
) -> Page[AlertRead]:
    """Alerts the caller may see, newest first; ``status=open`` means not cleared."""
    rows, total = await service.list_alerts(
        session, actor=actor, account_id=account_id, level=level, status=status, rule_code=rule_code, page=page
    )
    return Page[AlertRead](**page_of([AlertRead.model_validate(r) for r in rows], total, page))


async def _alert_detail(session: AsyncSession, alert: Alert) -> AlertDetail:
    items = await service.action_items_of(session, alert_id=alert.id)
    history = await alert_history_of(session, alert_id=alert.id)
    return AlertDetail.model_validate(alert).model_copy(
        update={
            "action_items": [ActionItemRead.model_validate(i) for i in items],
            "history": [CaseHistoryRead.model_validate(h) for h in history],
        }
    )


@router.get("/risk/alerts/{alert_id}", summary="An alert with its contingency plan")
async def get_alert(alert: AlertForRead, session: SessionDep, response: Response) -> AlertDetail:
    """The alert and its action items."""
    set_etag(response, alert.version)
    return await _alert_detail(session, alert)


@router.post(
    "/risk/alerts/{alert_id}/transitions",
    summary="Move an alert: acknowledged → mitigating → cleared (clearing publishes risk.alert_cleared)",
)
async def transition_alert(
    alert: AlertForUpdate,
    body: AlertTransition,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: Actor,
    publisher: PublisherDep,
    clock: ClockDep,
) -> AlertDetail:
    """Invalid moves are 409 with the allowed ones; a stale If-Match is 412."""
    check_if_match(request, alert.version)
    await service.transition_alert(session, alert=alert, body=body, actor=actor, publisher=publisher, now=clock.now())
    set_etag(response, alert.version)
    return await _alert_detail(session, alert)


@router.patch("/risk/alerts/{alert_id}", summary="Give an alert an owner (a worker who sees the account) or none")
async def update_alert(
    alert: AlertForUpdate,
    body: AlertUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: Actor,
    clock: ClockDep,
) -> AlertDetail:
    """The owner must be a known, active user with a working role who sees the account (422 naming it)."""
    check_if_match(request, alert.version)
    await service.assign_alert(session, alert=alert, body=body, actor=actor, now=clock.now())
    set_etag(response, alert.version)
    return await _alert_detail(session, alert)


@router.get("/risk/action-items", summary="Contingency plan action items (mine, by status)")
async def list_action_items(
    session: SessionDep,
    actor: Actor,
    page: Paging,
    owner_id: UserIdFilter = None,
    owner_role: QueueRole | None = None,
    status: Annotated[str | None, Query(pattern="^(open|done)$")] = None,
) -> Page[ActionItemRead]:
    """Action items the caller may see, by due date; ``owner_role`` is a role's queue (steps held by no person)."""
    rows, total = await service.list_action_items(
        session, actor=actor, owner_id=owner_id, owner_role=owner_role, status=status, page=page
    )
    return Page[ActionItemRead](**page_of([ActionItemRead.model_validate(r) for r in rows], total, page))


@router.get("/risk/action-items/{item_id}", summary="A contingency plan step (its ETag for completing it)")
async def get_action_item(item: ActionItemForRead, response: Response) -> ActionItemRead:
    """The step with its owner, due time, state and outcome."""
    set_etag(response, item.version)
    return ActionItemRead.model_validate(item)


@router.post("/risk/action-items/{item_id}/complete", summary="Mark a contingency plan step done")
async def complete_action_item(
    item: ActionItemForUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: Actor,
    clock: ClockDep,
    body: ActionItemComplete | None = None,
) -> ActionItemRead:
    """Done by the caller, now, with an optional ``outcome`` note (If-Match on ``version``)."""
    check_if_match(request, item.version)
    outcome = body.outcome if body is not None else None
    await service.complete_action_item(session, item=item, actor=actor, now=clock.now(), outcome=outcome)
    set_etag(response, item.version)
    return ActionItemRead.model_validate(item)


@router.patch("/risk/action-items/{item_id}", summary="Reassign a contingency plan step or move its due time")
async def update_action_item(
    item: ActionItemForUpdate,
    body: ActionItemUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    publisher: PublisherDep,
    clock: ClockDep,
    zone: Zone,
) -> ActionItemRead:
    """A new owner must be a known, active worker who sees the account (422 naming ``owner_id``); If-Match.
    A new person or queue publishes ``risk.action_item_assigned``."""
    check_if_match(request, item.version)
    await service.update_action_item(session, item=item, body=body, publisher=publisher, now=clock.now(), zone=zone)
    set_etag(response, item.version)
    return ActionItemRead.model_validate(item)


@router.post(
    "/risk/jobs/risk-watch",
    summary="Run the risk watch now: expire temporary limits, refresh overdue, utilisation and concentration signals, "
    "announce overdue plan steps",
)
async def run_risk_watch_now(
    session: SessionDep, actor: CreditManager, publisher: PublisherDep, clock: ClockDep, zone: Zone
) -> dict[str, int]:
    """What the hourly job does, at the service clock's now (business dates in the company's zone)."""
    return await run_risk_watch(session, publisher=publisher, now=clock.now(), zone=zone)
