"""HTTP routes of the registry's reviews: possible duplicates before registering, an account's field history, and
the change requests of self-reported score inputs (proposed, listed, approved or rejected by a KA supervisor)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from services.scoring.contacts import level_review
from services.scoring.contacts.schemas import LevelReviewItem, LevelReviewQuery
from services.scoring.deps import UUID_PATTERN, AccountForRead, AccountForUpdate, Actor, At, Paging, Supervisor
from services.scoring.models import platform
from services.scoring.registry import change_requests, duplicates, field_history, service
from services.scoring.registry.models import AccountChangeRequest
from services.scoring.registry.schemas import (
    ChangeRequestApproval,
    ChangeRequestCreate,
    ChangeRequestQuery,
    ChangeRequestRead,
    ChangeRequestRejection,
    DuplicateCheck,
    DuplicateCheckRead,
    FieldChangeRead,
    HistoryField,
)
from shared.api import Page, set_etag
from shared.errors import PROBLEM_RESPONSES
from shared.service import PublisherDep, SessionDep

router = APIRouter(responses=PROBLEM_RESPONSES)
ACCOUNTS: list[str | Enum] = ["accounts"]
ChangeRequestId = Annotated[str, Path(pattern=UUID_PATTERN, description="The change request's id (a UUID)")]


async def change_request_for(
    change_request_id: ChangeRequestId, account: AccountForRead, session: SessionDep
) -> AccountChangeRequest:
    """A change request of the account in the path the actor may see (404 otherwise)."""
    return await change_requests.get_request(session, account_id=account.id, request_id=change_request_id)


ChangeRequestForRead = Annotated[AccountChangeRequest, Depends(change_request_for)]


def pending_response(read: ChangeRequestRead, account_version: int) -> JSONResponse:
    """202: the score inputs wait for a supervisor (the request, where to follow it, the account's ETag)."""
    response = JSONResponse(jsonable_encoder(read), status_code=202)
    response.headers["Location"] = f"/accounts/{read.account_id}/change-requests/{read.id}"
    set_etag(response, account_version)
    return response


async def _read(session: SessionDep, request: AccountChangeRequest) -> ChangeRequestRead:
    (read,) = await change_requests.request_reads(session, requests=[request])
    return read


@router.post(
    "/accounts/duplicate-check",
    response_model=DuplicateCheckRead,
    tags=ACCOUNTS,
    summary="Possible duplicates of a company before registering it",
)
async def check_duplicates(body: DuplicateCheck, session: SessionDep, actor: Actor) -> DuplicateCheckRead:
    """Registered accounts with the same name (normalised) or the same credit-code family; those the caller may
    not see are only counted, with the reason."""
    code = service.normalised_credit_code(body.credit_code)
    found = await duplicates.find_duplicates(
        session, platform, actor=actor, name=body.name, name_en=body.name_en, credit_code=code
    )
    return DuplicateCheckRead(likely_duplicate=bool(found), **duplicates.described(found))


@router.get(
    "/accounts/change-requests",
    response_model=Page[ChangeRequestRead],
    tags=ACCOUNTS,
    summary="Change requests of score inputs (pending by default)",
)
async def list_change_requests(
    session: SessionDep, actor: Actor, page: Paging, query: Annotated[ChangeRequestQuery, Query()]
) -> Page[ChangeRequestRead]:
    """The supervisors' queue, oldest first: requests on accounts the caller sees (``status`` pending by default)."""
    rows, total = await change_requests.list_requests(session, platform, actor=actor, query=query, page=page)
    items = await change_requests.request_reads(session, requests=rows)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/accounts/level-reviews",
    response_model=Page[LevelReviewItem],
    tags=ACCOUNTS,
    summary="Contact levels account managers reported, awaiting a supervisor (pending by default)",
)
async def list_level_reviews(
    session: SessionDep, actor: Actor, page: Paging, query: Annotated[LevelReviewQuery, Query()]
) -> Page[LevelReviewItem]:
    """The supervisors' queue, oldest report first: active contacts and held engagements on accounts the caller
    sees whose level awaits confirmation (``status``), with whether confirming would raise the level that counts."""
    return await level_review.review_queue(session, platform, actor=actor, query=query, page=page)


@router.get(
    "/accounts/{account_id}/history",
    response_model=Page[FieldChangeRead],
    tags=ACCOUNTS,
    summary="Field history of an account",
)
async def get_history(
    account: AccountForRead,
    session: SessionDep,
    page: Paging,
    field: Annotated[HistoryField | None, Query(description="Only changes of this field")] = None,
) -> Page[FieldChangeRead]:
    """Every change of the profile, ratings and ownership: who, when, field, from and to — newest first."""
    rows, total = await field_history.field_history(session, account_id=account.id, field=field, page=page)
    items = [FieldChangeRead.model_validate(row, from_attributes=True) for row in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "/accounts/{account_id}/change-requests",
    status_code=201,
    response_model=ChangeRequestRead,
    tags=ACCOUNTS,
    summary="Propose score inputs for a supervisor's approval",
)
async def create_change_request(
    account: AccountForUpdate,
    body: ChangeRequestCreate,
    response: Response,
    session: SessionDep,
    at: At,
    actor: Actor,
    publisher: PublisherDep,
) -> ChangeRequestRead:
    """Ratings, expected growth or cooperation since, as the account manager reports them: pending until a
    supervisor approves (the account and its score are unchanged until then)."""
    request = await change_requests.request_change(
        session, publisher, account=account, body=body, actor=actor, now=at.now
    )
    response.headers["Location"] = f"/accounts/{account.id}/change-requests/{request.id}"
    return await _read(session, request)


@router.get(
    "/accounts/{account_id}/change-requests/{change_request_id}",
    response_model=ChangeRequestRead,
    tags=ACCOUNTS,
    summary="One change request",
)
async def get_change_request(request: ChangeRequestForRead, session: SessionDep) -> ChangeRequestRead:
    """A change request with what it asks for, what the account had, and the decision."""
    return await _read(session, request)


@router.post(
    "/accounts/{account_id}/change-requests/{change_request_id}/approve",
    response_model=ChangeRequestRead,
    tags=ACCOUNTS,
    summary="Approve a change request (KA supervisor, four eyes)",
)
async def approve_change_request(
    actor: Supervisor,
    request: ChangeRequestForRead,
    body: ChangeRequestApproval,
    session: SessionDep,
    at: At,
    publisher: PublisherDep,
) -> Any:
    """Apply the requested inputs (field history, ``accounts.updated``, re-score); not by the requester."""
    await change_requests.approve_request(
        session, platform, publisher=publisher, request=request, body=body, actor=actor, at=at
    )
    return await _read(session, request)


@router.post(
    "/accounts/{account_id}/change-requests/{change_request_id}/reject",
    response_model=ChangeRequestRead,
    tags=ACCOUNTS,
    summary="Reject a change request with a reason (KA supervisor)",
)
async def reject_change_request(
    actor: Supervisor, request: ChangeRequestForRead, body: ChangeRequestRejection, session: SessionDep, at: At
) -> Any:
    """The account stays as it is; the reason is kept and audited."""
    await change_requests.reject_request(session, request=request, body=body, actor=actor, now=at.now)
    return await _read(session, request)
