"""Read side of the reference data: the severity matrix with its labels, the escalation ladder of every tier."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints.labels import LEVELS, label
from services.complaints.reference.ladders import DEFAULT_TIER, settings_ladder
from services.complaints.reference.matrix import cell_key
from services.complaints.reference.models import EscalationLadder, SeverityMatrix
from services.complaints.reference.schemas import LadderRead, MatrixRead
from services.complaints.rules import Rules
from shared.vocabulary import SEVERITY_LABELS, TIER_CODES


def matrix_read(matrix: SeverityMatrix) -> MatrixRead:
    """The matrix as the API shows it: every cell, impact high first, with the severity's labels."""
    cells = []
    for impact in reversed(LEVELS):
        for urgency in reversed(LEVELS):
            severity = matrix.cells[cell_key(impact, urgency)]
            pair = SEVERITY_LABELS.get(severity)  # type: ignore[call-overload]
            cells.append({"impact": impact, "urgency": urgency, "severity": severity, "severity_label": label(pair)})
    return MatrixRead.model_validate(
        {"cells": cells, "version": matrix.version, "updated_at": matrix.updated_at, "updated_by": matrix.updated_by}
    )


def ladder_row(ladder: EscalationLadder) -> dict[str, Any]:
    """A stored ladder's fields."""
    return {
        "tier": ladder.tier,
        "rungs": ladder.rungs,
        "version": ladder.version,
        "updated_at": ladder.updated_at,
        "updated_by": ladder.updated_by,
    }


async def ladder_reads(session: AsyncSession, *, rules: Rules) -> list[LadderRead]:
    """Every tier's ladder: stored, else the stored default's, else the settings'."""
    stored = {row.tier: row for row in (await session.execute(select(EscalationLadder))).scalars()}
    fallback = [{"user_id": r.user_id} for r in settings_ladder(rules)]
    reads = []
    for tier in (DEFAULT_TIER, *TIER_CODES):
        row = stored.get(tier) or stored.get(DEFAULT_TIER)
        if row is not None:
            reads.append(LadderRead.model_validate({**ladder_row(row), "tier": tier, "source": "stored"}))
        else:
            reads.append(LadderRead(tier=tier, rungs=fallback, source="settings"))
    return reads
