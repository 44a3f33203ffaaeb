"""The audit entries of notifications' configuration (docs/AUDIT.md): who changed who is told (routing rules,
teams) and where messages go (group robots, webhook subscriptions). A secret is never written — only a short
fingerprint, so that a rotation shows — and addresses are masked as the API shows them."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.models import audit_log
from shared.audit import record_audit
from shared.auth import Principal


def fingerprint(secret: str | None) -> str | None:
    """A secret as an audit entry names it: ``sha256:`` and 12 hex digits of its digest (None when there is none)."""
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:12] if secret else None


async def record_change(
    session: AsyncSession,
    *,
    actor: Principal,
    action: str,
    object_type: str,
    object_id: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    now: datetime,
) -> None:
    """One entry in the change's transaction (``before`` None: created; ``after`` None: removed)."""
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after if after is not None else ({"deleted": True} if before is not None else None),
        at=now,
    )
