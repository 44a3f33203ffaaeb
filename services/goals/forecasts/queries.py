"""Read side of forecasts: submissions as the API shows them (beside quota and the system's forecasts), the
forecasts in force (now, or at the end of a month) filtered and paged, a team's roll-up per currency, and the
history of a person's period."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.config import GoalsSettings, calendar_of
from services.goals.forecasts.models import ForecastAdjustment, ForecastSubmission
from services.goals.forecasts.quota import Standing, standings
from services.goals.forecasts.rollup import CATEGORIES, Figures, Member, order_warnings, team_totals
from services.goals.forecasts.schemas import ForecastRead, HistoryEntry, TeamForecastRead, TeamTotalRead
from services.goals.forecasts.service import adjusted_figures, submitted_figures
from services.goals.periods import InvalidPeriod
from shared.api import Page, PageParams
from shared.auth import Principal
from shared.errors import NotFound, Unprocessable


def _parsed(settings: GoalsSettings, text: str, *, field: str) -> str:
    """A period (or month) filter in its canonical form, or a 422 naming it."""
    try:
        return calendar_of(settings).parse(text).text
    except InvalidPeriod as exc:
        raise Unprocessable(str(exc), field=field) from exc


async def adjustments_of(session: AsyncSession, ids: Iterable[str]) -> dict[str, list[ForecastAdjustment]]:
    """Every adjustment of the submissions, oldest first."""
    out: dict[str, list[ForecastAdjustment]] = defaultdict(list)
    wanted = sorted(set(ids))
    if wanted:
        for row in await session.scalars(
            select(ForecastAdjustment)
            .where(ForecastAdjustment.submission_id.in_(wanted))
            .order_by(ForecastAdjustment.revision)
        ):
            out[row.submission_id].append(row)
    return out


def _read(row: ForecastSubmission, adjustment: ForecastAdjustment | None, standing: Standing) -> ForecastRead:
    submitted, final = submitted_figures(row), adjusted_figures(row, adjustment)
    warnings = order_warnings(submitted, whose="submitted")
    if adjustment is not None:
        warnings += order_warnings(final, whose="adjusted")
    quota = standing.quota if standing.quota_currency == row.currency else None
    if standing.quota is not None and quota is None:
        warnings.append(f"the quota is kept in {standing.quota_currency}, the forecast in {row.currency}: not shown")
    sales_apply = standing.currency == row.currency
    if not sales_apply:
        warnings.append(f"the book's sales are not all in {row.currency}: no system forecast")
    return ForecastRead.model_validate(
        {
            **{k: getattr(row, k) for k in ("id", "owner_id", "period", "month", "revision", "currency", "note")},
            **{k: getattr(row, k) for k in ("submitted_by", "submitted_at", "superseded_by", "superseded_at")},
            "commit": submitted.commit,
            "best_case": submitted.best_case,
            "pipeline": submitted.pipeline,
            "current": row.superseded_by is None,
            "adjustment": None
            if adjustment is None
            else {
                "revision": adjustment.revision,
                "commit": adjustment.commit_amount,
                "best_case": adjustment.best_case_amount,
                "pipeline": adjustment.pipeline_amount,
                "reason": adjustment.reason,
                "adjusted_by": adjustment.adjusted_by,
                "adjusted_at": adjustment.adjusted_at,
            },
            "adjusted_commit": final.commit,
            "adjusted_best_case": final.best_case,
            "adjusted_pipeline": final.pipeline,
            "quota": quota,
            "actual_to_date": standing.actual_to_date if sales_apply else None,
            "run_rate_forecast": standing.run_rate_forecast if sales_apply else None,
            "seasonal_forecast": standing.seasonal_forecast if sales_apply else None,
            "warnings": warnings,
            "version": row.version,
        }
    )


async def read_forecasts(
    session: AsyncSession, rows: Sequence[ForecastSubmission], *, settings: GoalsSettings, today: date
) -> list[ForecastRead]:
    """Submissions as the API shows them, with their adjustment in force, quota and the system's forecasts."""
    adjustments = await adjustments_of(session, [r.id for r in rows])
    found = await standings(session, keys={(r.owner_id, r.period) for r in rows}, settings=settings, today=today)
    return [
        _read(r, adjustments[r.id][-1] if adjustments.get(r.id) else None, found[(r.owner_id, r.period)]) for r in rows
    ]


async def in_force(
    session: AsyncSession,
    *,
    actor: Principal,
    settings: GoalsSettings,
    period: str | None = None,
    owner_id: str | None = None,
    month: str | None = None,
) -> list[ForecastSubmission]:
    """Per person and period, the forecast in force now (``month``: at the end of that month — the newest
    submitted up to then), by period and person; account managers see their own."""
    if not actor.sees_whole_portfolio:
        if owner_id not in (None, actor.user_id):
            return []
        owner_id = actor.user_id
    query = select(ForecastSubmission)
    if period is not None:
        query = query.where(ForecastSubmission.period == _parsed(settings, period, field="period"))
    if owner_id is not None:
        query = query.where(ForecastSubmission.owner_id == owner_id)
    if month is None:
        query = query.where(ForecastSubmission.superseded_by.is_(None))
    else:
        query = query.where(ForecastSubmission.month <= _parsed(settings, month, field="month"))
    newest: dict[tuple[str, str], ForecastSubmission] = {}
    for row in await session.scalars(query.order_by(ForecastSubmission.month, ForecastSubmission.revision)):
        newest[(row.period, row.owner_id)] = row  # the later submission wins
    return [newest[k] for k in sorted(newest)]


async def list_forecasts(
    session: AsyncSession,
    *,
    actor: Principal,
    settings: GoalsSettings,
    today: date,
    page: PageParams,
    period: str | None,
    owner_id: str | None,
    month: str | None,
) -> Page[ForecastRead]:
    """The forecasts in force, filtered and paged."""
    rows = await in_force(session, actor=actor, settings=settings, period=period, owner_id=owner_id, month=month)
    shown = rows[page.offset : page.offset + page.limit]
    items = await read_forecasts(session, shown, settings=settings, today=today)
    return Page(items=items, total=len(rows), limit=page.limit, offset=page.offset)


async def team_forecast(
    session: AsyncSession, *, actor: Principal, settings: GoalsSettings, today: date, period: str, month: str | None
) -> TeamForecastRead:
    """The roll-up of a period: the members' forecasts in force, and per currency their submitted and adjusted
    commit / best case / pipeline and quotas summed (never across currencies)."""
    rows = await in_force(session, actor=actor, settings=settings, period=period, month=month)
    members = await read_forecasts(session, rows, settings=settings, today=today)
    totals = team_totals(
        Member(
            owner_id=m.owner_id,
            currency=m.currency,
            submitted=Figures(m.commit, m.best_case, m.pipeline),
            adjusted=Figures(m.adjusted_commit, m.adjusted_best_case, m.adjusted_pipeline),
            quota=m.quota,
        )
        for m in members
    )
    return TeamForecastRead(
        period=_parsed(settings, period, field="period"),
        month=None if month is None else _parsed(settings, month, field="month"),
        totals=[
            TeamTotalRead.model_validate(
                {
                    "currency": t.currency,
                    "owners": t.owners,
                    **{c: getattr(t.submitted, c) for c in CATEGORIES},
                    **{f"adjusted_{c}": getattr(t.adjusted, c) for c in CATEGORIES},
                    "quota": t.quota,
                    "members_without_quota": t.members_without_quota,
                }
            )
            for t in totals
        ],
        members=members,
    )


async def forecast_history(
    session: AsyncSession, *, actor: Principal, settings: GoalsSettings, owner_id: str | None, period: str
) -> list[HistoryEntry]:
    """Every submission and adjustment of a person's period (default the caller's), oldest first: who, when, the
    figures (account managers: their own)."""
    owner = owner_id or actor.user_id
    if not actor.sees_whole_portfolio and owner != actor.user_id:
        raise NotFound(f"no forecasts of {owner}")
    rows = list(
        await session.scalars(
            select(ForecastSubmission)
            .where(
                ForecastSubmission.owner_id == owner,
                ForecastSubmission.period == _parsed(settings, period, field="period"),
            )
            .order_by(ForecastSubmission.submitted_at, ForecastSubmission.month, ForecastSubmission.revision)
        )
    )
    adjustments = await adjustments_of(session, [r.id for r in rows])
    entries = []
    for row in rows:
        entries.append(
            HistoryEntry(
                kind="submission",
                submission_id=row.id,
                month=row.month,
                revision=row.revision,
                currency=row.currency,
                commit=row.commit_amount,
                best_case=row.best_case_amount,
                pipeline=row.pipeline_amount,
                by=row.submitted_by,
                at=row.submitted_at,
                note=row.note,
            )
        )
        entries += [
            HistoryEntry(
                kind="adjustment",
                submission_id=row.id,
                month=row.month,
                revision=a.revision,
                currency=row.currency,
                commit=a.commit_amount,
                best_case=a.best_case_amount,
                pipeline=a.pipeline_amount,
                by=a.adjusted_by,
                at=a.adjusted_at,
                note=a.reason,
            )
            for a in adjustments.get(row.id, [])
        ]
    return sorted(entries, key=lambda e: e.at)
