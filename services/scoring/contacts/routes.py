"""HTTP routes of contacts and the relationship map: list, add, read, change, retire, history, org chart."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.scoring.contacts import level_review, service
from services.scoring.contacts.schemas import (
    ContactChange,
    ContactCreate,
    ContactRead,
    ContactRetire,
    ContactUpdate,
    LevelReviewDecision,
    OrgChart,
)
from services.scoring.deps import (
    AccountForRead,
    AccountForUpdate,
    Actor,
    At,
    ContactForRead,
    ContactForUpdate,
    Supervisor,
)
from services.scoring.models import platform
from shared.api import check_if_match, set_etag
from shared.errors import PROBLEM_RESPONSES
from shared.service import PublisherDep, SessionDep

router = APIRouter(responses=PROBLEM_RESPONSES)
ACCOUNTS: list[str | Enum] = ["accounts"]
IncludeRetired = Annotated[bool, Query(description="Also list retired contacts")]


@router.get("/accounts/{account_id}/contacts", response_model=list[ContactRead], tags=ACCOUNTS, summary="Contacts")
async def get_contacts(
    account: AccountForRead, session: SessionDep, include_retired: IncludeRetired = False
) -> list[ContactRead]:
    """The account's contacts, executive level first (retired ones with ``include_retired=true``)."""
    contacts = await service.list_contacts(session, account_id=account.id, include_retired=include_retired)
    return [ContactRead.of(c) for c in contacts]


@router.post(
    "/accounts/{account_id}/contacts",
    status_code=201,
    response_model=ContactRead,
    tags=ACCOUNTS,
    summary="Add a contact",
)
async def post_contact(
    actor: Actor,
    account: AccountForUpdate,
    body: ContactCreate,
    response: Response,
    session: SessionDep,
    at: At,
    publisher: PublisherDep,
) -> ContactRead:
    """Add a contact (a name already there at that level is a 409 naming the contact)."""
    contact = await service.add_contact(
        session, platform, publisher=publisher, account=account, body=body, actor=actor, at=at
    )
    set_etag(response, contact.version)
    response.headers["Location"] = f"/accounts/{account.id}/contacts/{contact.id}"
    return ContactRead.of(contact)


@router.get(
    "/accounts/{account_id}/contacts/{contact_id}", response_model=ContactRead, tags=ACCOUNTS, summary="A contact"
)
async def get_contact(contact: ContactForRead, response: Response) -> ContactRead:
    """One contact (retired ones too) with its ETag."""
    set_etag(response, contact.version)
    return ContactRead.of(contact)


@router.patch(
    "/accounts/{account_id}/contacts/{contact_id}",
    response_model=ContactRead,
    tags=ACCOUNTS,
    summary="Change a contact",
)
async def patch_contact(
    actor: Actor,
    contact: ContactForUpdate,
    body: ContactUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    at: At,
    publisher: PublisherDep,
) -> ContactRead:
    """Change fields (``If-Match``); audited with from/to and published as ``accounts.contact_changed``."""
    check_if_match(request, contact.version)
    await service.update_contact(session, platform, publisher=publisher, contact=contact, body=body, actor=actor, at=at)
    set_etag(response, contact.version)
    return ContactRead.of(contact)


@router.post(
    "/accounts/{account_id}/contacts/{contact_id}/retire",
    response_model=ContactRead,
    tags=ACCOUNTS,
    summary="Retire a contact",
)
async def retire_contact(
    actor: Actor,
    contact: ContactForUpdate,
    body: ContactRetire,
    request: Request,
    response: Response,
    session: SessionDep,
    at: At,
    publisher: PublisherDep,
) -> ContactRead:
    """The contact leaves the account, with a reason (``If-Match``): kept, published retired (surveys stop)."""
    check_if_match(request, contact.version)
    await service.retire_contact(session, platform, publisher=publisher, contact=contact, body=body, actor=actor, at=at)
    set_etag(response, contact.version)
    return ContactRead.of(contact)


@router.post(
    "/accounts/{account_id}/contacts/{contact_id}/level-review",
    response_model=ContactRead,
    tags=ACCOUNTS,
    summary="Confirm or reject the level an account manager reported",
)
async def review_contact_level(
    actor: Supervisor,
    contact: ContactForUpdate,
    body: LevelReviewDecision,
    response: Response,
    session: SessionDep,
    at: At,
    publisher: PublisherDep,
) -> ContactRead:
    """A supervisor other than the reporter decides a pending level: confirmed, it counts for the score (the account
    is re-scored); rejected (with a note), it never does. Audited; 409 unless pending."""
    await level_review.decide(
        session, platform, publisher=publisher, kind="contact", record=contact, body=body, actor=actor, at=at
    )
    set_etag(response, contact.version)
    return ContactRead.of(contact)


@router.get(
    "/accounts/{account_id}/contacts/{contact_id}/history",
    response_model=list[ContactChange],
    tags=ACCOUNTS,
    summary="History of a contact",
)
async def get_contact_history(contact: ContactForRead, session: SessionDep) -> list[ContactChange]:
    """Who changed what and when, from what to what (oldest first)."""
    return await service.contact_history(session, contact=contact)


@router.get("/accounts/{account_id}/org-chart", response_model=OrgChart, tags=ACCOUNTS, summary="Org chart")
async def get_org_chart(account: AccountForRead, session: SessionDep) -> OrgChart:
    """The account's active contacts as a tree of who reports to whom."""
    return await service.org_chart(session, account_id=account.id)
