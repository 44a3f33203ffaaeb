"""HTTP routes of the closed loop: one POST per move (``If-Match`` honoured, 409 for a move not allowed)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from services.complaints.deps import ComplaintForUpdate, RulesDep, Writer
from services.complaints.intake import lifecycle
from services.complaints.intake.routes import read_with_etag
from services.complaints.intake.schemas import (
    AcknowledgeBody,
    CloseBody,
    ComplaintRead,
    MessageBody,
    ReasonBody,
    RevisitBody,
)
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, PublisherDep, SessionDep

router = APIRouter(tags=["complaints"], responses=PROBLEM_RESPONSES)


@router.post("/complaints/{complaint_id}/acknowledge", summary="First response to the customer")
async def acknowledge(
    complaint: ComplaintForUpdate,
    body: AcknowledgeBody,
    response: Response,
    session: SessionDep,
    actor: Writer,
    clock: ClockDep,
    rules: RulesDep,
    publisher: PublisherDep,
) -> ComplaintRead:
    """new → acknowledged; stops the first-response timer."""
    now = clock.now()
    await lifecycle.acknowledge(
        session, complaint=complaint, body=body, actor=actor, now=now, rules=rules, publisher=publisher
    )
    return read_with_etag(response, complaint, now)


@router.post("/complaints/{complaint_id}/investigate", summary="Start (or return to) the investigation")
async def investigate(
    complaint: ComplaintForUpdate,
    body: MessageBody,
    response: Response,
    session: SessionDep,
    actor: Writer,
    clock: ClockDep,
    rules: RulesDep,
) -> ComplaintRead:
    """→ investigating."""
    now = clock.now()
    await lifecycle.start_investigation(session, complaint=complaint, body=body, actor=actor, now=now, rules=rules)
    return read_with_etag(response, complaint, now)


@router.post("/complaints/{complaint_id}/propose-solution", summary="Propose a solution to the customer")
async def propose_solution(
    complaint: ComplaintForUpdate,
    body: AcknowledgeBody,
    response: Response,
    session: SessionDep,
    actor: Writer,
    clock: ClockDep,
    rules: RulesDep,
) -> ComplaintRead:
    """→ solution_proposed (customer-visible)."""
    now = clock.now()
    await lifecycle.propose_solution(session, complaint=complaint, body=body, actor=actor, now=now, rules=rules)
    return read_with_etag(response, complaint, now)


@router.post("/complaints/{complaint_id}/pause", summary="Pause the SLA while waiting on the customer")
async def pause(
    complaint: ComplaintForUpdate,
    body: ReasonBody,
    response: Response,
    session: SessionDep,
    actor: Writer,
    clock: ClockDep,
    rules: RulesDep,
) -> ComplaintRead:
    """Only in states that wait on the customer; the reason is logged."""
    now = clock.now()
    await lifecycle.pause(session, complaint=complaint, body=body, actor=actor, now=now, rules=rules)
    return read_with_etag(response, complaint, now)


@router.post("/complaints/{complaint_id}/resume", summary="Restart the paused SLA clock")
async def resume(
    complaint: ComplaintForUpdate,
    response: Response,
    session: SessionDep,
    actor: Writer,
    clock: ClockDep,
    rules: RulesDep,
) -> ComplaintRead:
    """The due times move by the paused time."""
    now = clock.now()
    await lifecycle.resume(session, complaint=complaint, actor=actor, now=now, rules=rules)
    return read_with_etag(response, complaint, now)


@router.post("/complaints/{complaint_id}/resolve", summary="Mark the complaint resolved")
async def resolve(
    complaint: ComplaintForUpdate,
    body: AcknowledgeBody,
    response: Response,
    session: SessionDep,
    actor: Writer,
    clock: ClockDep,
    rules: RulesDep,
    publisher: PublisherDep,
) -> ComplaintRead:
    """→ resolved (customer-visible summary)."""
    now = clock.now()
    await lifecycle.resolve(
        session, complaint=complaint, body=body, actor=actor, now=now, rules=rules, publisher=publisher
    )
    return read_with_etag(response, complaint, now)


@router.post("/complaints/{complaint_id}/revisit", summary="Record the revisit and satisfaction")
async def revisit(
    complaint: ComplaintForUpdate,
    body: RevisitBody,
    response: Response,
    session: SessionDep,
    actor: Writer,
    clock: ClockDep,
    rules: RulesDep,
    publisher: PublisherDep,
) -> ComplaintRead:
    """resolved → revisited; low satisfaction reopens (or escalates, by configuration)."""
    now = clock.now()
    await lifecycle.record_revisit(
        session, complaint=complaint, body=body, actor=actor, now=now, rules=rules, publisher=publisher
    )
    return read_with_etag(response, complaint, now)


@router.post("/complaints/{complaint_id}/close", summary="Close the loop")
async def close(
    complaint: ComplaintForUpdate,
    body: CloseBody,
    response: Response,
    session: SessionDep,
    actor: Writer,
    clock: ClockDep,
    publisher: PublisherDep,
) -> ComplaintRead:
    """revisited → closed (publishes the satisfaction); open tasks, unverified actions or undecided remedies need
    a supervisor's ``override: {reason}`` (audited), else 409 naming them."""
    now = clock.now()
    await lifecycle.close(
        session, complaint=complaint, body=body, actor=actor, now=now, publisher=publisher, override=body.override
    )
    return read_with_etag(response, complaint, now)


@router.post("/complaints/{complaint_id}/reopen", summary="Reopen a resolved or closed complaint")
async def reopen(
    complaint: ComplaintForUpdate,
    body: ReasonBody,
    response: Response,
    session: SessionDep,
    actor: Writer,
    clock: ClockDep,
    rules: RulesDep,
    publisher: PublisherDep,
) -> ComplaintRead:
    """→ reopened; the resolution clock restarts; the Nth reopen escalates."""
    now = clock.now()
    await lifecycle.reopen(
        session, complaint=complaint, body=body, actor=actor, now=now, rules=rules, publisher=publisher
    )
    return read_with_etag(response, complaint, now)
