"""HTTP routes of survey templates (versioned) and schedules (tier × contact level × cadence), and the runs that
generate the requests they make due."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response

from services.complaints.deps import (
    Actor,
    Paging,
    ScheduleById,
    Supervisor,
    SurveyRulesDep,
    TemplateById,
    Writer,
)
from services.complaints.models import platform
from services.complaints.surveys import asking, queries, service
from services.complaints.surveys.schemas import (
    DeliveryNotice,
    GenerationResult,
    ScheduleCreate,
    ScheduleRead,
    ScheduleUpdate,
    TemplateCreate,
    TemplateRead,
    TemplateState,
    TemplateUpdate,
)
from shared.api import Page, check_if_match, set_etag
from shared.auth import ensure_account_access
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, SessionDep
from shared.vocabulary import TierCode

router = APIRouter(tags=["surveys"], responses=PROBLEM_RESPONSES)
CODE = Query(default=None, max_length=50)


@router.get("/complaints/surveys/templates", summary="List survey templates (every version)")
async def list_templates(
    session: SessionDep, _: Actor, page: Paging, code: str | None = CODE, state: TemplateState | None = None
) -> Page[TemplateRead]:
    """Templates by code, newest version first."""
    rows, total = await service.list_templates(session, page=page, code=code, state=state)
    return Page(items=[queries.template_read(t) for t in rows], total=total, limit=page.limit, offset=page.offset)


@router.post("/complaints/surveys/templates", status_code=201, summary="Create a survey template (a draft)")
async def create_template(body: TemplateCreate, session: SessionDep, actor: Supervisor, clock: ClockDep) -> Any:
    """Version 1 of a new code: NPS, CSAT and free questions in 中文 and English."""
    template = await service.create_template(session, body=body, actor=actor, now=clock.now())
    result = queries.template_read(template).model_dump(mode="json")
    return result


@router.get("/complaints/surveys/templates/{template_id}", summary="One survey template version")
async def get_template(template: TemplateById, _: Actor) -> TemplateRead:
    """The version with its questions."""
    return queries.template_read(template)


@router.patch("/complaints/surveys/templates/{template_id}", summary="Edit a template (published: a new version)")
async def update_template(
    template: TemplateById, body: TemplateUpdate, session: SessionDep, actor: Supervisor, clock: ClockDep
) -> TemplateRead:
    """A draft changes in place; a published version is never changed: the edit becomes the next draft version."""
    changed = await service.update_template(session, template=template, body=body, actor=actor, now=clock.now())
    return queries.template_read(changed)


@router.post("/complaints/surveys/templates/{template_id}/publish", summary="Publish a template version")
async def publish_template(template: TemplateById, session: SessionDep, _: Supervisor, clock: ClockDep) -> TemplateRead:
    """draft → published; the version published before is retired."""
    return queries.template_read(await service.publish_template(session, template=template, now=clock.now()))


@router.post("/complaints/surveys/templates/{template_id}/retire", summary="Retire a template version")
async def retire_template(template: TemplateById, session: SessionDep, _: Supervisor, clock: ClockDep) -> TemplateRead:
    """published → retired: no new survey uses it."""
    return queries.template_read(await service.retire_template(session, template=template, now=clock.now()))


@router.get("/complaints/surveys/schedules", summary="List survey schedules")
async def list_schedules(
    session: SessionDep, _: Actor, page: Paging, tier: TierCode | None = None, active: bool | None = None
) -> Page[ScheduleRead]:
    """Schedules by tier and contact level."""
    rows, total = await service.list_schedules(session, page=page, tier=tier, active=active)
    return Page(items=[queries.schedule_read(s) for s in rows], total=total, limit=page.limit, offset=page.offset)


@router.post("/complaints/surveys/schedules", status_code=201, summary="Create a survey schedule")
async def create_schedule(body: ScheduleCreate, session: SessionDep, actor: Supervisor, clock: ClockDep) -> Any:
    """e.g. strategic accounts: executives yearly, decision makers quarterly, execution level after each delivery."""
    schedule = await service.create_schedule(session, body=body, actor=actor, now=clock.now())
    result = queries.schedule_read(schedule).model_dump(mode="json")
    return result


@router.get("/complaints/surveys/schedules/{schedule_id}", summary="One survey schedule")
async def get_schedule(schedule: ScheduleById, response: Response, _: Actor) -> ScheduleRead:
    """The schedule (its version as ETag)."""
    set_etag(response, schedule.version)
    return queries.schedule_read(schedule)


@router.patch("/complaints/surveys/schedules/{schedule_id}", summary="Change or pause a survey schedule")
async def update_schedule(
    schedule: ScheduleById,
    body: ScheduleUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    _: Supervisor,
    clock: ClockDep,
) -> ScheduleRead:
    """Name, cadence, template or active (``If-Match`` refuses a stale write)."""
    check_if_match(request, schedule.version)
    changed = await service.update_schedule(session, schedule=schedule, body=body, now=clock.now())
    set_etag(response, changed.version)
    return queries.schedule_read(changed)


@router.post("/complaints/surveys/schedules/run", summary="Generate the survey requests due now")
async def run_schedules(
    session: SessionDep, actor: Supervisor, clock: ClockDep, rules: SurveyRulesDep
) -> GenerationResult:
    """What the periodic job does: one request per contact per schedule per period (running twice adds none)."""
    return await asking.generate_due_requests(session, now=clock.now(), rules=rules, actor_id=actor.user_id)


@router.post("/complaints/surveys/deliveries", summary="A delivery was made: ask its after-delivery surveys")
async def notify_delivery(
    body: DeliveryNotice, session: SessionDep, actor: Writer, clock: ClockDep
) -> GenerationResult:
    """The ``after_delivery`` schedules of the account's tier ask their contacts once per delivery."""
    account = await ensure_account_access(session, platform, actor, body.account_id, write=True)
    return await asking.ask_after_delivery(
        session, account=account, delivery_ref=body.delivery_ref, actor=actor, now=clock.now()
    )
