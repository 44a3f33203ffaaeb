"""Changing and deleting logged engagements: the rules of logging for what changes, a version per change, and
every change and deletion in the audit log (a deletion is a real delete, its whole row and reason kept there)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.contacts import level_review
from services.scoring.engagement.models import Engagement
from services.scoring.engagement.schemas import EngagementUpdate
from services.scoring.engagement.service import check_engagement_fields
from services.scoring.features import AsOf
from services.scoring.models import audit_log
from services.scoring.scores.consistency import rescoring
from services.scoring.scores.feature_store import refresh_contact_level
from shared.audit import record_audit, snapshot
from shared.auth import Principal
from shared.bus import Publisher
from shared.db import PlatformTables
from shared.errors import Unprocessable

# What the audit log keeps of an engagement.
AUDITED = (
    "kind",
    "level",
    "status",
    "occurred_on",
    "planned_on",
    "participants",
    "our_participant_ids",
    "participant_contact_ids",
    "notes",
    "next_step",
    "next_step_due_on",
)
# Fields a change may clear with null.
CLEARABLE = ("notes", "next_step", "next_step_due_on")


def _changes(engagement: Engagement, body: EngagementUpdate) -> dict[str, Any]:
    given = body.model_dump(exclude_unset=True)
    if "occurred_on" in given and given["occurred_on"] is None and engagement.occurred_on is not None:
        raise Unprocessable("A held engagement stays held (delete it instead)", field="occurred_on")
    wanted = {k: v for k, v in given.items() if v is not None or k in CLEARABLE}
    if "planned_on" in given and given["planned_on"] is None and engagement.status == "planned":
        raise Unprocessable("A planned engagement needs its due date", field="planned_on")
    return {k: v for k, v in wanted.items() if getattr(engagement, k) != v}


async def update_engagement(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    engagement: Engagement,
    body: EngagementUpdate,
    actor: Principal,
    at: AsOf,
) -> Engagement:
    """Change an engagement (``occurred_on`` on a planned one marks it held); audited with from/to; the contact
    level, and with it the score, may move."""
    changes = _changes(engagement, body)
    if not changes:
        return engagement
    checked = dict(changes)
    if "planned_on" in checked and engagement.occurred_on is not None:
        checked.pop("planned_on")  # a held engagement keeps the date it had been planned for, unchecked
    if "occurred_on" not in checked and engagement.occurred_on is not None:
        checked["occurred_on"] = engagement.occurred_on
    await check_engagement_fields(session, tables, account_id=engagement.account_id, fields=checked, today=at.today)
    before = snapshot(engagement, AUDITED)
    async with rescoring(
        session, tables, publisher=publisher, account_id=engagement.account_id, at=at, reason="engagement changed"
    ):
        for key, value in changes.items():
            setattr(engagement, key, value)
        if "level" in changes or "occurred_on" in changes:  # what it reports of the dialogue is new: confirmed anew
            level_review.reported(engagement, actor=actor, now=at.now)
        engagement.status = "planned" if engagement.occurred_on is None else "held"
        engagement.version += 1
        engagement.updated_by, engagement.updated_at = actor.user_id, at.now
        await session.flush()
        await refresh_contact_level(session, account_id=engagement.account_id, now=at.now)
    if "level" in changes or "occurred_on" in changes:
        await level_review.announce_pending(session, publisher, [engagement], now=at.now)
    await _audit(session, "engagement.updated", engagement, actor=actor, at=at, before=before)
    return engagement


async def delete_engagement(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    engagement: Engagement,
    reason: str,
    actor: Principal,
    at: AsOf,
) -> None:
    """Delete an engagement logged by mistake (or a plan dropped): the row goes, the audit log keeps all of it with
    the reason; the cadence and the contact level are as if it had never been logged."""
    before = snapshot(engagement, AUDITED)
    async with rescoring(
        session, tables, publisher=publisher, account_id=engagement.account_id, at=at, reason="engagement deleted"
    ):
        await session.delete(engagement)
        await session.flush()
        await refresh_contact_level(session, account_id=engagement.account_id, now=at.now)
    after = {"deleted": True, "reason": reason}
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action="engagement.deleted",
        object_type="engagement",
        object_id=engagement.id,
        before={**before, "account_id": engagement.account_id},
        after=after,
        at=at.now,
    )


async def _audit(
    session: AsyncSession, action: str, engagement: Engagement, *, actor: Principal, at: AsOf, before: dict[str, Any]
) -> None:
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action=action,
        object_type="engagement",
        object_id=engagement.id,
        before=before,
        after=snapshot(engagement, AUDITED),
        at=at.now,
    )
