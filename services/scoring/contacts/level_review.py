"""The contact level an account manager reports counts once a KA supervisor confirmed it (four eyes).

The highest level of dialogue with an account (execution 1 … executive 3) moves its score, and it is reached by the
account's active contacts and its held engagements. Like the other self-reported score inputs
(registry/change_requests.py), a level reported by someone without the supervisor, admin or service role — a
contact added or moved to a level, an engagement logged as held or changed in level or date — is *pending*: it is
shown, it keeps the cadence (a visit held is a visit held), but it does not count for the score until a supervisor
other than the reporter confirms it. A supervisor may reject it with a note instead (it is kept, never counted).
Supervisors' own entries are confirmed at once. Every decision is audited and re-scores the account in the same
transaction. What was stored before this rule counts as it did (the migration marks it confirmed).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.contacts.schemas import (
    LEVEL_REVIEW_LABELS,
    LevelReviewDecision,
    LevelReviewItem,
    LevelReviewQuery,
    label_of,
)
from services.scoring.engagement.models import Engagement
from services.scoring.features import LEVEL_RANK, AsOf
from services.scoring.models import audit_log
from services.scoring.registry.models import Account, Contact
from services.scoring.registry.queries import account_names
from services.scoring.registry.self_reported import announce_review, needs_approval
from services.scoring.scores.consistency import rescoring
from services.scoring.scores.feature_store import features_for, refresh_contact_level
from services.scoring.scores.models import AccountFeatures
from shared.api import Page, PageParams
from shared.audit import record_audit
from shared.auth import Principal, visible_accounts_clause
from shared.bus import Publisher
from shared.db import PlatformTables
from shared.errors import Conflict, Forbidden, Unprocessable

CONFIRMED, PENDING, REJECTED = "confirmed", "pending", "rejected"
LEVEL_OF_RANK = {rank: level for level, rank in LEVEL_RANK.items()}
Kind = Literal["contact", "engagement"]
Reported = Contact | Engagement


def reported(record: Reported, *, actor: Principal, now: datetime) -> None:
    """The actor has just set the record's level (or held the engagement): pending for an account manager,
    confirmed at once for a supervisor, admin or service."""
    record.level_reported_by = actor.user_id
    record.level_review_note = None
    if needs_approval(actor):
        record.level_review, record.level_reviewed_by, record.level_reviewed_at = PENDING, None, None
    else:
        record.level_review, record.level_reviewed_by, record.level_reviewed_at = CONFIRMED, actor.user_id, now


async def announce_pending(
    session: AsyncSession, publisher: Publisher, records: Sequence[Reported], *, now: datetime
) -> int:
    """``accounts.review_requested`` for each pending level (of a held engagement) that confirming would raise above
    the level counted now — the ones a supervisor must look at (a lower one would not move the score)."""
    pending = [
        r for r in records if r.level_review == PENDING and not (isinstance(r, Engagement) and r.occurred_on is None)
    ]
    if not pending:
        return 0
    account = await session.get(Account, pending[0].account_id)
    assert account is not None
    counted = (await features_for(session, account_id=account.id, now=now)).highest_contact_level or 0
    announced = 0
    for record in pending:
        if LEVEL_RANK[record.level] <= counted:
            continue
        await announce_review(
            session,
            publisher,
            account=account,
            review_kind="contact_level",
            review_id=record.id,
            object_type="contact" if isinstance(record, Contact) else "engagement",
            requested_by=record.level_reported_by or "",
            level=record.level,
            now=now,
        )
        announced += 1
    return announced


def counts(records: Sequence[Reported]) -> list[Reported]:
    """The records whose level counts for the score."""
    return [r for r in records if r.level_review == CONFIRMED]


async def decide(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    kind: Kind,
    record: Reported,
    body: LevelReviewDecision,
    actor: Principal,
    at: AsOf,
) -> Reported:
    """Confirm or reject a pending level (409 unless pending; 403 for its reporter; 422 naming ``note`` when a
    rejection has none); audited; the account is re-scored when the level that counts moves."""
    if record.level_review != PENDING:
        raise Conflict(f"This {kind}'s level is {record.level_review} already, not pending", field="decision")
    if isinstance(record, Engagement) and record.occurred_on is None:
        raise Conflict("A planned engagement's level counts once it is held: decide it then", field="decision")
    if isinstance(record, Contact) and record.retired_at is not None:
        raise Conflict("The contact is retired: its level no longer counts", field="decision")
    if record.level_reported_by == actor.user_id:
        raise Forbidden("Four eyes: a supervisor other than the one who reported the level decides it")
    if body.decision == REJECTED and body.note is None:
        raise Unprocessable("A rejection says why", field="note")
    before = {"level": record.level, "level_review": record.level_review, "reported_by": record.level_reported_by}
    async with rescoring(
        session,
        tables,
        publisher=publisher,
        account_id=record.account_id,
        at=at,
        reason=f"contact level {body.decision}",
        actor_id=actor.user_id,
    ):
        record.level_review = body.decision
        record.level_reviewed_by, record.level_reviewed_at = actor.user_id, at.now
        record.level_review_note = body.note
        record.version += 1
        await session.flush()
        await refresh_contact_level(session, account_id=record.account_id, now=at.now)
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action=f"{kind}.level_{body.decision}",
        object_type=kind,
        object_id=record.id,
        before={**before, "account_id": record.account_id},
        after={"level_review": body.decision, "note": body.note},
        at=at.now,
    )
    return record


async def review_queue(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    actor: Principal,
    query: LevelReviewQuery,
    page: PageParams,
) -> Page[LevelReviewItem]:
    """The reported levels on accounts the actor sees (``status`` pending by default), oldest report first: active
    contacts and held engagements, each with whether confirming it would raise the level that counts."""
    kinds: list[Kind] = [query.kind] if query.kind else ["contact", "engagement"]
    wanted = page.offset + page.limit
    found: list[tuple[datetime, str, Kind, Any]] = []
    total = 0
    for kind in kinds:
        statement = _statement(kind, tables, actor=actor, query=query)
        total += int(await session.scalar(select(func.count()).select_from(statement.subquery())) or 0)
        model = Contact if kind == "contact" else Engagement
        reported_at = func.coalesce(model.updated_at, model.created_at)
        rows = await session.execute(statement.order_by(reported_at, model.id).limit(wanted))
        for record in rows.scalars():
            found.append((record.updated_at or record.created_at, record.id, kind, record))
    found.sort(key=lambda row: (row[0], row[1]))
    chosen = found[page.offset : wanted]
    ids = sorted({row[3].account_id for row in chosen})
    names = await account_names(session, ids)
    counted = await session.execute(
        select(AccountFeatures.account_id, AccountFeatures.highest_contact_level).where(
            AccountFeatures.account_id.in_(ids)
        )
    )
    levels = {account_id: level for account_id, level in counted}
    items = [
        _item(kind, record, names.get(record.account_id, ""), levels.get(record.account_id) or 0)
        for *_, kind, record in chosen
    ]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


def _statement(kind: Kind, tables: PlatformTables, *, actor: Principal, query: LevelReviewQuery) -> Any:
    model: Any = Contact if kind == "contact" else Engagement
    statement = select(model).where(
        model.level_review == query.status, visible_accounts_clause(tables, actor, model.account_id)
    )
    if kind == "contact":
        statement = statement.where(Contact.retired_at.is_(None))
    else:
        statement = statement.where(Engagement.occurred_on.is_not(None))
    if query.account_id:
        statement = statement.where(model.account_id == query.account_id)
    if query.reported_by:
        statement = statement.where(model.level_reported_by == query.reported_by)
    return statement


def _item(kind: Kind, record: Any, account_name: str, counted: int) -> LevelReviewItem:
    if kind == "contact":
        summary = f"{record.name}" + (f" · {record.title}" if record.title else "")
        occurred = None
    else:
        summary = record.kind + (f" · {', '.join(record.participants)}" if record.participants else "")
        occurred = record.occurred_on
    label = label_of(LEVEL_REVIEW_LABELS, record.level_review)
    assert label is not None
    return LevelReviewItem(
        kind=kind,
        id=record.id,
        account_id=record.account_id,
        account_name=account_name,
        level=record.level,
        summary=summary,
        occurred_on=occurred,
        level_review=record.level_review,
        level_review_label=label,
        level_reported_by=record.level_reported_by,
        reported_at=record.updated_at or record.created_at,
        level_reviewed_by=record.level_reviewed_by,
        level_reviewed_at=record.level_reviewed_at,
        level_review_note=record.level_review_note,
        counted_level=LEVEL_OF_RANK.get(counted),
        would_raise=LEVEL_RANK[record.level] > counted,
    )
