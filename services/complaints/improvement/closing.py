"""Closing over open work: a complaint with open tasks, unverified actions or undecided remedies closes only with a
supervisor's explicit override (a reason), which the audit log keeps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints.improvement.models import ImprovementAction, Remedy
from services.complaints.intake.models import Complaint
from services.complaints.intake.timeline import record
from services.complaints.models import audit_log
from services.complaints.people import DECIDER_ROLES
from services.complaints.taskforce.models import TaskForceTask
from shared.audit import record_audit
from shared.auth import Principal
from shared.errors import Conflict, Forbidden

# Remedies not yet decided (a first approval above the limit still awaits the second).
UNDECIDED_REMEDIES = ("proposed", "awaiting_second")


@dataclass(frozen=True)
class OpenWork:
    """The ids of what is still open on a complaint."""

    tasks: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    remedies: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.tasks or self.actions or self.remedies)

    def as_dict(self) -> dict[str, list[str]]:
        """``{"tasks": [...], "actions": [...], "remedies": [...]}``."""
        return {"tasks": list(self.tasks), "actions": list(self.actions), "remedies": list(self.remedies)}

    def describe(self) -> str:
        """E.g. ``2 open tasks, 1 action not verified effective``."""
        parts = [
            (len(self.tasks), "open task", "open tasks"),
            (len(self.actions), "action not verified effective", "actions not verified effective"),
            (len(self.remedies), "undecided remedy", "undecided remedies"),
        ]
        return ", ".join(f"{n} {one if n == 1 else many}" for n, one, many in parts if n)


async def open_work(session: AsyncSession, *, complaint_id: str) -> OpenWork:
    """Open tasks, corrective/preventive actions not verified effective, remedies not decided."""
    tasks = await session.scalars(
        select(TaskForceTask.id).where(TaskForceTask.complaint_id == complaint_id, TaskForceTask.status == "open")
    )
    actions = await session.scalars(
        select(ImprovementAction.id).where(
            ImprovementAction.complaint_id == complaint_id, ImprovementAction.status != "verified"
        )
    )
    remedies = await session.scalars(
        select(Remedy.id).where(Remedy.complaint_id == complaint_id, Remedy.status.in_(UNDECIDED_REMEDIES))
    )
    return OpenWork(tasks=tuple(tasks), actions=tuple(actions), remedies=tuple(remedies))


def require_override(work: OpenWork, *, actor: Principal, override_reason: str | None) -> None:
    """Nothing open, or a supervisor's override with a reason: else 409 naming what is open (403 for an override
    by someone who may not give one)."""
    if not work:
        return
    if override_reason is None:
        raise Conflict(
            f"The complaint still has {work.describe()}; finish them, or a supervisor closes it with "
            "override: {reason}",
            open=work.as_dict(),
        )
    if not DECIDER_ROLES & actor.roles:
        raise Forbidden("Only a supervisor may close a complaint over open work", open=work.as_dict())


async def record_override(
    session: AsyncSession,
    *,
    complaint: Complaint,
    work: OpenWork,
    actor: Principal,
    reason: str,
    state_before: str,
    now: datetime,
) -> None:
    """The override in the timeline and the audit log (same transaction as the close)."""
    data: dict[str, Any] = {"open": work.as_dict()}
    record(session, complaint, at=now, actor_id=actor.user_id, kind="close_override", body=reason, data=data)
    await session.flush()
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action="complaint.closed_over_open_work",
        object_type="complaint",
        object_id=complaint.id,
        before={"state": state_before, **data},
        after={"state": complaint.state, "override_reason": reason},
        at=now,
    )
