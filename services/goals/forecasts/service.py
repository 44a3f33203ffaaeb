"""Forecasts (Salesforce-style): submitting a person's commit / best case / pipeline for a period (a new one
supersedes, every one kept), a supervisor's adjustment beside it (audited), and loading one the caller may see."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.config import GoalsSettings, calendar_of
from services.goals.forecasts.models import ForecastAdjustment, ForecastSubmission
from services.goals.forecasts.quota import book_currency
from services.goals.forecasts.rollup import Figures, adjusted
from services.goals.forecasts.schemas import AdjustmentIn, ForecastIn
from services.goals.models import audit_log, platform
from services.goals.periods import InvalidPeriod, Period, month_key
from shared.audit import record_audit
from shared.auth import ACCOUNT_MANAGER, ADMIN, SUPERVISOR, Principal
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.people import require_assignable

FORECASTER_ROLES = frozenset({ACCOUNT_MANAGER, SUPERVISOR})  # who may have a forecast of their own
ON_BEHALF_ROLES = frozenset({SUPERVISOR, ADMIN})


def forecast_period(settings: GoalsSettings, text: str, today: date) -> Period:
    """A quarter or fiscal year that is current or next (422 naming ``period`` otherwise)."""
    cal = calendar_of(settings)
    try:
        period = cal.parse(text)
    except InvalidPeriod as exc:
        raise Unprocessable(str(exc), field="period") from exc
    if period.kind == "month":
        raise Unprocessable("a forecast is for a quarter or a fiscal year, not a month", field="period")
    current = cal.current(today, period.kind)
    following = cal.shifted(current, periods=1)
    if not current.start <= period.start <= following.start:
        raise Unprocessable(
            f"forecasts are for the current {period.kind} ({current.text}) or the next one ({following.text})",
            field="period",
        )
    return period


def submitted_figures(row: ForecastSubmission) -> Figures:
    """The manager's figures of a submission."""
    return Figures(row.commit_amount, row.best_case_amount, row.pipeline_amount)


def adjusted_figures(row: ForecastSubmission, adjustment: ForecastAdjustment | None) -> Figures:
    """The figures in force: the adjustment's where it adjusts one, else the manager's."""
    if adjustment is None:
        return submitted_figures(row)
    return adjusted(
        submitted_figures(row),
        commit=adjustment.commit_amount,
        best_case=adjustment.best_case_amount,
        pipeline=adjustment.pipeline_amount,
    )


async def load_submission(session: AsyncSession, *, forecast_id: str, actor: Principal) -> ForecastSubmission:
    """A submission the actor may see (account managers: their own), else 404."""
    row = await session.get(ForecastSubmission, forecast_id)
    if row is None or (not actor.sees_whole_portfolio and row.owner_id != actor.user_id):
        raise NotFound(f"Forecast {forecast_id} not found")
    return row


async def _owner_of(session: AsyncSession, body: ForecastIn, actor: Principal) -> str:
    """Whose forecast it is: the caller's own, or a supervisor's on the person's behalf."""
    owner = body.owner_id or actor.user_id
    if owner != actor.user_id and not actor.has_any(ON_BEHALF_ROLES):
        raise Forbidden("an account manager submits their own forecast; a supervisor may submit on their behalf")
    await require_assignable(session, platform, user_id=owner, field="owner_id", roles=FORECASTER_ROLES)
    return owner


async def submit_forecast(
    session: AsyncSession, *, body: ForecastIn, actor: Principal, settings: GoalsSettings, now: datetime, today: date
) -> ForecastSubmission:
    """Record a submission; it supersedes the person's forecast in force for the period (the month's earlier one,
    or last month's), which stays in the history. Amounts are in the book's reporting currency."""
    owner = await _owner_of(session, body, actor)
    period = forecast_period(settings, body.period, today)
    currency = await book_currency(session, owner_id=owner, settings=settings)
    if body.currency is not None and body.currency != currency:
        raise Unprocessable(
            f"{owner} forecasts in {currency}, the reporting currency of their accounts: amounts are not converted",
            field="currency",
            currency=currency,
        )
    month = month_key(today.year, today.month)
    previous = await session.scalar(
        select(ForecastSubmission)
        .where(
            ForecastSubmission.owner_id == owner,
            ForecastSubmission.period == period.text,
            ForecastSubmission.superseded_by.is_(None),
        )
        .with_for_update()
    )
    last = await session.scalar(
        select(func.max(ForecastSubmission.revision)).where(
            ForecastSubmission.owner_id == owner,
            ForecastSubmission.period == period.text,
            ForecastSubmission.month == month,
        )
    )
    row = ForecastSubmission(
        id=str(uuid.uuid4()),
        owner_id=owner,
        period=period.text,
        month=month,
        revision=(last or 0) + 1,
        commit_amount=body.commit,
        best_case_amount=body.best_case,
        pipeline_amount=body.pipeline,
        currency=currency,
        note=body.note,
        submitted_by=actor.user_id,
        submitted_at=now,
        version=1,
    )
    session.add(row)
    if previous is not None:
        previous.superseded_by, previous.superseded_at = row.id, now
        previous.version += 1
    await _flush_once(session, owner=owner, period=period.text)
    return row


async def _flush_once(session: AsyncSession, *, owner: str, period: str) -> None:
    """Flush; two submissions racing for the same revision are a 409 (the loser retries)."""
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"another forecast of {owner} for {period} was submitted at the same time; retry") from exc


async def adjustment_in_force(session: AsyncSession, submission_id: str) -> ForecastAdjustment | None:
    """The newest adjustment of a submission."""
    return await session.scalar(
        select(ForecastAdjustment)
        .where(ForecastAdjustment.submission_id == submission_id)
        .order_by(ForecastAdjustment.revision.desc())
        .limit(1)
    )


def _audited(figures: Figures, reason: str | None) -> dict[str, Any]:
    return {"commit": figures.commit, "best_case": figures.best_case, "pipeline": figures.pipeline, "reason": reason}


async def adjust_forecast(
    session: AsyncSession, *, submission: ForecastSubmission, body: AdjustmentIn, actor: Principal, now: datetime
) -> ForecastSubmission:
    """A supervisor's adjusted figures of the forecast in force, kept beside the manager's (a new adjustment
    replaces the previous one, which stays in the history); an audit entry (``forecast.adjusted``)."""
    if submission.owner_id == actor.user_id:
        raise Forbidden("a forecast is adjusted by the person's supervisor, not by the person")
    if submission.superseded_by is not None:
        raise Conflict(
            f"this forecast was superseded by {submission.superseded_by}: adjust the forecast in force",
            superseded_by=submission.superseded_by,
        )
    if body.commit is None and body.best_case is None and body.pipeline is None:
        raise Unprocessable("adjust at least one of commit, best_case and pipeline", field="commit")
    previous = await adjustment_in_force(session, submission.id)
    row = ForecastAdjustment(
        id=str(uuid.uuid4()),
        submission_id=submission.id,
        revision=(previous.revision if previous else 0) + 1,
        commit_amount=body.commit,
        best_case_amount=body.best_case,
        pipeline_amount=body.pipeline,
        reason=body.reason,
        adjusted_by=actor.user_id,
        adjusted_at=now,
    )
    session.add(row)
    submission.version += 1
    await _flush_once(session, owner=submission.owner_id, period=submission.period)
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action="forecast.adjusted",
        object_type="forecast",
        object_id=submission.id,
        before=_audited(adjusted_figures(submission, previous), previous.reason if previous else None),
        after=_audited(adjusted_figures(submission, row), row.reason),
        at=now,
    )
    return submission
