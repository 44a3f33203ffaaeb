"""Self-reported score inputs wait for a KA supervisor (four eyes).

The inputs of an account that move its score and that its account manager reports themselves — the qualitative
ratings and the expected growth (``industry_leadership``, ``reference_value``, ``channel_value``, ``product_fit``,
``expected_growth_pct``) and ``cooperation_since`` — count only once a supervisor approved them when someone
without the supervisor, admin or service role asks for them: a ``PATCH`` of ``cooperation_since`` (its other
fields apply at once) or a proposal (``POST /accounts/{id}/change-requests``) is kept as a *pending* change request,
and the account and its score stay as they are. A supervisor other than the requester approves it (the change is
then applied as an ordinary one: field history, ``accounts.updated``, re-score) or rejects it with a reason; both
are audited. A request whose fields changed on the account since it was made is stale: approving it is a 409
(reject it and ask again). Supervisors' and admins' own changes apply directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.features import AsOf
from services.scoring.models import audit_log
from services.scoring.registry.field_history import ChangeOrigin, plain
from services.scoring.registry.models import Account, AccountChangeRequest
from services.scoring.registry.queries import account_names
from services.scoring.registry.schemas import (
    AccountUpdate,
    ChangeRequestApproval,
    ChangeRequestCreate,
    ChangeRequestQuery,
    ChangeRequestRead,
    ChangeRequestRejection,
    RatingsUpdate,
    StatusInfo,
)
from services.scoring.registry.self_reported import (
    APPROVED,
    PENDING,
    PROFILE_INPUTS,
    RATING_INPUTS,
    REJECTED,
    SCORE_INPUTS,
    STATUS_LABELS,
    TRANSITIONS,
    needs_approval,
    open_request,
    quantised,
)
from services.scoring.registry.service import set_ratings, update_account
from shared.api import PageParams
from shared.audit import record_audit
from shared.auth import Principal, visible_accounts_clause
from shared.bus import Publisher
from shared.db import PlatformTables
from shared.errors import Conflict, Forbidden, InvalidTransition, NotFound, Unprocessable


async def hold_self_reported(
    session: AsyncSession,
    publisher: Publisher,
    *,
    account: Account,
    body: AccountUpdate,
    actor: Principal,
    now: datetime,
) -> tuple[AccountUpdate, AccountChangeRequest | None]:
    """Split a profile change: the score inputs an account manager changes become a pending request; the rest
    (returned) applies at once. Nothing is held for supervisors, or when the inputs do not change."""
    if not needs_approval(actor):
        return body, None
    sent = body.model_dump(exclude_unset=True)
    held = {name: sent[name] for name in PROFILE_INPUTS if name in sent and getattr(account, name) != sent[name]}
    if not held:
        return body, None
    rest = AccountUpdate(**{name: value for name, value in sent.items() if name not in held})
    request = await open_request(
        session, publisher, account=account, changes=held, rationale=None, note=None, actor=actor, now=now
    )
    return rest, request


async def request_change(
    session: AsyncSession,
    publisher: Publisher,
    *,
    account: Account,
    body: ChangeRequestCreate,
    actor: Principal,
    now: datetime,
) -> AccountChangeRequest:
    """Propose score inputs for a supervisor to approve (422 naming the field when nothing would change, or
    ratings come without a rationale)."""
    sent = body.model_dump(exclude_unset=True, exclude={"rationale", "note"})
    if not sent:
        raise Unprocessable(f"Name at least one score input: {', '.join(SCORE_INPUTS)}", field="cooperation_since")
    if any(name in RATING_INPUTS for name in sent) and body.rationale is None:
        raise Unprocessable("Proposed ratings need a rationale", field="rationale")
    changes = {name: quantised(name, value) for name, value in sent.items()}
    changed = {name: value for name, value in changes.items() if plain(getattr(account, name)) != plain(value)}
    if not changed:
        raise Unprocessable("The account already has these values: nothing to approve", field=next(iter(sent)))
    return await open_request(
        session,
        publisher,
        account=account,
        changes=changed,
        rationale=body.rationale,
        note=body.note,
        actor=actor,
        now=now,
    )


async def get_request(session: AsyncSession, *, account_id: str, request_id: str) -> AccountChangeRequest:
    """A change request of the account, or 404."""
    request = await session.get(AccountChangeRequest, request_id)
    if request is None or request.account_id != account_id:
        raise NotFound(f"Change request {request_id} not found")
    return request


def _check_decision(request: AccountChangeRequest, target: str, actor: Principal) -> None:
    if target not in TRANSITIONS[request.status]:
        raise InvalidTransition(
            f"The change request is {request.status}",
            current=request.status,
            allowed=sorted(TRANSITIONS[request.status]),
        )
    if request.requested_by == actor.user_id:
        raise Forbidden("Four eyes: a change request is decided by another supervisor than its requester")


async def _decided(
    session: AsyncSession,
    request: AccountChangeRequest,
    *,
    status: str,
    reason: str | None,
    actor: Principal,
    now: datetime,
) -> AccountChangeRequest:
    request.status, request.decided_by, request.decided_at = status, actor.user_id, now
    request.decision_reason = reason
    request.version += 1
    await session.flush()
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action=f"account.change_{status}",
        object_type="account",
        object_id=request.account_id,
        before={"change_request_id": request.id, "status": PENDING},
        after={"change_request_id": request.id, "status": status, "reason": reason, **request.changes},
        at=now,
    )
    return request


async def approve_request(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    request: AccountChangeRequest,
    body: ChangeRequestApproval,
    actor: Principal,
    at: AsOf,
) -> AccountChangeRequest:
    """Apply the requested inputs as an ordinary change (history for the requester, approved by the actor; events
    and re-score); 409 when the account's fields moved since the request."""
    _check_decision(request, APPROVED, actor)
    account = await session.get(Account, request.account_id)
    assert account is not None  # the request's foreign key
    stale = [name for name, value in request.previous.items() if plain(getattr(account, name)) != value]
    if stale:
        raise Conflict(
            "The account changed since the request was made: reject it and ask again", field=stale[0], stale=stale
        )
    origin = ChangeOrigin(changed_by=request.requested_by, approved_by=actor.user_id, change_request_id=request.id)
    profile = {name: value for name, value in request.changes.items() if name in PROFILE_INPUTS}
    ratings = {name: value for name, value in request.changes.items() if name in RATING_INPUTS}
    if profile:
        update = AccountUpdate(**profile)
        await update_account(
            session, tables, publisher=publisher, account=account, body=update, at=at, actor=actor, origin=origin
        )
    if ratings:
        rated = RatingsUpdate(**ratings, rationale=request.rationale or "")
        await set_ratings(
            session, tables, publisher=publisher, account=account, body=rated, actor=actor, at=at, origin=origin
        )
    return await _decided(session, request, status=APPROVED, reason=body.note, actor=actor, now=at.now)


async def reject_request(
    session: AsyncSession,
    *,
    request: AccountChangeRequest,
    body: ChangeRequestRejection,
    actor: Principal,
    now: datetime,
) -> AccountChangeRequest:
    """Reject a pending request with a reason (the account stays as it is)."""
    _check_decision(request, REJECTED, actor)
    return await _decided(session, request, status=REJECTED, reason=body.reason, actor=actor, now=now)


async def list_requests(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    actor: Principal,
    query: ChangeRequestQuery,
    page: PageParams,
) -> tuple[list[AccountChangeRequest], int]:
    """A page of the change requests on accounts the actor sees, oldest first (a queue), with the total."""
    statement = select(AccountChangeRequest).where(
        visible_accounts_clause(tables, actor, AccountChangeRequest.account_id)
    )
    for name in ("status", "account_id", "requested_by"):
        value = getattr(query, name)
        if value:
            statement = statement.where(getattr(AccountChangeRequest, name) == value)
    total = int(await session.scalar(select(func.count()).select_from(statement.subquery())) or 0)
    ordered = statement.order_by(AccountChangeRequest.requested_at, AccountChangeRequest.id)
    rows = await session.execute(ordered.limit(page.limit).offset(page.offset))
    return list(rows.scalars()), total


async def request_reads(session: AsyncSession, *, requests: Sequence[AccountChangeRequest]) -> list[ChangeRequestRead]:
    """Change requests as served, each with its account's name and its status's labels."""
    names = await account_names(session, (r.account_id for r in requests))
    reads = []
    for r in requests:
        zh, en = STATUS_LABELS[r.status]
        data = {k: getattr(r, k) for k in ChangeRequestRead.model_fields if hasattr(r, k)}
        label = StatusInfo(code=r.status, label_zh=zh, label_en=en)
        reads.append(ChangeRequestRead(**data, account_name=names.get(r.account_id, ""), status_label=label))
    return reads
