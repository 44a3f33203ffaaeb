"""HTTP routes of survey requests (by hand, their links, the owner's own entry, withdrawal), the results and the
follow-ups low scores raise."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from services.complaints.deps import (
    Actor,
    FollowUpForUpdate,
    Paging,
    RulesDep,
    SurveyRequestForRead,
    SurveyRequestForWrite,
    SurveyRulesDep,
    Writer,
)
from services.complaints.models import platform
from services.complaints.surveys import answers, asking, queries
from services.complaints.surveys.schemas import (
    AnswerBody,
    AnswerRead,
    ContactLevel,
    FollowUpDone,
    FollowUpRead,
    FollowUpState,
    LinkIssued,
    RequestCreate,
    RequestCreated,
    RequestKind,
    RequestRead,
    RequestState,
    ResultsQuery,
    ResultsRead,
)
from shared.api import Page
from shared.auth import ensure_account_access
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, PublisherDep, SessionDep

router = APIRouter(tags=["surveys"], responses=PROBLEM_RESPONSES)
Id = Annotated[str | None, Query(max_length=36)]
UserId = Annotated[str | None, Query(max_length=100)]


def request_filters(
    account_id: Id = None,
    state: RequestState | None = None,
    kind: RequestKind | None = None,
    contact_level: ContactLevel | None = None,
    schedule_id: Id = None,
    complaint_id: Id = None,
) -> dict[str, str | None]:
    """The request list's filters."""
    return {
        "account_id": account_id,
        "state": state,
        "kind": kind,
        "contact_level": contact_level,
        "schedule_id": schedule_id,
        "complaint_id": complaint_id,
    }


@router.get("/complaints/surveys/requests", summary="List survey requests")
async def list_requests(
    session: SessionDep, actor: Actor, page: Paging, filters: Annotated[dict[str, str | None], Depends(request_filters)]
) -> Page[RequestRead]:
    """Requests of the accounts the caller may see (account managers: their own), newest first."""
    rows, total = await queries.list_requests(session, actor=actor, page=page, filters=filters)
    return Page(items=[queries.request_read(r) for r in rows], total=total, limit=page.limit, offset=page.offset)


@router.post("/complaints/surveys/requests", status_code=201, summary="Ask a contact (or a revisit) by hand")
async def create_request(
    body: RequestCreate, session: SessionDep, actor: Writer, clock: ClockDep, rules: SurveyRulesDep
) -> Any:
    """A request with its link (the token is shown this once; send the link to the contact)."""
    await ensure_account_access(session, platform, actor, body.account_id, write=True)
    now = clock.now()
    asked = await asking.create_request(session, body=body, actor=actor, now=now, rules=rules)
    link = asking.issue_link(asked, now=now, rules=rules)
    result = RequestCreated(**queries.request_read(asked).model_dump(), link=link).model_dump(mode="json")
    return result


@router.get("/complaints/surveys/requests/{request_id}", summary="One survey request")
async def get_request(asked: SurveyRequestForRead) -> RequestRead:
    """The request and its state (never its link)."""
    return queries.request_read(asked)


@router.get("/complaints/surveys/requests/{request_id}/answer", summary="The answer to a survey request")
async def get_answer(asked: SurveyRequestForRead, session: SessionDep) -> AnswerRead:
    """The recorded answer (404 while none), marked customer or owner."""
    answer, follow_up = await queries.answer_of_request(session, request_id=asked.id)
    return queries.answer_read(answer, follow_up)


@router.post("/complaints/surveys/requests/{request_id}/link", summary="Issue a fresh link (the old one stops)")
async def issue_link(asked: SurveyRequestForWrite, clock: ClockDep, rules: SurveyRulesDep) -> LinkIssued:
    """A new single-use link for a pending request, valid for the configured days; its token is shown once."""
    return asking.issue_link(asked, now=clock.now(), rules=rules)


@router.post("/complaints/surveys/requests/{request_id}/answer", status_code=201, summary="Enter the answer yourself")
async def enter_answer(
    asked: SurveyRequestForWrite,
    body: AnswerBody,
    session: SessionDep,
    actor: Writer,
    clock: ClockDep,
    rules: RulesDep,
    survey_rules: SurveyRulesDep,
    publisher: PublisherDep,
) -> AnswerRead:
    """The owner's own entry of what the customer said (marked ``owner``); the link then stops working."""
    answer, follow_up = await answers.record_answer(
        session, request=asked, body=body, answered_by="owner", entered_by=actor.user_id, now=clock.now(),
        rules=rules, survey_rules=survey_rules, publisher=publisher,
    )  # fmt: skip
    return queries.answer_read(answer, follow_up)


@router.post("/complaints/surveys/requests/{request_id}/cancel", summary="Withdraw a survey request")
async def cancel_request(asked: SurveyRequestForWrite, _: Writer) -> RequestRead:
    """pending → cancelled: its link is refused from now on."""
    asking.move_request(asked, "cancelled")
    return queries.request_read(asked)


@router.get("/complaints/surveys/results", summary="NPS, CSAT and response rate per account, level and period")
async def results(
    session: SessionDep,
    actor: Actor,
    page: Paging,
    query: Annotated[ResultsQuery, Query()],
    rules: SurveyRulesDep,
) -> ResultsRead:
    """Results of the visible accounts' surveys (filter by account, contact level, kind, business dates), overall,
    by level, and per period newest first with the trend."""
    return await queries.survey_results(session, actor=actor, query=query, page=page, zone=rules.zone)


@router.get("/complaints/surveys/follow-ups", summary="Follow-ups raised by low scores")
async def list_follow_ups(
    session: SessionDep,
    actor: Actor,
    page: Paging,
    account_id: Id = None,
    owner_id: UserId = None,
    state: FollowUpState | None = None,
) -> Page[FollowUpRead]:
    """Follow-ups of the visible accounts, open first."""
    filters = {"account_id": account_id, "owner_id": owner_id, "state": state}
    rows, total = await queries.list_follow_ups(session, actor=actor, page=page, filters=filters)
    return Page(items=[queries.follow_up_read(f) for f in rows], total=total, limit=page.limit, offset=page.offset)


@router.post("/complaints/surveys/follow-ups/{follow_up_id}/done", summary="Mark a follow-up done")
async def complete_follow_up(
    follow_up: FollowUpForUpdate, body: FollowUpDone, session: SessionDep, actor: Writer, clock: ClockDep
) -> FollowUpRead:
    """open → done, saying what was done."""
    done = await answers.complete_follow_up(session, follow_up=follow_up, body=body, actor=actor, now=clock.now())
    return queries.follow_up_read(done)
