"""The product catalogue shared with the other services: after every change, and at start-up when it differs from
what was last announced (a changed setting), the whole catalogue is published as ``goals.catalogue_changed``
through the outbox, in the transaction of the change. Before any announcement consumers assume the platform's
default lines (``shared.vocabulary.DEFAULT_PRODUCT_LINES``), so a fresh start with them announces nothing. Flush
only."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from datetime import datetime

from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.catalogue.models import CatalogueAnnouncement
from services.goals.catalogue.schemas import ProductLinePut, ProductLineRead
from services.goals.catalogue.service import delete_product_line, list_product_lines, put_product_line
from services.goals.config import GoalsSettings
from shared.auth import Principal
from shared.bus import Publisher
from shared.events import CatalogueChanged, CatalogueChangedData, CatalogueLine
from shared.vocabulary import DEFAULT_PRODUCT_LINES

KEY = "product_lines"
log = logging.getLogger(__name__)


async def catalogue_lines(session: AsyncSession, settings: GoalsSettings) -> list[CatalogueLine]:
    """Every product line of the catalogue in its order, offered or retired."""
    return [
        CatalogueLine(name=line.name, active=line.active, description=line.description)
        for line in await list_product_lines(session, settings)
    ]


def _fingerprint(lines: Sequence[CatalogueLine]) -> str:
    text = json.dumps([line.model_dump(mode="json") for line in lines], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


async def announce_catalogue(
    session: AsyncSession,
    *,
    settings: GoalsSettings,
    publisher: Publisher,
    now: datetime,
    changed: Sequence[str] = (),
    changed_by: str | None = None,
    only_if_changed: bool = False,
) -> bool:
    """Publish the whole catalogue (``only_if_changed``: unless it is what was last announced); True if published."""
    lines = await catalogue_lines(session, settings)
    fingerprint = _fingerprint(lines)
    row = await session.get(CatalogueAnnouncement, KEY)
    last = row.fingerprint if row is not None else _fingerprint([CatalogueLine(name=n) for n in DEFAULT_PRODUCT_LINES])
    if only_if_changed and last == fingerprint:
        return False
    if row is None:
        session.add(CatalogueAnnouncement(name=KEY, fingerprint=fingerprint, announced_at=now))
    else:
        row.fingerprint, row.announced_at = fingerprint, now
    data = CatalogueChangedData(product_lines=lines, changed=list(changed), changed_by=changed_by)
    await publisher.publish(session, CatalogueChanged, data, account_id=None)
    await session.flush()
    return True


async def announce_on_start(app: FastAPI) -> None:
    """At start-up, announce the catalogue when it is not what was last announced (first start, changed setting)."""
    try:
        async with app.state.db.transaction() as session:
            await announce_catalogue(
                session,
                settings=app.state.settings,
                publisher=app.state.publisher,
                now=app.state.clock.now(),
                only_if_changed=True,
            )
    except IntegrityError:
        log.info("the product catalogue was announced concurrently by another replica")


async def set_product_line(
    session: AsyncSession,
    *,
    name: str,
    body: ProductLinePut,
    actor: Principal,
    settings: GoalsSettings,
    publisher: Publisher,
    now: datetime,
) -> ProductLineRead:
    """Add, describe or retire a line (``catalogue.service.put_product_line``) and announce the catalogue."""
    read = await put_product_line(session, name=name, body=body, actor=actor, now=now)
    await announce_catalogue(
        session, settings=settings, publisher=publisher, now=now, changed=[name], changed_by=actor.user_id
    )
    return read


async def remove_product_line(
    session: AsyncSession,
    *,
    name: str,
    actor: Principal,
    settings: GoalsSettings,
    publisher: Publisher,
    now: datetime,
) -> ProductLineRead | None:
    """Remove the API's entry of a line (``catalogue.service.delete_product_line``) and announce the catalogue."""
    read = await delete_product_line(session, name=name, actor=actor, settings=settings, now=now)
    await announce_catalogue(
        session, settings=settings, publisher=publisher, now=now, changed=[name], changed_by=actor.user_id
    )
    return read
