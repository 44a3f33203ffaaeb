"""Early-warning routes: signals, industry policies, rules, plan templates, alerts, action items."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk import alerts as alerts_service
from services.risk.early_warning import OPEN_ALERT_STATUSES, SIGNAL_TYPES
from services.risk.jobs import run_risk_watch
from services.risk.models import ActionItem, Alert, IndustryPolicy, RiskSignal, WarningRule, platform
from services.risk.routing import (
    CreditFeeder,
    CreditManager,
    Paging,
    RiskOfficer,
    page_of,
    paged,
    remember_response,
    replay_idempotent,
)
from services.risk.schemas import (
    ActionItemRead,
    AlertDetail,
    AlertRead,
    AlertTransition,
    PlanTemplatePut,
    PlanTemplateRead,
    PolicyCreate,
    PolicyRead,
    RulePut,
    RuleRead,
    SignalCreate,
    SignalRead,
)
from shared.api import Page, check_if_match, set_etag
from shared.auth import CurrentPrincipal, ensure_account_access, visible_accounts_clause
from shared.errors import PROBLEM_RESPONSES, NotFound
from shared.service import ClockDep, SessionDep

router = APIRouter(tags=["risk: early warning"], responses=PROBLEM_RESPONSES)


# ---------------------------------------------------------------- signals, policies, rules, plans


@router.post(
    "/risk/accounts/{account_id}/signals",
    summary="Enter a financial-deterioration signal (runs the early-warning rules)",
    status_code=201,
)
async def create_signal(
    account_id: str, body: SignalCreate, session: SessionDep, principal: CreditFeeder, clock: ClockDep
) -> SignalRead:
    """Record a financial signal entered or imported; the same ``reference`` twice is recorded once."""
    await ensure_account_access(session, platform, principal, account_id, write=True)
    now = clock.now()
    signal, _ = await alerts_service.record_signal(
        session,
        account_id=account_id,
        signal_type=body.signal_type,
        value=body.value,
        source="manual",
        source_ref=f"manual:{body.reference or now.isoformat()}",
        title=body.title,
        details=body.details,
        now=now,
    )
    return SignalRead.model_validate(signal)


@router.get("/risk/accounts/{account_id}/signals", summary="Risk signals of an account")
async def list_signals(
    account_id: str,
    session: SessionDep,
    principal: CurrentPrincipal,
    page: Paging,
    signal_type: str | None = None,
) -> Page[SignalRead]:
    """Signals newest first."""
    await ensure_account_access(session, platform, principal, account_id)
    stmt = select(RiskSignal).where(RiskSignal.account_id == account_id)
    if signal_type:
        stmt = stmt.where(RiskSignal.signal_type == signal_type)
    rows, total = await paged(session, stmt, page, RiskSignal.observed_at.desc())
    return Page[SignalRead](**page_of([SignalRead.model_validate(r) for r in rows], total, page))


@router.get("/risk/signal-types", summary="Signal types and what their value means")
async def signal_types(principal: CurrentPrincipal) -> dict[str, str]:
    """The known signal types."""
    return SIGNAL_TYPES


@router.post(
    "/risk/industry-policies",
    summary="Enter an industry policy change once; every account of the industry gets the signal",
    status_code=201,
)
async def create_policy(
    body: PolicyCreate, request: Request, session: SessionDep, principal: RiskOfficer, clock: ClockDep
) -> PolicyRead:
    """Apply a policy change to every account of the industry (accepts an Idempotency-Key)."""
    payload = body.model_dump(mode="json")
    if (replayed := await replay_idempotent(session, request, principal, payload)) is not None:
        return replayed  # type: ignore[return-value]
    policy, affected = await alerts_service.create_industry_policy(
        session, by=principal.user_id, now=clock.now(), **body.model_dump()
    )
    result = PolicyRead.model_validate(policy).model_copy(update={"accounts_affected": affected})
    await remember_response(session, request, principal, payload, result.model_dump(mode="json"))
    return result


@router.get("/risk/industry-policies", summary="Industry policy changes")
async def list_policies(
    session: SessionDep, principal: CurrentPrincipal, page: Paging, industry: str | None = None
) -> Page[PolicyRead]:
    """Policies newest first."""
    stmt = select(IndustryPolicy)
    if industry:
        stmt = stmt.where(IndustryPolicy.industry == industry)
    rows, total = await paged(session, stmt, page, IndustryPolicy.created_at.desc())
    return Page[PolicyRead](**page_of([PolicyRead.model_validate(r) for r in rows], total, page))


@router.get("/risk/rules", summary="Early-warning rules")
async def list_rules(session: SessionDep, principal: CurrentPrincipal) -> list[RuleRead]:
    """Every rule: signal type, conditions → level."""
    return [RuleRead.model_validate(r) for r in await alerts_service.list_rules(session)]


@router.put("/risk/rules/{code}", summary="Create or replace an early-warning rule")
async def put_rule(
    code: Annotated[str, Path(min_length=1, max_length=60, pattern="^[A-Za-z0-9_]+$")],
    body: RulePut,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: RiskOfficer,
    clock: ClockDep,
) -> RuleRead:
    """Conditions are ``value <operator> threshold → level``; the most severe matching level wins."""
    code = code.upper()
    existing = await session.get(WarningRule, code)
    if existing is not None:
        check_if_match(request, existing.version)
    rule = await alerts_service.put_rule(
        session,
        code=code,
        name=body.name,
        signal_type=body.signal_type,
        conditions=[c.model_dump(mode="json") for c in body.conditions],
        enabled=body.enabled,
        now=clock.now(),
    )
    set_etag(response, rule.version)
    return RuleRead.model_validate(rule)


@router.get("/risk/plan-templates", summary="Contingency plan templates per alert type")
async def list_plan_templates(session: SessionDep, principal: CurrentPrincipal) -> list[PlanTemplateRead]:
    """Every template."""
    return [PlanTemplateRead.model_validate(t) for t in await alerts_service.list_plan_templates(session)]


@router.put("/risk/plan-templates/{signal_type}", summary="Create or replace the contingency plan of an alert type")
async def put_plan_template(
    signal_type: str, body: PlanTemplatePut, session: SessionDep, principal: RiskOfficer, clock: ClockDep
) -> PlanTemplateRead:
    """Steps become action items (owner, due date) whenever an alert of this type is raised."""
    template = await alerts_service.put_plan_template(
        session, signal_type=signal_type, steps=[s.model_dump() for s in body.steps], now=clock.now()
    )
    return PlanTemplateRead.model_validate(template)


# ---------------------------------------------------------------- alerts and action items


@router.get("/risk/alerts", summary="Early-warning alerts (filter by account, level, status, rule)")
async def list_alerts(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: Paging,
    account_id: str | None = None,
    level: Annotated[str | None, Query(pattern="^(green|yellow|orange|red)$")] = None,
    status: Annotated[str | None, Query(pattern="^(open|raised|acknowledged|mitigating|cleared)$")] = None,
    rule_code: str | None = None,
) -> Page[AlertRead]:
    """Alerts the caller may see, newest first; ``status=open`` means not cleared."""
    stmt = select(Alert).where(visible_accounts_clause(platform, principal, Alert.account_id))
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
    rows, total = await paged(session, stmt, page, Alert.raised_at.desc(), Alert.id)
    return Page[AlertRead](**page_of([AlertRead.model_validate(r) for r in rows], total, page))


async def _alert_detail(session: AsyncSession, alert: Alert) -> AlertDetail:
    items = await alerts_service.action_items_of(session, alert_id=alert.id)
    return AlertDetail.model_validate(alert).model_copy(
        update={"action_items": [ActionItemRead.model_validate(i) for i in items]}
    )


@router.get("/risk/alerts/{alert_id}", summary="An alert with its contingency plan")
async def get_alert(alert_id: str, session: SessionDep, principal: CurrentPrincipal, response: Response) -> AlertDetail:
    """The alert and its action items."""
    alert = await alerts_service.get_alert(session, alert_id=alert_id)
    await ensure_account_access(session, platform, principal, alert.account_id)
    set_etag(response, alert.version)
    return await _alert_detail(session, alert)


@router.post(
    "/risk/alerts/{alert_id}/transitions",
    summary="Move an alert: acknowledged → mitigating → cleared (clearing publishes risk.alert_cleared)",
)
async def transition_alert(
    alert_id: str,
    body: AlertTransition,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: CurrentPrincipal,
    clock: ClockDep,
) -> AlertDetail:
    """Invalid moves are 409 with the allowed ones; a stale If-Match is 412."""
    alert = await alerts_service.get_alert(session, alert_id=alert_id)
    await ensure_account_access(session, platform, principal, alert.account_id, write=True)
    check_if_match(request, alert.version)
    await alerts_service.transition_alert(
        session, alert=alert, target=body.status, note=body.note, by=principal.user_id, now=clock.now()
    )
    set_etag(response, alert.version)
    return await _alert_detail(session, alert)


@router.get("/risk/action-items", summary="Contingency plan action items (mine, by status)")
async def list_action_items(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: Paging,
    owner_id: str | None = None,
    status: Annotated[str | None, Query(pattern="^(open|done)$")] = None,
) -> Page[ActionItemRead]:
    """Action items the caller may see, by due date."""
    stmt = select(ActionItem).where(visible_accounts_clause(platform, principal, ActionItem.account_id))
    if owner_id:
        stmt = stmt.where(ActionItem.owner_id == owner_id)
    if status:
        stmt = stmt.where(ActionItem.status == status)
    rows, total = await paged(session, stmt, page, ActionItem.due_at, ActionItem.id)
    return Page[ActionItemRead](**page_of([ActionItemRead.model_validate(r) for r in rows], total, page))


@router.post("/risk/action-items/{item_id}/complete", summary="Mark a contingency plan step done")
async def complete_action_item(
    item_id: str, session: SessionDep, principal: CurrentPrincipal, clock: ClockDep
) -> ActionItemRead:
    """Done by the caller, now."""
    item = await session.get(ActionItem, item_id)
    if item is None:
        raise NotFound(f"Action item {item_id} not found")
    await ensure_account_access(session, platform, principal, item.account_id, write=True)
    await alerts_service.complete_action_item(session, item=item, by=principal.user_id, now=clock.now())
    return ActionItemRead.model_validate(item)


@router.post(
    "/risk/jobs/risk-watch",
    summary="Run the risk watch now: expire temporary limits, refresh overdue, utilisation and concentration signals",
)
async def run_risk_watch_now(session: SessionDep, principal: CreditManager, clock: ClockDep) -> dict[str, int]:
    """What the hourly job does, at the service clock's now."""
    return await run_risk_watch(session, now=clock.now())
