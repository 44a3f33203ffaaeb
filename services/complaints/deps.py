"""Request dependencies: the acting user, the rules, and the objects loaded and access-checked once (404 here)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints.calendars.models import CalendarYearRow
from services.complaints.calendars.schemas import CalendarCodePath, YearPath
from services.complaints.improvement.models import ImprovementAction, Remedy
from services.complaints.intake.models import Complaint
from services.complaints.intake.schemas import ComplaintFilters, StateName
from services.complaints.labels import Channel
from services.complaints.models import platform
from services.complaints.reference.schemas import CATEGORY_PATTERN
from services.complaints.rules import Rules
from services.complaints.surveys.models import SurveyFollowUp, SurveyRequest, SurveySchedule, SurveyTemplate
from services.complaints.surveys.policy import SurveyRules
from services.complaints.taskforce.models import TaskForceTask
from shared.api import Instant, PageParams, check_if_match, check_if_match_upsert, check_range, page_params
from shared.auth import (
    ACCOUNT_MANAGER,
    SERVICE,
    SUPERVISOR,
    SURVEY_RESPONDER,
    CurrentPrincipal,
    Principal,
    can_access_account,
    ensure_account_access,
    require_roles,
)
from shared.errors import Forbidden, NotFound
from shared.service import SessionDep
from shared.vocabulary import Severity

# The acting user: anyone authenticated reads; writers change complaints; supervisors keep the reference data.
Actor = CurrentPrincipal
Writer = Annotated[Principal, Depends(require_roles(SUPERVISOR, ACCOUNT_MANAGER, SERVICE))]
Supervisor = Annotated[Principal, Depends(require_roles(SUPERVISOR))]
Paging = Annotated[PageParams, Depends(page_params)]

# Ids this service makes are UUIDs: anything else in a path is a 422, never a lookup.
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
ComplaintId = Annotated[str, Path(pattern=UUID_PATTERN, description="Complaint id (UUID)")]
TaskId = Annotated[str, Path(pattern=UUID_PATTERN, description="Task id (UUID)")]
ActionId = Annotated[str, Path(pattern=UUID_PATTERN, description="Action id (UUID)")]
RemedyId = Annotated[str, Path(pattern=UUID_PATTERN, description="Remedy id (UUID)")]
AccountId = Annotated[str, Path(min_length=1, max_length=36, description="Account id")]


def get_rules(request: Request) -> Rules:
    """The closed-loop rules and business calendar built at start-up."""
    rules: Rules = request.app.state.complaint_rules
    return rules


RulesDep = Annotated[Rules, Depends(get_rules)]


async def _load_complaint(
    session: AsyncSession, *, actor: Principal, complaint_id: str, for_update: bool = False
) -> Complaint:
    """A complaint the actor may see (404 otherwise, also for other managers' accounts)."""
    query = select(Complaint).where(Complaint.id == complaint_id)
    if for_update and session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    complaint = (await session.execute(query)).scalars().first()
    if complaint is None or not await can_access_account(session, platform, actor, complaint.account_id):
        raise NotFound(f"Complaint {complaint_id} not found")
    return complaint


async def complaint_for_read(complaint_id: ComplaintId, session: SessionDep, actor: Actor) -> Complaint:
    """A complaint the caller may see."""
    return await _load_complaint(session, actor=actor, complaint_id=complaint_id)


async def complaint_for_write(complaint_id: ComplaintId, session: SessionDep, actor: Writer) -> Complaint:
    """A complaint a writer may add to (notes, tasks, improvement) — 403 for read-only roles first."""
    return await _load_complaint(session, actor=actor, complaint_id=complaint_id)


async def complaint_for_update(
    complaint_id: ComplaintId, request: Request, session: SessionDep, actor: Writer
) -> Complaint:
    """A complaint a writer changes the state of: row-locked on PostgreSQL, stale ``If-Match`` refused (412)."""
    complaint = await _load_complaint(session, actor=actor, complaint_id=complaint_id, for_update=True)
    check_if_match(request, complaint.version)
    return complaint


async def complaint_for_approval(complaint_id: ComplaintId, session: SessionDep, actor: Supervisor) -> Complaint:
    """A complaint a supervisor decides on (remedy approval)."""
    return await _load_complaint(session, actor=actor, complaint_id=complaint_id)


ComplaintForRead = Annotated[Complaint, Depends(complaint_for_read)]
ComplaintForWrite = Annotated[Complaint, Depends(complaint_for_write)]
ComplaintForUpdate = Annotated[Complaint, Depends(complaint_for_update)]
ComplaintForApproval = Annotated[Complaint, Depends(complaint_for_approval)]


async def task_for_update(task_id: TaskId, complaint: ComplaintForWrite, session: SessionDep) -> TaskForceTask:
    """A task of the complaint in the path (404 for another complaint's task)."""
    task = await session.get(TaskForceTask, task_id)
    if task is None or task.complaint_id != complaint.id:
        raise NotFound(f"Task {task_id} not found")
    return task


async def action_for_update(
    action_id: ActionId, complaint: ComplaintForWrite, session: SessionDep
) -> ImprovementAction:
    """An improvement action of the complaint in the path."""
    action = await session.get(ImprovementAction, action_id)
    if action is None or action.complaint_id != complaint.id:
        raise NotFound(f"Action {action_id} not found")
    return action


async def remedy_for_decision(remedy_id: RemedyId, complaint: ComplaintForApproval, session: SessionDep) -> Remedy:
    """A remedy of the complaint in the path, for a supervisor's decision."""
    remedy = await session.get(Remedy, remedy_id)
    if remedy is None or remedy.complaint_id != complaint.id:
        raise NotFound(f"Remedy {remedy_id} not found")
    return remedy


TaskForUpdate = Annotated[TaskForceTask, Depends(task_for_update)]
ActionForUpdate = Annotated[ImprovementAction, Depends(action_for_update)]
RemedyForDecision = Annotated[Remedy, Depends(remedy_for_decision)]


async def account_for_read(account_id: AccountId, session: SessionDep, actor: Actor) -> dict[str, Any]:
    """The account's projection row if the caller may see it (404 otherwise)."""
    return await ensure_account_access(session, platform, actor, account_id)


AccountForRead = Annotated[dict[str, Any], Depends(account_for_read)]


def list_filters(
    account_id: Annotated[str | None, Query(max_length=36)] = None,
    state: StateName | None = None,
    severity: Severity | None = None,
    category: Annotated[str | None, Query(pattern=CATEGORY_PATTERN, description="With its sub-categories")] = None,
    owner_id: Annotated[str | None, Query(max_length=100)] = None,
    channel: Channel | None = None,
    escalation_level: Annotated[int | None, Query(ge=0, le=20)] = None,
) -> ComplaintFilters:
    """The list's filters from the query string."""
    return ComplaintFilters(
        account_id=account_id,
        state=state,
        severity=severity,
        category=category,
        owner_id=owner_id,
        channel=channel,
        escalation_level=escalation_level,
    )


def analytics_filters(
    opened_from: Annotated[Instant | None, Query(alias="from", description="opened_at from (offset required)")] = None,
    opened_to: Annotated[Instant | None, Query(alias="to", description="opened_at before (offset required)")] = None,
    account_id: Annotated[str | None, Query(max_length=36)] = None,
) -> ComplaintFilters:
    """The analytics period (``opened_at`` in ``[from, to)``) and account from the query string (from ≤ to)."""
    check_range(opened_from, opened_to)
    return ComplaintFilters(account_id=account_id, opened_from=opened_from, opened_to=opened_to)


async def calendar_year_for_read(
    code: CalendarCodePath, year: YearPath, session: SessionDep, _: Actor
) -> CalendarYearRow:
    """A stored calendar year (404 when the year has no data: it counts weekdays only)."""
    row = await session.get(CalendarYearRow, (code, year))
    if row is None:
        raise NotFound(f"Calendar {code} has no data for {year} (its weekdays count as working days)")
    return row


async def calendar_year_for_upsert(
    code: CalendarCodePath, year: YearPath, request: Request, session: SessionDep, _: Supervisor
) -> CalendarYearRow | None:
    """The stored year a supervisor replaces (None when new): ``If-Match`` required to replace one (428 without, 412
    when stale), none to add a new year."""
    row = await session.get(CalendarYearRow, (code, year))
    check_if_match_upsert(request, row.version if row is not None else None)
    return row


CalendarYearForRead = Annotated[CalendarYearRow, Depends(calendar_year_for_read)]
CalendarYearForUpsert = Annotated[CalendarYearRow | None, Depends(calendar_year_for_upsert)]


ListFilters = Annotated[ComplaintFilters, Depends(list_filters)]
AnalyticsFilters = Annotated[ComplaintFilters, Depends(analytics_filters)]


# ---------------------------------------------------------------- satisfaction surveys

SurveyId = Annotated[str, Path(pattern=UUID_PATTERN, description="Survey object id (UUID)")]
# The customer link's token as the gateway passes it on (anything malformed is simply unknown: 404 below).
LinkToken = Annotated[str, Path(min_length=1, max_length=100, description="The survey link's token")]


def get_survey_rules(request: Request) -> SurveyRules:
    """The survey rules built at start-up."""
    rules: SurveyRules = request.app.state.survey_rules
    return rules


async def survey_responder(principal: CurrentPrincipal) -> Principal:
    """The gateway's survey page and nobody else (not even admin): the one role its short-lived token carries."""
    if SURVEY_RESPONDER not in principal.roles:
        raise Forbidden("Only the survey page may answer through a survey link")
    return principal


SurveyRulesDep = Annotated[SurveyRules, Depends(get_survey_rules)]
Responder = Annotated[Principal, Depends(survey_responder)]


async def survey_template(template_id: SurveyId, session: SessionDep) -> SurveyTemplate:
    """A template version (404)."""
    template = await session.get(SurveyTemplate, template_id)
    if template is None:
        raise NotFound(f"Survey template {template_id} not found")
    return template


async def survey_schedule(schedule_id: SurveyId, session: SessionDep) -> SurveySchedule:
    """A schedule (404)."""
    schedule = await session.get(SurveySchedule, schedule_id)
    if schedule is None:
        raise NotFound(f"Survey schedule {schedule_id} not found")
    return schedule


async def _survey_request(session: AsyncSession, actor: Principal, request_id: str) -> SurveyRequest:
    row = await session.get(SurveyRequest, request_id)
    if row is None or not await can_access_account(session, platform, actor, row.account_id):
        raise NotFound(f"Survey request {request_id} not found")
    return row


async def survey_request_for_read(request_id: SurveyId, session: SessionDep, actor: Actor) -> SurveyRequest:
    """A request of an account the caller may see (404 otherwise)."""
    return await _survey_request(session, actor, request_id)


async def survey_request_for_write(request_id: SurveyId, session: SessionDep, actor: Writer) -> SurveyRequest:
    """A request a writer may act on (link, owner's entry, cancel)."""
    return await _survey_request(session, actor, request_id)


async def follow_up_for_update(follow_up_id: SurveyId, session: SessionDep, actor: Writer) -> SurveyFollowUp:
    """A follow-up of an account the writer may see (404 otherwise)."""
    row = await session.get(SurveyFollowUp, follow_up_id)
    if row is None or not await can_access_account(session, platform, actor, row.account_id):
        raise NotFound(f"Survey follow-up {follow_up_id} not found")
    return row


TemplateById = Annotated[SurveyTemplate, Depends(survey_template)]
ScheduleById = Annotated[SurveySchedule, Depends(survey_schedule)]
SurveyRequestForRead = Annotated[SurveyRequest, Depends(survey_request_for_read)]
SurveyRequestForWrite = Annotated[SurveyRequest, Depends(survey_request_for_write)]
FollowUpForUpdate = Annotated[SurveyFollowUp, Depends(follow_up_for_update)]
