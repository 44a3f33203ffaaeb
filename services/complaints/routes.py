"""HTTP routes of the complaints service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import PlainTextResponse

from services.complaints import analytics, queries, service
from services.complaints.models import Complaint, idempotency_keys, platform
from services.complaints.schemas import (
    AcknowledgeBody,
    ActionCreate,
    ActionRead,
    AssignBody,
    CategoryBody,
    CategoryRead,
    ComplaintCreate,
    ComplaintDetail,
    ComplaintRead,
    MessageBody,
    NoteBody,
    PolicyBody,
    PolicyRead,
    PolicyUpdated,
    ReasonBody,
    RemedyCreate,
    RemedyDecision,
    RemedyRead,
    RevisitBody,
    RootCauseBody,
    Severity,
    SlaCheckResult,
    StateName,
    StatusBody,
    TaskCreate,
    TaskRead,
    TierName,
    TimelineRead,
    Visibility,
)
from shared.api import Page, PageParams, check_if_match, page_params, parse_sort, remember_response, replay_response
from shared.api import set_etag as _set_etag
from shared.auth import (
    ACCOUNT_MANAGER,
    SERVICE,
    SUPERVISOR,
    CurrentPrincipal,
    Principal,
    ensure_account_access,
    require_roles,
)
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, SessionDep

router = APIRouter(tags=["complaints"], responses=PROBLEM_RESPONSES)

Writer = Annotated[Principal, Depends(require_roles(SUPERVISOR, ACCOUNT_MANAGER, SERVICE))]
Supervisor = Annotated[Principal, Depends(require_roles(SUPERVISOR))]
Paging = Annotated[PageParams, Depends(page_params)]


def get_rules(request: Request) -> service.Rules:
    """The closed-loop rules and business calendar built at start-up."""
    rules: service.Rules = request.app.state.complaint_rules
    return rules


RulesDep = Annotated[service.Rules, Depends(get_rules)]


def _detail_response(response: Response, complaint: Complaint, now: datetime) -> dict[str, Any]:
    _set_etag(response, complaint.version)
    return queries.complaint_payload(complaint, now)


# ---------------------------------------------------------------- reference data


@router.get("/complaints/categories", summary="The complaint taxonomy (中文/English)")
async def get_categories(
    session: SessionDep, _: CurrentPrincipal, include_inactive: bool = False
) -> list[CategoryRead]:
    """Categories in display order."""
    rows = await service.list_categories(session=session, include_inactive=include_inactive)
    return [CategoryRead.model_validate(r) for r in rows]


@router.put("/complaints/categories/{code}", summary="Add or relabel a category")
async def put_category(code: str, body: CategoryBody, session: SessionDep, _: Supervisor) -> CategoryRead:
    """Supervisors maintain the taxonomy."""
    category = await service.upsert_category(session=session, code=code, **body.model_dump())
    return CategoryRead.model_validate(category)


@router.get("/complaints/sla-policies", summary="SLA policies per tier × severity")
async def get_policies(session: SessionDep, _: CurrentPrincipal) -> list[PolicyRead]:
    """Every policy (``default`` applies to accounts without a tier)."""
    return [PolicyRead.model_validate(p) for p in await service.list_policies(session=session)]


@router.put("/complaints/sla-policies/{tier}/{severity}", summary="Change a policy (recomputes open timers)")
async def put_policy(
    tier: TierName,
    severity: Severity,
    body: PolicyBody,
    session: SessionDep,
    principal: Supervisor,
    clock: ClockDep,
    rules: RulesDep,
) -> PolicyUpdated:
    """Change one policy; the stored timers of the open complaints it governs are recomputed."""
    policy, recomputed = await service.update_policy(
        session=session,
        tier=tier,
        severity=severity,
        actor=principal.user_id,
        now=clock.now(),
        rules=rules,
        **body.model_dump(),
    )
    return PolicyUpdated(policy=PolicyRead.model_validate(policy), recomputed=recomputed)


@router.post("/complaints/sla/check", summary="Run the SLA timer check now")
async def run_sla_check(session: SessionDep, _: Supervisor, clock: ClockDep, rules: RulesDep) -> SlaCheckResult:
    """What the periodic job does: compare stored timers with the clock, warn, breach and escalate."""
    now = clock.now()
    counts = await service.check_sla_timers(session=session, now=now, rules=rules)
    return SlaCheckResult(checked_at=now, counts=counts)


# ---------------------------------------------------------------- analytics and views


@router.get("/complaints/analytics", summary="Complaint analytics")
async def get_analytics(
    session: SessionDep,
    principal: CurrentPrincipal,
    opened_from: datetime | None = Query(default=None, alias="from"),
    opened_to: datetime | None = Query(default=None, alias="to"),
    account_id: str | None = None,
) -> dict[str, Any]:
    """Counts, SLA compliance, times to respond and resolve (paused time excluded), reopen rate, satisfaction."""
    facts = await queries.analytics_facts(
        session=session, principal=principal, opened_from=opened_from, opened_to=opened_to, account_id=account_id
    )
    return analytics.compute_analytics(facts)


@router.get(
    "/complaints/analytics/export.csv",
    summary="Complaint analytics as CSV",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
async def export_analytics(
    session: SessionDep,
    principal: CurrentPrincipal,
    opened_from: datetime | None = Query(default=None, alias="from"),
    opened_to: datetime | None = Query(default=None, alias="to"),
    account_id: str | None = None,
) -> Response:
    """The same figures as ``/complaints/analytics``, one per row."""
    facts = await queries.analytics_facts(
        session=session, principal=principal, opened_from=opened_from, opened_to=opened_to, account_id=account_id
    )
    body = analytics.analytics_csv(analytics.compute_analytics(facts))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="complaints-analytics.csv"'},
    )


@router.get("/complaints/views/accounts/{account_id}", summary="This service's section of the account overview")
async def account_view(
    account_id: str, session: SessionDep, principal: CurrentPrincipal, clock: ClockDep
) -> dict[str, Any]:
    """The complaints section of the account 360 (composed by the gateway)."""
    account = await ensure_account_access(session, platform, principal, account_id)
    return await queries.account_section(session=session, account=account, now=clock.now())


@router.get("/complaints/views/portfolio", summary="This service's section of the portfolio board")
async def portfolio_view(session: SessionDep, principal: CurrentPrincipal, clock: ClockDep) -> dict[str, Any]:
    """The complaints section of the supervisor's board (composed by the gateway)."""
    return await queries.portfolio_section(session=session, principal=principal, now=clock.now())


# ---------------------------------------------------------------- complaints


@router.post("/complaints", status_code=201, summary="Register a complaint", response_model=ComplaintRead)
async def create_complaint(
    body: ComplaintCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Writer,
    clock: ClockDep,
    rules: RulesDep,
) -> Any:
    """Intake: the account's owner becomes the one owner unless another is named; timers start now."""
    payload = body.model_dump(mode="json")
    if (
        replayed := await replay_response(
            session, idempotency_keys, request=request, principal_id=principal.user_id, payload=payload
        )
    ) is not None:
        return replayed
    account = await ensure_account_access(session, platform, principal, body.account_id, write=True)
    now = clock.now()
    fields = body.model_dump(exclude={"account_id"})
    complaint = await service.open_complaint(
        session=session, account=account, actor=principal.user_id, now=now, rules=rules, **fields
    )
    result = ComplaintRead.model_validate(queries.complaint_payload(complaint, now)).model_dump(mode="json")
    await remember_response(
        session,
        idempotency_keys,
        request=request,
        principal_id=principal.user_id,
        payload=payload,
        body=result,
        status=201,
    )
    _set_etag(response, complaint.version)
    response.headers["Location"] = f"/complaints/{complaint.id}"
    return result


@router.get("/complaints", summary="List complaints")
async def list_complaints(
    session: SessionDep,
    principal: CurrentPrincipal,
    clock: ClockDep,
    page: Paging,
    account_id: str | None = None,
    state: StateName | None = None,
    severity: Severity | None = None,
    category: str | None = None,
    owner_id: str | None = None,
    sla: str | None = Query(default=None, pattern="^(ok|warning|breached|paused)$"),
    sort: str | None = Query(default=None, description="e.g. -opened_at, resolution_due_at"),
) -> Page[ComplaintRead]:
    """Visible complaints (account managers: their accounts only), filtered and sorted."""
    items, total = await queries.list_complaints(
        session=session,
        principal=principal,
        now=clock.now(),
        limit=page.limit,
        offset=page.offset,
        sort=parse_sort(sort, queries.SORTABLE, "-opened_at"),
        sla_state=sla,
        account_id=account_id,
        state=state,
        severity=severity,
        category=category,
        owner_id=owner_id,
    )
    return Page[ComplaintRead](
        items=[ComplaintRead.model_validate(i) for i in items], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/complaints/{complaint_id}", summary="One complaint with its task force and history")
async def get_complaint(
    complaint_id: str, response: Response, session: SessionDep, principal: CurrentPrincipal, clock: ClockDep
) -> ComplaintDetail:
    """The complaint, its SLA state, tasks, escalations, revisits, pauses, actions and remedies."""
    complaint = await queries.load_complaint(session=session, principal=principal, complaint_id=complaint_id)
    data = _detail_response(response, complaint, clock.now())
    data["tasks"] = await service.tasks_of(session=session, complaint_id=complaint.id)
    data["escalations"] = await service.escalations_of(session=session, complaint_id=complaint.id)
    data["revisits"] = await service.revisits_of(session=session, complaint_id=complaint.id)
    data["pauses"] = await service.pauses_of(session=session, complaint_id=complaint.id)
    data["actions"] = await service.actions_of(session=session, complaint_id=complaint.id)
    data["remedies"] = await service.remedies_of(session=session, complaint_id=complaint.id)
    return ComplaintDetail.model_validate(data)


@router.get("/complaints/{complaint_id}/timeline", summary="Every action on a complaint")
async def get_timeline(
    complaint_id: str,
    session: SessionDep,
    principal: CurrentPrincipal,
    visibility: Visibility | None = None,
) -> list[TimelineRead]:
    """The timeline; ``visibility=customer`` gives only what the customer was told."""
    complaint = await queries.load_complaint(session=session, principal=principal, complaint_id=complaint_id)
    rows = await service.timeline(session=session, complaint_id=complaint.id, visibility=visibility)
    return [TimelineRead.model_validate(r) for r in rows]


async def _act(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Principal,
    clock: ClockDep,
    complaint_id: str,
    action: Callable[[Complaint, datetime], Awaitable[Any]],
) -> dict[str, Any]:
    complaint = await queries.load_complaint(
        session=session, principal=principal, complaint_id=complaint_id, for_update=True
    )
    check_if_match(request, complaint.version)
    now = clock.now()
    await action(complaint, now)
    return _detail_response(response, complaint, now)


@router.post("/complaints/{complaint_id}/acknowledge", summary="First response to the customer")
async def acknowledge(
    complaint_id: str,
    body: AcknowledgeBody,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Writer,
    clock: ClockDep,
    rules: RulesDep,
) -> ComplaintRead:
    """new → acknowledged; stops the first-response timer."""

    async def run(c: Complaint, now: datetime) -> Any:
        return await service.acknowledge(
            session=session, complaint=c, actor=principal.user_id, now=now, rules=rules, message=body.message
        )

    return ComplaintRead.model_validate(await _act(request, response, session, principal, clock, complaint_id, run))


@router.post("/complaints/{complaint_id}/investigate", summary="Start (or return to) the investigation")
async def investigate(
    complaint_id: str,
    body: MessageBody,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Writer,
    clock: ClockDep,
    rules: RulesDep,
) -> ComplaintRead:
    """→ investigating."""

    async def run(c: Complaint, now: datetime) -> Any:
        return await service.start_investigation(
            session=session, complaint=c, actor=principal.user_id, now=now, rules=rules, note=body.message
        )

    return ComplaintRead.model_validate(await _act(request, response, session, principal, clock, complaint_id, run))


@router.post("/complaints/{complaint_id}/propose-solution", summary="Propose a solution to the customer")
async def propose_solution(
    complaint_id: str,
    body: AcknowledgeBody,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Writer,
    clock: ClockDep,
    rules: RulesDep,
) -> ComplaintRead:
    """→ solution_proposed (customer-visible)."""

    async def run(c: Complaint, now: datetime) -> Any:
        return await service.propose_solution(
            session=session, complaint=c, actor=principal.user_id, now=now, rules=rules, solution=body.message
        )

    return ComplaintRead.model_validate(await _act(request, response, session, principal, clock, complaint_id, run))


@router.post("/complaints/{complaint_id}/pause", summary="Pause the SLA while waiting on the customer")
async def pause(
    complaint_id: str,
    body: ReasonBody,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Writer,
    clock: ClockDep,
    rules: RulesDep,
) -> ComplaintRead:
    """Only in states that wait on the customer; the reason is logged."""

    async def run(c: Complaint, now: datetime) -> Any:
        return await service.pause(
            session=session, complaint=c, actor=principal.user_id, now=now, rules=rules, reason=body.reason
        )

    return ComplaintRead.model_validate(await _act(request, response, session, principal, clock, complaint_id, run))


@router.post("/complaints/{complaint_id}/resume", summary="Restart the paused SLA clock")
async def resume(
    complaint_id: str,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Writer,
    clock: ClockDep,
    rules: RulesDep,
) -> ComplaintRead:
    """The due times move by the paused time."""

    async def run(c: Complaint, now: datetime) -> Any:
        return await service.resume(session=session, complaint=c, actor=principal.user_id, now=now, rules=rules)

    return ComplaintRead.model_validate(await _act(request, response, session, principal, clock, complaint_id, run))


@router.post("/complaints/{complaint_id}/resolve", summary="Mark the complaint resolved")
async def resolve(
    complaint_id: str,
    body: AcknowledgeBody,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Writer,
    clock: ClockDep,
    rules: RulesDep,
) -> ComplaintRead:
    """→ resolved (customer-visible summary)."""

    async def run(c: Complaint, now: datetime) -> Any:
        return await service.resolve(
            session=session, complaint=c, actor=principal.user_id, now=now, rules=rules, summary=body.message
        )

    return ComplaintRead.model_validate(await _act(request, response, session, principal, clock, complaint_id, run))


@router.post("/complaints/{complaint_id}/revisit", summary="Record the revisit and satisfaction")
async def revisit(
    complaint_id: str,
    body: RevisitBody,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Writer,
    clock: ClockDep,
    rules: RulesDep,
) -> ComplaintRead:
    """resolved → revisited; low satisfaction reopens (or escalates, by configuration)."""

    async def run(c: Complaint, now: datetime) -> Any:
        return await service.record_revisit(
            session=session,
            complaint=c,
            actor=principal.user_id,
            now=now,
            rules=rules,
            satisfaction=body.satisfaction,
            comment=body.comment,
            waiver_reason=body.waiver_reason,
        )

    return ComplaintRead.model_validate(await _act(request, response, session, principal, clock, complaint_id, run))


@router.post("/complaints/{complaint_id}/close", summary="Close the loop")
async def close(
    complaint_id: str,
    body: MessageBody,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Writer,
    clock: ClockDep,
) -> ComplaintRead:
    """revisited → closed (publishes the satisfaction)."""

    async def run(c: Complaint, now: datetime) -> Any:
        return await service.close(session=session, complaint=c, actor=principal.user_id, now=now, note=body.message)

    return ComplaintRead.model_validate(await _act(request, response, session, principal, clock, complaint_id, run))


@router.post("/complaints/{complaint_id}/reopen", summary="Reopen a resolved or closed complaint")
async def reopen(
    complaint_id: str,
    body: ReasonBody,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Writer,
    clock: ClockDep,
    rules: RulesDep,
) -> ComplaintRead:
    """→ reopened; the resolution clock restarts; the Nth reopen escalates."""

    async def run(c: Complaint, now: datetime) -> Any:
        return await service.reopen(
            session=session, complaint=c, actor=principal.user_id, now=now, rules=rules, reason=body.reason
        )

    return ComplaintRead.model_validate(await _act(request, response, session, principal, clock, complaint_id, run))


@router.post("/complaints/{complaint_id}/escalate", summary="Escalate one level by hand")
async def escalate(
    complaint_id: str,
    body: ReasonBody,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Writer,
    clock: ClockDep,
    rules: RulesDep,
) -> ComplaintRead:
    """Owner → KA supervisor → director."""

    async def run(c: Complaint, now: datetime) -> Any:
        return await service.escalate_by_hand(
            session=session, complaint=c, actor=principal.user_id, now=now, rules=rules, reason=body.reason
        )

    return ComplaintRead.model_validate(await _act(request, response, session, principal, clock, complaint_id, run))


@router.post("/complaints/{complaint_id}/assign", summary="Hand the complaint to a new owner")
async def assign(
    complaint_id: str,
    body: AssignBody,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Writer,
    clock: ClockDep,
) -> ComplaintRead:
    """Exactly one owner at a time; the change is audited."""

    async def run(c: Complaint, now: datetime) -> Any:
        return await service.reassign(
            session=session, complaint=c, actor=principal.user_id, now=now, owner_id=body.owner_id, reason=body.reason
        )

    return ComplaintRead.model_validate(await _act(request, response, session, principal, clock, complaint_id, run))


@router.post("/complaints/{complaint_id}/notes", status_code=201, summary="Add an internal note or customer update")
async def add_note(
    complaint_id: str,
    body: NoteBody,
    session: SessionDep,
    principal: Writer,
    clock: ClockDep,
    rules: RulesDep,
) -> TimelineRead:
    """``visibility=customer`` counts as an update to the customer (restarts the update timer)."""
    complaint = await queries.load_complaint(session=session, principal=principal, complaint_id=complaint_id)
    entry = await service.add_note(
        session=session,
        complaint=complaint,
        actor=principal.user_id,
        now=clock.now(),
        rules=rules,
        body=body.body,
        visibility=body.visibility,
    )
    return TimelineRead.model_validate(entry)


@router.post("/complaints/{complaint_id}/tasks", status_code=201, summary="Give a department a task")
async def add_task(
    complaint_id: str, body: TaskCreate, session: SessionDep, principal: Writer, clock: ClockDep
) -> TaskRead:
    """A task-force task; its due date must be within the customer's resolution SLA."""
    complaint = await queries.load_complaint(session=session, principal=principal, complaint_id=complaint_id)
    task = await service.add_task(
        session=session, complaint=complaint, actor=principal.user_id, now=clock.now(), **body.model_dump()
    )
    return TaskRead.model_validate(task)


@router.patch("/complaints/{complaint_id}/tasks/{task_id}", summary="Mark a task done or open")
async def update_task(
    complaint_id: str, task_id: str, body: StatusBody, session: SessionDep, principal: Writer, clock: ClockDep
) -> TaskRead:
    """Task status."""
    complaint = await queries.load_complaint(session=session, principal=principal, complaint_id=complaint_id)
    task = await service.set_task_status(
        session=session,
        complaint=complaint,
        task_id=task_id,
        status=body.status,
        actor=principal.user_id,
        now=clock.now(),
    )
    return TaskRead.model_validate(task)


@router.put("/complaints/{complaint_id}/root-cause", summary="Record the root cause")
async def put_root_cause(
    complaint_id: str,
    body: RootCauseBody,
    response: Response,
    session: SessionDep,
    principal: Writer,
    clock: ClockDep,
) -> ComplaintRead:
    """Root cause: a category of the taxonomy and a description."""
    complaint = await queries.load_complaint(session=session, principal=principal, complaint_id=complaint_id)
    now = clock.now()
    await service.set_root_cause(
        session=session, complaint=complaint, actor=principal.user_id, now=now, **body.model_dump()
    )
    return ComplaintRead.model_validate(_detail_response(response, complaint, now))


@router.post("/complaints/{complaint_id}/actions", status_code=201, summary="Add a corrective or preventive action")
async def add_action(
    complaint_id: str, body: ActionCreate, session: SessionDep, principal: Writer, clock: ClockDep
) -> ActionRead:
    """An improvement action with owner and due date."""
    complaint = await queries.load_complaint(session=session, principal=principal, complaint_id=complaint_id)
    action = await service.add_action(
        session=session, complaint=complaint, actor=principal.user_id, now=clock.now(), **body.model_dump()
    )
    return ActionRead.model_validate(action)


@router.patch("/complaints/{complaint_id}/actions/{action_id}", summary="Track an action to done")
async def update_action(
    complaint_id: str, action_id: str, body: StatusBody, session: SessionDep, principal: Writer, clock: ClockDep
) -> ActionRead:
    """Action status."""
    complaint = await queries.load_complaint(session=session, principal=principal, complaint_id=complaint_id)
    action = await service.set_action_status(
        session=session,
        complaint=complaint,
        action_id=action_id,
        status=body.status,
        actor=principal.user_id,
        now=clock.now(),
    )
    return ActionRead.model_validate(action)


@router.post("/complaints/{complaint_id}/remedies", status_code=201, summary="Propose a goodwill remedy")
async def add_remedy(
    complaint_id: str, body: RemedyCreate, session: SessionDep, principal: Writer, clock: ClockDep
) -> RemedyRead:
    """A value-added service, discount … with its value (needs approval)."""
    complaint = await queries.load_complaint(session=session, principal=principal, complaint_id=complaint_id)
    remedy = await service.add_remedy(
        session=session, complaint=complaint, actor=principal.user_id, now=clock.now(), **body.model_dump()
    )
    return RemedyRead.model_validate(remedy)


@router.post("/complaints/{complaint_id}/remedies/{remedy_id}/decision", summary="Approve or reject a remedy")
async def decide_remedy(
    complaint_id: str,
    remedy_id: str,
    body: RemedyDecision,
    session: SessionDep,
    principal: Supervisor,
    clock: ClockDep,
) -> RemedyRead:
    """Supervisors approve goodwill (not the proposer)."""
    complaint = await queries.load_complaint(session=session, principal=principal, complaint_id=complaint_id)
    remedy = await service.decide_remedy(
        session=session,
        complaint=complaint,
        remedy_id=remedy_id,
        approve=body.approve,
        actor=principal.user_id,
        now=clock.now(),
    )
    return RemedyRead.model_validate(remedy)
