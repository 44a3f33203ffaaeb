"""Scorecards (绩效考核): the schemes of the roles (weights, caps, components), the supervisor's ratings of
qualitative KPIs, the scorecards of a period (live, or as signed off), sign-off and history."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, get_args

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.config import GoalsSettings, calendar_of
from services.goals.models import platform
from services.goals.periods import InvalidPeriod, Period
from services.goals.scorecard import Component, default_components
from services.goals.scorecards.cards import book_of_owners, gather, scorecard_for
from services.goals.scorecards.models import ScorecardRating, ScorecardScheme, ScorecardSignoff
from services.goals.scorecards.schemas import (
    RatingIn,
    RatingRead,
    SchemeIn,
    SchemeRead,
    ScorecardRead,
    ScoredRole,
    SignOffIn,
)
from shared.auth import Principal
from shared.errors import NotFound, Unprocessable

ROLES: tuple[str, ...] = get_args(ScoredRole)
HUNDRED = Decimal(100)


def parse_period(settings: GoalsSettings, text: str) -> Period:
    """A period string, or a 422 naming ``period``."""
    try:
        return calendar_of(settings).parse(text)
    except InvalidPeriod as exc:
        raise Unprocessable(str(exc), field="period") from exc


# ---------------------------------------------------------------- schemes


def _default_scheme(role: str, settings: GoalsSettings) -> SchemeRead:
    components = default_components(settings.scorecard_weights, attainment_cap_pct=settings.attainment_cap_pct)
    return SchemeRead.model_validate(
        {
            "role": role,
            "source": "default",
            "components": [{"key": c.key, "weight": c.weight, "cap": c.cap} for c in components],
            "updated_by": None,
            "updated_at": None,
            "version": None,
        }
    )


def _read_scheme(row: ScorecardScheme) -> SchemeRead:
    return SchemeRead.model_validate(
        {
            "role": row.role,
            "source": "stored",
            "components": row.components,
            "updated_by": row.updated_by,
            "updated_at": row.updated_at,
            "version": row.version,
        }
    )


async def get_scheme(session: AsyncSession, *, role: str, settings: GoalsSettings) -> SchemeRead:
    """The role's stored scheme, else the default from the settings."""
    row = await session.get(ScorecardScheme, role)
    return _read_scheme(row) if row else _default_scheme(role, settings)


async def list_schemes(session: AsyncSession, *, settings: GoalsSettings) -> list[SchemeRead]:
    """The scheme of every scored role."""
    return [await get_scheme(session, role=role, settings=settings) for role in ROLES]


def _check_scheme(body: SchemeIn) -> None:
    """Keys once each, weights adding up to exactly 100 (422 naming the field otherwise)."""
    seen: set[str] = set()
    for i, component in enumerate(body.components):
        if component.key in seen:
            raise Unprocessable(f"component {component.key} is given twice", field=f"components.{i}.key")
        seen.add(component.key)
    total = sum((c.weight for c in body.components), Decimal(0))
    if total != HUNDRED:
        raise Unprocessable(
            f"the weights add up to {total} but must add up to 100", field="components", weight_total=str(total)
        )


async def put_scheme(
    session: AsyncSession, *, role: str, body: SchemeIn, actor: Principal, now: datetime
) -> tuple[SchemeRead, bool]:
    """Set the role's components, weights and caps; True when the scheme was created."""
    _check_scheme(body)
    components = [c.model_dump(mode="json") for c in body.components]
    row = await session.get(ScorecardScheme, role)
    created = row is None
    if row is None:
        row = ScorecardScheme(
            role=role, components=components, updated_by=actor.user_id, created_at=now, updated_at=now
        )
        session.add(row)
    else:
        row.components, row.updated_by, row.updated_at = components, actor.user_id, now
        row.version += 1
    await session.flush()
    return _read_scheme(row), created


async def delete_scheme(session: AsyncSession, *, role: str) -> None:
    """Back to the default scheme (404 when none is stored)."""
    row = await session.get(ScorecardScheme, role)
    if row is None:
        raise NotFound(f"no scheme is stored for {role}")
    await session.delete(row)
    await session.flush()


def components_of(scheme: SchemeRead) -> list[Component]:
    """The scheme as the pure core takes it."""
    return [Component(c.key, c.weight, c.cap, c.kind, c.label) for c in scheme.components]


# ---------------------------------------------------------------- people and ratings


async def roles_of(session: AsyncSession, people: list[str]) -> dict[str, str]:
    """The scored role of each person (account manager unless the users projection says supervisor only)."""
    users = platform.users
    out = {p: "account_manager" for p in people}
    for user_id, roles in await session.execute(
        select(users.c.user_id, users.c.roles).where(users.c.user_id.in_(people))
    ):
        held = set(roles or [])
        if "account_manager" not in held and "supervisor" in held:
            out[user_id] = "supervisor"
    return out


async def rate(
    session: AsyncSession,
    *,
    person_id: str,
    period_text: str,
    component: str,
    body: RatingIn,
    actor: Principal,
    settings: GoalsSettings,
    now: datetime,
) -> RatingRead:
    """The supervisor rates a person's qualitative KPI of a period (a component of the person's role scheme)."""
    period = parse_period(settings, period_text)
    role = (await roles_of(session, [person_id]))[person_id]
    scheme = await get_scheme(session, role=role, settings=settings)
    if not any(c.key == component and c.kind == "qualitative" for c in scheme.components):
        raise Unprocessable(f"{component} is not a qualitative KPI of the {role} scheme", field="component", role=role)
    row = await session.scalar(
        select(ScorecardRating).where(
            ScorecardRating.person_id == person_id,
            ScorecardRating.period == period.text,
            ScorecardRating.component == component,
        )
    )
    if row is None:
        row = ScorecardRating(id=str(uuid.uuid4()), person_id=person_id, period=period.text, component=component)
        session.add(row)
    row.score, row.comment, row.rated_by, row.rated_at = body.score, body.comment, actor.user_id, now
    await session.flush()
    return RatingRead.model_validate(row, from_attributes=True)


# ---------------------------------------------------------------- scorecards, sign-off, history


async def live_cards(
    session: AsyncSession, *, period: Period, book: dict[str, list[str]], settings: GoalsSettings, today: date
) -> dict[str, dict[str, Any]]:
    """Each person's scorecard computed now from the data."""
    if not book:
        return {}
    figures = await gather(session, period=period, book=book, settings=settings, today=today)
    roles = await roles_of(session, sorted(book))
    schemes = {r: components_of(await get_scheme(session, role=r, settings=settings)) for r in set(roles.values())}
    return {
        owner: scorecard_for(
            owner, set(book[owner]), figures, role=roles[owner], components=schemes[roles[owner]], settings=settings
        )
        for owner in sorted(book)
    }


def _signed(row: ScorecardSignoff) -> ScorecardRead:
    return ScorecardRead.model_validate(
        {
            **row.card,
            "status": "signed_off",
            "card_version": row.card_version,
            "signed_by": row.signed_by,
            "signed_at": row.signed_at,
            "note": row.note,
        }
    )


async def _latest_signoffs(session: AsyncSession, *, people: list[str], period: str) -> dict[str, ScorecardSignoff]:
    rows = await session.scalars(
        select(ScorecardSignoff)
        .where(ScorecardSignoff.person_id.in_(people), ScorecardSignoff.period == period)
        .order_by(ScorecardSignoff.card_version)
    )
    return {row.person_id: row for row in rows}  # the last version wins


async def scorecards(
    session: AsyncSession,
    *,
    period_text: str,
    actor: Principal,
    settings: GoalsSettings,
    today: date,
    owner_id: str | None = None,
) -> list[ScorecardRead]:
    """Per account manager (account managers: their own): the signed-off version of the period if there is one
    (frozen), else the scorecard computed now."""
    period = parse_period(settings, period_text)
    only = owner_id if actor.sees_whole_portfolio else actor.user_id
    if not actor.sees_whole_portfolio and owner_id not in (None, actor.user_id):
        return []
    book = await book_of_owners(session, owners=None, only=only)
    signed = await _latest_signoffs(session, people=sorted(book), period=period.text)
    live = await live_cards(
        session, period=period, book={o: a for o, a in book.items() if o not in signed}, settings=settings, today=today
    )
    return [_signed(signed[o]) if o in signed else ScorecardRead.model_validate(live[o]) for o in sorted(book)]


async def sign_off(
    session: AsyncSession,
    *,
    person_id: str,
    period_text: str,
    body: SignOffIn,
    actor: Principal,
    settings: GoalsSettings,
    now: datetime,
    today: date,
) -> ScorecardRead:
    """The supervisor signs the person's scorecard of the period off: computed now and frozen as the next version
    (earlier versions stay in the history)."""
    if actor.user_id == person_id:
        raise Unprocessable("a scorecard is signed off by the person's supervisor, not by the person", field="person")
    period = parse_period(settings, period_text)
    book = await book_of_owners(session, owners=None, only=person_id)
    if not book:
        raise NotFound(f"{person_id} owns no account: there is no scorecard to sign off")
    card = (await live_cards(session, period=period, book=book, settings=settings, today=today))[person_id]
    last = await session.scalar(
        select(func.max(ScorecardSignoff.card_version)).where(
            ScorecardSignoff.person_id == person_id, ScorecardSignoff.period == period.text
        )
    )
    row = ScorecardSignoff(
        id=str(uuid.uuid4()),
        person_id=person_id,
        period=period.text,
        card_version=(last or 0) + 1,
        card=ScorecardRead.model_validate(card).model_dump(mode="json"),
        note=body.note,
        signed_by=actor.user_id,
        signed_at=now,
    )
    session.add(row)
    await session.flush()
    return _signed(row)


async def history(
    session: AsyncSession, *, person_id: str, actor: Principal, period_text: str | None, settings: GoalsSettings
) -> list[ScorecardRead]:
    """Every signed-off version of the person's scorecards (of one period if given), newest period first."""
    if not actor.sees_whole_portfolio and person_id != actor.user_id:
        raise NotFound(f"no scorecards of {person_id}")
    query = select(ScorecardSignoff).where(ScorecardSignoff.person_id == person_id)
    if period_text is not None:
        query = query.where(ScorecardSignoff.period == parse_period(settings, period_text).text)
    rows = await session.scalars(query.order_by(ScorecardSignoff.period.desc(), ScorecardSignoff.card_version))
    return [_signed(r) for r in rows]
