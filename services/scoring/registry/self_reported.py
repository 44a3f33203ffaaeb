"""Self-reported score inputs: which inputs of an account they are, whose changes of them wait for a supervisor,
and the pending change request that holds them (registry/change_requests.py decides it)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.models import audit_log
from services.scoring.registry.field_history import plain
from services.scoring.registry.models import RATING_PLACES, Account, AccountChangeRequest
from shared.audit import record_audit
from shared.auth import ADMIN, SERVICE, SUPERVISOR, Principal
from shared.bus import Publisher
from shared.events import ReviewRequested, ReviewRequestedData

PROFILE_INPUTS = ("cooperation_since",)
RATING_INPUTS = ("industry_leadership", "reference_value", "channel_value", "product_fit", "expected_growth_pct")
SCORE_INPUTS = (*PROFILE_INPUTS, *RATING_INPUTS)
DIRECT_ROLES = frozenset({SUPERVISOR, ADMIN, SERVICE})
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING: frozenset({APPROVED, REJECTED}),
    APPROVED: frozenset(),
    REJECTED: frozenset(),
}
STATUS_LABELS = {
    PENDING: ("待审批", "Pending approval"),
    APPROVED: ("已批准", "Approved"),
    REJECTED: ("已驳回", "Rejected"),
}


def needs_approval(actor: Principal) -> bool:
    """Whether the actor's score inputs wait for a supervisor (everyone but supervisors, admins and services)."""
    return not actor.has_any(DIRECT_ROLES)


def quantised(name: str, value: Any) -> Any:
    if name in RATING_INPUTS and value is not None:
        return value.quantize(type(value)(1).scaleb(-RATING_PLACES))
    return value


async def announce_review(
    session: AsyncSession,
    publisher: Publisher,
    *,
    account: Account,
    review_kind: Literal["change_request", "contact_level"],
    review_id: str,
    object_type: Literal["change_request", "contact", "engagement"],
    requested_by: str,
    now: datetime,
    fields: Sequence[str] = (),
    level: str | None = None,
) -> None:
    """``accounts.review_requested``: something an account manager reported waits for a KA supervisor (the
    notifications service tells the owner's supervisor, never the requester)."""
    data = ReviewRequestedData(
        review_kind=review_kind,
        review_id=review_id,
        object_type=object_type,
        requested_by=requested_by,
        owner_id=account.owner_id,
        fields=list(fields),
        level=level,
    )
    await publisher.publish(session, ReviewRequested, data, account_id=account.id, time=now)


async def open_request(
    session: AsyncSession,
    publisher: Publisher,
    *,
    account: Account,
    changes: dict[str, Any],
    rationale: str | None,
    note: str | None,
    actor: Principal,
    now: datetime,
) -> AccountChangeRequest:
    """Keep ``changes`` (field → value) as a pending request on the account, with the values it has now (audited)."""
    request = AccountChangeRequest(
        id=str(uuid.uuid4()),
        account_id=account.id,
        status=PENDING,
        changes={name: plain(value) for name, value in changes.items()},
        previous={name: plain(getattr(account, name)) for name in changes},
        rationale=rationale,
        note=note,
        requested_by=actor.user_id,
        requested_at=now,
        version=1,
    )
    session.add(request)
    await session.flush()
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action="account.change_requested",
        object_type="account",
        object_id=account.id,
        before=request.previous,
        after={"change_request_id": request.id, **request.changes},
        at=now,
    )
    await announce_review(
        session,
        publisher,
        account=account,
        review_kind="change_request",
        review_id=request.id,
        object_type="change_request",
        requested_by=actor.user_id,
        fields=sorted(request.changes),
        now=now,
    )
    return request
