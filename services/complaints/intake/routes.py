"""HTTP routes of intake: register, list, read, timeline, notes, hand-over, escalation, the SLA check."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Response

from services.complaints.deps import (
    Actor,
    ComplaintForRead,
    ComplaintForUpdate,
    ComplaintForWrite,
    ListFilters,
    Paging,
    RulesDep,
    Supervisor,
    Writer,
)
from services.complaints.improvement.service import actions_of, remedies_of
from services.complaints.intake import escalation, queries, service, timeline
from services.complaints.intake.attachments import attachments_of
from services.complaints.intake.lifecycle import pauses_of, revisits_of
from services.complaints.intake.models import Complaint
from services.complaints.intake.queries import complaint_payload
from services.complaints.intake.schemas import (
    AssignBody,
    ComplaintCreate,
    ComplaintDetail,
    ComplaintRead,
    NoteBody,
    ReasonBody,
    SlaCheckResult,
    TimelineRead,
    Visibility,
)
from services.complaints.jobs import wake_stored_timers
from services.complaints.taskforce.service import task_reads
from shared.api import Page, parse_sort, set_etag
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, PublisherDep, SessionDep

router = APIRouter(tags=["complaints"], responses=PROBLEM_RESPONSES)


def read_with_etag(response: Response, complaint: Complaint, now: datetime) -> ComplaintRead:
    """The complaint as the API shows it at ``now``, its version exposed as ETag."""
    set_etag(response, complaint.version)
    return ComplaintRead.model_validate(complaint_payload(complaint, now))


@router.post("/complaints/sla/check", summary="Run the SLA timer check now")
async def run_sla_check(
    session: SessionDep, _: Supervisor, clock: ClockDep, rules: RulesDep, publisher: PublisherDep
) -> SlaCheckResult:
    """What the periodic job does: compare stored timers with the clock, warn, breach and escalate; overdue tasks
    and revisits due."""
    now = clock.now()
    counts = await wake_stored_timers(session, now=now, rules=rules, publisher=publisher)
    return SlaCheckResult(checked_at=now, counts=counts)


@router.post("/complaints", status_code=201, summary="Register a complaint", response_model=ComplaintRead)
async def create_complaint(
    body: ComplaintCreate,
    response: Response,
    session: SessionDep,
    actor: Writer,
    clock: ClockDep,
    rules: RulesDep,
    publisher: PublisherDep,
) -> Any:
    """Intake: the account's owner becomes the one owner unless another is named; timers start now."""
    now = clock.now()
    complaint = await service.open_complaint(session, body=body, actor=actor, now=now, rules=rules, publisher=publisher)
    result = ComplaintRead.model_validate(complaint_payload(complaint, now)).model_dump(mode="json")
    set_etag(response, complaint.version)
    response.headers["Location"] = f"/complaints/{complaint.id}"
    return result


@router.get("/complaints", summary="List complaints")
async def list_complaints(
    session: SessionDep,
    actor: Actor,
    clock: ClockDep,
    page: Paging,
    filters: ListFilters,
    sla: str | None = Query(default=None, pattern="^(ok|warning|breached|paused)$"),
    sort: str | None = Query(default=None, description="e.g. -opened_at, resolution_due_at"),
) -> Page[ComplaintRead]:
    """Visible complaints (account managers: their accounts only), filtered and sorted."""
    order = parse_sort(sort, queries.SORTABLE, "-opened_at")
    items, total = await queries.list_complaints(
        session, actor=actor, now=clock.now(), page=page, sort=order, filters=filters, sla_state=sla
    )
    return Page[ComplaintRead](
        items=[ComplaintRead.model_validate(i) for i in items], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/complaints/{complaint_id}", summary="One complaint with its task force and history")
async def get_complaint(
    complaint: ComplaintForRead, response: Response, session: SessionDep, clock: ClockDep
) -> ComplaintDetail:
    """The complaint, its SLA state, tasks, escalations, revisits, pauses, actions and remedies."""
    set_etag(response, complaint.version)
    now = clock.now()
    data = complaint_payload(complaint, now)
    data["tasks"] = await task_reads(session, complaint_id=complaint.id, now=now)
    data["overdue_task_count"] = sum(1 for task in data["tasks"] if task.overdue)
    data["escalations"] = await escalation.escalations_of(session, complaint_id=complaint.id)
    data["revisits"] = await revisits_of(session, complaint_id=complaint.id)
    data["pauses"] = await pauses_of(session, complaint_id=complaint.id)
    data["actions"] = await actions_of(session, complaint_id=complaint.id)
    data["remedies"] = await remedies_of(session, complaint_id=complaint.id)
    data["files"] = await attachments_of(session, complaint_id=complaint.id)
    return ComplaintDetail.model_validate(data)


@router.get("/complaints/{complaint_id}/timeline", summary="Every action on a complaint")
async def get_timeline(
    complaint: ComplaintForRead, session: SessionDep, visibility: Visibility | None = None
) -> list[TimelineRead]:
    """The timeline; ``visibility=customer`` gives only what the customer was told."""
    rows = await timeline.timeline(session, complaint_id=complaint.id, visibility=visibility)
    return [TimelineRead.model_validate(r) for r in rows]


@router.post("/complaints/{complaint_id}/escalate", summary="Escalate one level by hand")
async def escalate(
    complaint: ComplaintForUpdate,
    body: ReasonBody,
    response: Response,
    session: SessionDep,
    actor: Writer,
    clock: ClockDep,
    rules: RulesDep,
    publisher: PublisherDep,
) -> ComplaintRead:
    """One rung up the tier's ladder; at the top (or with no fit rung above) a 409."""
    now = clock.now()
    await escalation.escalate_by_hand(
        session, complaint=complaint, body=body, actor=actor, now=now, rules=rules, publisher=publisher
    )
    return read_with_etag(response, complaint, now)


@router.post("/complaints/{complaint_id}/assign", summary="Hand the complaint to a new owner")
async def assign(
    complaint: ComplaintForUpdate,
    body: AssignBody,
    response: Response,
    session: SessionDep,
    actor: Writer,
    clock: ClockDep,
    publisher: PublisherDep,
) -> ComplaintRead:
    """Exactly one owner at a time; the change is audited and published (``complaints.assigned``)."""
    now = clock.now()
    await service.reassign(session, complaint=complaint, body=body, actor=actor, now=now, publisher=publisher)
    return read_with_etag(response, complaint, now)


@router.post("/complaints/{complaint_id}/notes", status_code=201, summary="Add an internal note or customer update")
async def add_note(
    complaint: ComplaintForWrite, body: NoteBody, session: SessionDep, actor: Writer, clock: ClockDep, rules: RulesDep
) -> TimelineRead:
    """``visibility=customer`` counts as an update to the customer (restarts the update timer)."""
    entry = await service.add_note(session, complaint=complaint, body=body, actor=actor, now=clock.now(), rules=rules)
    return TimelineRead.model_validate(entry)
