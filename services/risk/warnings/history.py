"""The alert's case history: every transition, escalation and assignment with who, when, from/to and the note
(``alerts.note`` keeps only the last one). Domain functions of the alert lifecycle call ``record_alert_history``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.warnings.models import Alert, AlertHistory


async def record_alert_history(
    session: AsyncSession,
    *,
    alert: Alert,
    action: str,
    from_state: str | None,
    to_state: str | None,
    actor_id: str | None,
    at: datetime,
    note: str | None = None,
) -> AlertHistory:
    """Keep one step of the alert's case (``actor_id`` null: the service itself, e.g. a rule or a job)."""
    entry = AlertHistory(
        alert_id=alert.id,
        account_id=alert.account_id,
        action=action,
        from_state=from_state,
        to_state=to_state,
        actor_id=actor_id,
        at=at,
        note=note,
    )
    session.add(entry)
    await session.flush()
    return entry


async def alert_history_of(session: AsyncSession, *, alert_id: str) -> list[AlertHistory]:
    """The alert's case, oldest first (steps of one instant in the order they were kept)."""
    rows = await session.execute(
        select(AlertHistory).where(AlertHistory.alert_id == alert_id).order_by(AlertHistory.at, AlertHistory.id)
    )
    return list(rows.scalars())
