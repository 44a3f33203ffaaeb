"""Project progress (pure): a project's progress is its parts' state.

progress % = accepted parts ÷ parts not cancelled × 100 (two places, half-up); None when every part is cancelled
(or there is none). A part is **overdue** when it is still being worked on — open, in progress or rejected (sent
back to work) — after its due date; a delivered part waits on the account side's acceptance and is not overdue.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

WORKING_STATUSES: frozenset[str] = frozenset({"open", "in_progress", "rejected"})


def is_overdue(status: str, due_on: date, today: date) -> bool:
    """Still being worked on after its due date (business dates)."""
    return status in WORKING_STATUSES and due_on < today


@dataclass(frozen=True)
class Progress:
    """What the parts of a project add up to."""

    parts: int  # not cancelled
    accepted: int
    overdue: int
    progress_pct: Decimal | None


def progress_of(parts: Iterable[tuple[str, date]], today: date) -> Progress:
    """The progress of a project from its parts' (status, due date)."""
    counted = [(s, d) for s, d in parts if s != "cancelled"]
    accepted = sum(1 for s, _ in counted if s == "accepted")
    overdue = sum(1 for s, d in counted if is_overdue(s, d, today))
    pct = None
    if counted:
        pct = (Decimal(accepted) / Decimal(len(counted)) * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return Progress(parts=len(counted), accepted=accepted, overdue=overdue, progress_pct=pct)
