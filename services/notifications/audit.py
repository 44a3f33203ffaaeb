"""The audit entries of notifications' configuration (docs/AUDIT.md): who changed who is told (routing rules,
teams) and where messages go (group robots, webhook subscriptions). A secret is never written — only a short
fingerprint, so that a rotation shows — and addresses are masked as the API shows them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.models import audit_log
from shared.audit import record_audit
from shared.auth import Principal

T = TypeVar("T")


def fingerprint(secret: str | None) -> str | None:
    """A secret as an audit entry names it: ``sha256:`` and 12 hex digits of its digest (None when there is none)."""
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:12] if secret else None


@dataclass(frozen=True)
class AuditedKind(Generic[T]):
    """How one kind of configuration object is audited: its ``object_type`` (also the actions' prefix:
    ``robot.created``), its id, and the state an entry keeps of it (secrets and addresses already hidden)."""

    object_type: str
    object_id: Callable[[T], str]
    state: Callable[[T], dict[str, Any]]

    async def created(self, session: AsyncSession, obj: T, *, actor: Principal, now: datetime) -> None:
        await self._record(session, obj, "created", None, self.state(obj), actor=actor, now=now)

    async def updated(
        self, session: AsyncSession, obj: T, *, before: dict[str, Any], actor: Principal, now: datetime
    ) -> None:
        """After the change (``before``: ``state`` taken before it)."""
        await self._record(session, obj, "updated", before, self.state(obj), actor=actor, now=now)

    async def deleted(self, session: AsyncSession, obj: T, *, actor: Principal, now: datetime) -> None:
        """Before the object is deleted (its last state is the entry's ``before``)."""
        await self._record(session, obj, "deleted", self.state(obj), {"deleted": True}, actor=actor, now=now)

    async def _record(
        self,
        session: AsyncSession,
        obj: T,
        verb: str,
        before: dict[str, Any] | None,
        after: dict[str, Any],
        *,
        actor: Principal,
        now: datetime,
    ) -> None:
        await record_audit(
            session,
            audit_log,
            actor_id=actor.user_id,
            action=f"{self.object_type}.{verb}",
            object_type=self.object_type,
            object_id=self.object_id(obj),
            before=before,
            after=after,
            at=now,
        )
