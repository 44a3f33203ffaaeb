"""The product catalogue scoring learns from goals (``goals.catalogue_changed``, a whole snapshot each time: the
newest event wins by event time, then id, whatever order they arrive in); until goals has announced one, the
setting ``product_lines`` stands in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.playbook.models import ProductCatalogue
from shared.events import CatalogueChanged

SOURCE = "goals"


@dataclass(frozen=True)
class Catalogue:
    """The product lines in catalogue order, each offered (``active``) or retired, and where they came from."""

    lines: list[dict[str, Any]]
    source: Literal["goals", "setting"]
    as_of: datetime | None

    def offered(self) -> list[str]:
        """The lines on offer (white space is counted against them)."""
        return [line["name"] for line in self.lines if line.get("active", True)]

    def known(self) -> set[str]:
        """Every line the catalogue knows, retired ones included."""
        return {line["name"] for line in self.lines}


async def record_catalogue(session: AsyncSession, *, event: CatalogueChanged, now: datetime) -> bool:
    """Keep the announced catalogue unless a newer announcement is held; True when stored."""
    row = await session.get(ProductCatalogue, SOURCE)
    lines = [line.model_dump(mode="json") for line in event.data.product_lines]
    if row is None:
        session.add(
            ProductCatalogue(source=SOURCE, lines=lines, event_time=event.time, event_id=event.id, updated_at=now)
        )
    elif (row.event_time, row.event_id) >= (event.time, event.id):
        return False
    else:
        row.lines, row.event_time, row.event_id, row.updated_at = lines, event.time, event.id, now
    await session.flush()
    return True


async def current_catalogue(session: AsyncSession, *, fallback: Sequence[str]) -> Catalogue:
    """The catalogue goals announced last, else the setting's lines (all offered)."""
    row = await session.get(ProductCatalogue, SOURCE)
    if row is None:
        return Catalogue([{"name": n, "active": True, "description": None} for n in fallback], "setting", None)
    return Catalogue(list(row.lines), "goals", row.event_time)
