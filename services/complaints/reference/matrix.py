"""The severity matrix (影响 × 紧急程度 → 严重程度): its default, upkeep (complete or refused) and intake's severity."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints.labels import LEVELS
from services.complaints.models import audit_log
from services.complaints.reference.models import SeverityMatrix
from services.complaints.reference.schemas import MatrixBody
from shared.audit import record_audit
from shared.auth import Principal
from shared.errors import Unprocessable

MATRIX_CODE = "default"
# impact/urgency → severity.
DEFAULT_MATRIX: dict[str, str] = {
    "high/high": "critical",
    "high/medium": "high",
    "high/low": "medium",
    "medium/high": "high",
    "medium/medium": "medium",
    "medium/low": "low",
    "low/high": "medium",
    "low/medium": "low",
    "low/low": "low",
}
DEFAULT_SEVERITY = "medium"


def cell_key(impact: str, urgency: str) -> str:
    """The key of one cell of the matrix."""
    return f"{impact}/{urgency}"


async def seed_matrix(session: AsyncSession, *, now: datetime) -> None:
    """The default matrix when there is none (never over an edit)."""
    if await session.get(SeverityMatrix, MATRIX_CODE) is None:
        session.add(
            SeverityMatrix(code=MATRIX_CODE, cells=dict(DEFAULT_MATRIX), version=1, updated_at=now, updated_by="system")
        )
        await session.flush()


async def current_matrix(session: AsyncSession) -> SeverityMatrix:
    """The matrix in force (seeded at start)."""
    matrix = await session.get(SeverityMatrix, MATRIX_CODE)
    if matrix is None:  # pragma: no cover - seeded on start
        raise Unprocessable("No severity matrix is configured", field="severity")
    return matrix


def complete_cells(body: MatrixBody) -> dict[str, str]:
    """The body's cells as the stored map: every impact × urgency exactly once (422 naming ``cells`` otherwise)."""
    cells: dict[str, str] = {}
    for index, cell in enumerate(body.cells):
        key = cell_key(cell.impact, cell.urgency)
        if key in cells:
            raise Unprocessable(f"cells.{index}: {key} is given twice", field=f"cells.{index}")
        cells[key] = cell.severity
    missing = [cell_key(i, u) for i in LEVELS for u in LEVELS if cell_key(i, u) not in cells]
    if missing:
        raise Unprocessable(f"cells: the matrix is incomplete, missing {', '.join(missing)}", field="cells")
    return cells


async def save_matrix(session: AsyncSession, *, body: MatrixBody, actor: Principal, now: datetime) -> SeverityMatrix:
    """Replace the matrix (complete, a new version, audited); complaints keep the severity they were given."""
    cells = complete_cells(body)
    matrix = await current_matrix(session)
    before = {"cells": dict(matrix.cells), "version": matrix.version}
    matrix.cells, matrix.version = cells, matrix.version + 1
    matrix.updated_at, matrix.updated_by = now, actor.user_id
    await session.flush()
    after = {"cells": cells, "version": matrix.version}
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action="severity_matrix.saved",
        object_type="severity_matrix",
        object_id=MATRIX_CODE,
        before=before,
        after=after,
        at=now,
    )
    return matrix


async def intake_severity(
    session: AsyncSession, *, severity: str | None, impact: str | None, urgency: str | None
) -> str:
    """The severity of a new complaint: the one given, or the matrix's for impact × urgency (both needed, and not
    with a severity); neither: medium."""
    if impact is None and urgency is None:
        return severity or DEFAULT_SEVERITY
    if severity is not None:
        raise Unprocessable("severity: give a severity or impact and urgency, not both", field="severity")
    if impact is None or urgency is None:
        field = "impact" if impact is None else "urgency"
        raise Unprocessable(f"{field}: impact and urgency go together", field=field)
    matrix = await current_matrix(session)
    return matrix.cells[cell_key(impact, urgency)]
