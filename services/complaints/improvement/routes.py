"""HTTP routes of improvement: root cause, actions, remedies, and the analytics with its CSV export."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints.deps import (
    ActionForUpdate,
    Actor,
    AnalyticsFilters,
    ComplaintForApproval,
    ComplaintForUpdate,
    ComplaintForWrite,
    RemedyForDecision,
    RulesDep,
    Supervisor,
    Writer,
)
from services.complaints.improvement import analytics, export, report, service
from services.complaints.improvement.schemas import (
    ActionCreate,
    ActionRead,
    ActionStatusBody,
    ActionVerification,
    RemedyCreate,
    RemedyDecision,
    RemedyRead,
    RootCauseBody,
)
from services.complaints.intake.routes import read_with_etag
from services.complaints.intake.schemas import ComplaintFilters, ComplaintRead
from services.complaints.rules import Rules
from shared.auth import Principal
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, SessionDep

router = APIRouter(tags=["complaints"], responses=PROBLEM_RESPONSES)


@router.get("/complaints/analytics", summary="Complaint analytics", response_model=dict[str, Any])
async def get_analytics(session: SessionDep, actor: Actor, filters: AnalyticsFilters, rules: RulesDep) -> Response:
    """Counts, SLA compliance, times to respond and resolve (paused time excluded), reopen rate, satisfaction;
    months are business months in the company's zone."""
    figures = await report.complaint_report(session, actor=actor, filters=filters, zone=rules.zone)
    # Plain JSON values already: written at once (a portfolio's report names every account it counted)
    return Response(orjson.dumps(figures), media_type="application/json")


@router.get(
    "/complaints/analytics/export.csv",
    summary="Complaint analytics as CSV",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
async def export_analytics(session: SessionDep, actor: Actor, filters: AnalyticsFilters, rules: RulesDep) -> Response:
    """The same figures as ``/complaints/analytics``, one per row (no cell a spreadsheet would run)."""
    report_ = await report.complaint_report(session, actor=actor, filters=filters, zone=rules.zone)
    body = analytics.analytics_csv(report_)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="complaints-analytics.csv"'},
    )


@router.get(
    "/complaints/analytics/complaints.csv",
    summary="Per-complaint export as CSV (UTF-8 with BOM, 中文 headers)",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
async def export_complaints_csv(
    session: SessionDep, actor: Actor, filters: AnalyticsFilters, rules: RulesDep
) -> Response:
    """One row per visible complaint opened in ``[from, to)``, as Excel opens it (BOM, 中文 labels)."""
    body = export.complaints_csv(await _complaint_rows(session, actor, filters, rules))
    return Response(
        body.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="complaints.csv"'},
    )


@router.get(
    "/complaints/analytics/complaints.xlsx",
    summary="Per-complaint export as XLSX (中文 headers)",
    response_class=Response,
    responses={200: {"content": {export.XLSX_MEDIA_TYPE: {}}}},
)
async def export_complaints_xlsx(
    session: SessionDep, actor: Actor, filters: AnalyticsFilters, rules: RulesDep
) -> Response:
    """The per-complaint export as an Excel workbook (one sheet, ``投诉明细``)."""
    body = export.complaints_xlsx(await _complaint_rows(session, actor, filters, rules))
    return Response(
        body,
        media_type=export.XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="complaints.xlsx"'},
    )


async def _complaint_rows(
    session: AsyncSession, actor: Principal, filters: ComplaintFilters, rules: Rules
) -> list[list[Any]]:
    facts = await service.analytics_facts(session, actor=actor, filters=filters)
    names = await service.analytics_names(session, facts)
    return export.complaint_rows(facts, zone=rules.zone, names=names)


@router.put("/complaints/{complaint_id}/root-cause", summary="Record the root cause")
async def put_root_cause(
    complaint: ComplaintForUpdate,
    body: RootCauseBody,
    response: Response,
    session: SessionDep,
    actor: Writer,
    clock: ClockDep,
) -> ComplaintRead:
    """Root cause: a category of the taxonomy and a description (``If-Match`` with the complaint's ETag)."""
    now = clock.now()
    await service.set_root_cause(session, complaint=complaint, body=body, actor=actor, now=now)
    return read_with_etag(response, complaint, now)


@router.post("/complaints/{complaint_id}/actions", status_code=201, summary="Add a corrective or preventive action")
async def add_action(
    complaint: ComplaintForWrite, body: ActionCreate, session: SessionDep, actor: Writer, clock: ClockDep
) -> ActionRead:
    """An improvement action with owner and due date."""
    action = await service.add_action(session, complaint=complaint, body=body, actor=actor, now=clock.now())
    return ActionRead.model_validate(action)


@router.patch("/complaints/{complaint_id}/actions/{action_id}", summary="Track an action to done")
async def update_action(
    complaint: ComplaintForWrite,
    action: ActionForUpdate,
    body: ActionStatusBody,
    session: SessionDep,
    actor: Writer,
    clock: ClockDep,
) -> ActionRead:
    """Action status: open or done (a done action counts once its verification found it effective)."""
    await service.set_action_status(
        session, complaint=complaint, action=action, body=body, actor=actor, now=clock.now()
    )
    return ActionRead.model_validate(action)


@router.post("/complaints/{complaint_id}/actions/{action_id}/verification", summary="Verify a done action")
async def verify_action(
    complaint: ComplaintForWrite,
    action: ActionForUpdate,
    body: ActionVerification,
    session: SessionDep,
    actor: Writer,
    clock: ClockDep,
) -> ActionRead:
    """Effective → verified (now it counts as done); not effective → open again. Not by the action's owner."""
    await service.verify_action(session, complaint=complaint, action=action, body=body, actor=actor, now=clock.now())
    return ActionRead.model_validate(action)


@router.post("/complaints/{complaint_id}/remedies", status_code=201, summary="Propose a goodwill remedy")
async def add_remedy(
    complaint: ComplaintForWrite, body: RemedyCreate, session: SessionDep, actor: Writer, clock: ClockDep
) -> RemedyRead:
    """A value-added service, discount … with its value (needs approval)."""
    remedy = await service.add_remedy(session, complaint=complaint, body=body, actor=actor, now=clock.now())
    return RemedyRead.model_validate(remedy)


@router.post("/complaints/{complaint_id}/remedies/{remedy_id}/decision", summary="Approve or reject a remedy")
async def decide_remedy(
    complaint: ComplaintForApproval,
    remedy: RemedyForDecision,
    body: RemedyDecision,
    session: SessionDep,
    actor: Supervisor,
    clock: ClockDep,
    rules: RulesDep,
) -> RemedyRead:
    """Supervisors approve goodwill (not the proposer); above the approver's limit for the currency a second,
    different approver decides (``awaiting_second`` until then)."""
    await service.decide_remedy(
        session,
        complaint=complaint,
        remedy=remedy,
        body=body,
        actor=actor,
        now=clock.now(),
        limits=rules.remedy_approval_limits,
    )
    return RemedyRead.model_validate(remedy)
