"""Consumed events of the scoring service: ``HANDLERS = {event class: [handler, ...]}``.

Scoring is the source of ``accounts.*`` so it keeps only the users projection (``identity.*``); it learns features
from the other domains, and each event settles the scores it touches (``scores.consistency``), so the stored
scores never depend on the order events arrived in.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.features import AsOf
from services.scoring.playbook.catalogue import record_catalogue
from services.scoring.scores.consistency import rescoring
from services.scoring.scores.feature_store import (
    record_actuals,
    record_complaint_closed,
    record_credit_grade,
    record_escalation,
    record_months,
    record_survey_answer,
    refresh_features,
)
from shared.bus import HandlerContext, Handlers, merge_handlers
from shared.events import (
    ActualsImported,
    ActualsRecorded,
    ActualsVoided,
    CatalogueChanged,
    ComplaintClosed,
    ComplaintEscalated,
    CreditAssessed,
    SurveyAnswered,
    UserDeactivated,
    UserRegistered,
    UserUpdated,
)
from shared.projection import PROJECTION_HANDLERS


@dataclass(frozen=True)
class ScoringExtra:
    """What the handlers need besides the shared context: the company's zone (business dates, windows) and the
    largest portfolio an event re-scores as a whole (above it the timer's catch-up job does)."""

    zone: ZoneInfo
    max_accounts: int


def handler_extra(app: FastAPI) -> ScoringExtra:
    """The handlers' extras, from the app's settings."""
    settings = app.state.settings
    return ScoringExtra(zone=settings.zone, max_accounts=settings.event_rescore_max_accounts)


Context = HandlerContext[ScoringExtra]


def _at(ctx: Context) -> AsOf:
    return AsOf(ctx.clock.now(), ctx.extra.zone)


def _settling(
    session: AsyncSession, ctx: Context, account_id: str, at: AsOf, reason: str
) -> AbstractAsyncContextManager[None]:
    """The scores settled after the event's change of one account (``scores.consistency.rescoring``)."""
    return rescoring(
        session,
        ctx.tables,
        publisher=ctx.publisher,
        account_id=account_id,
        at=at,
        reason=reason,
        max_accounts=ctx.extra.max_accounts,
    )


async def on_actuals_recorded(session: AsyncSession, event: ActualsRecorded | ActualsVoided, ctx: Context) -> None:
    """Store the month's totals (the latest report wins), recompute the windowed features, settle the scores."""
    if event.account_id is None:
        return
    at, d = _at(ctx), event.data
    async with _settling(session, ctx, event.account_id, at, f"actuals {d.period} recorded"):
        stored = await record_actuals(
            session, account_id=event.account_id, period=d.period, data=d, reported_at=event.time, report_id=event.id
        )
        if stored:
            await refresh_features(session, account_ids=[event.account_id], at=at)


async def on_actuals_imported(session: AsyncSession, event: ActualsImported, ctx: Context) -> None:
    """An import's months of one account, applied together: each month stored as ``goals.actuals_recorded`` would
    store it, the windowed features recomputed once, the scores settled once (one re-score per account)."""
    if event.account_id is None:
        return
    at, d = _at(ctx), event.data
    async with _settling(session, ctx, event.account_id, at, f"actuals imported ({d.batch_id})"):
        stored = await record_months(
            session, account_id=event.account_id, months=d.months, reported_at=event.time, report_id=event.id
        )
        if stored:
            await refresh_features(session, account_ids=[event.account_id], at=at)


async def on_complaint_closed(session: AsyncSession, event: ComplaintClosed, ctx: Context) -> None:
    """Satisfaction of a closed complaint feeds the relationship dimension."""
    if event.account_id is None:
        return
    at, d = _at(ctx), event.data
    async with _settling(session, ctx, event.account_id, at, "complaint closed"):
        await record_complaint_closed(
            session,
            account_id=event.account_id,
            complaint_id=d.complaint_id,
            satisfaction=d.satisfaction,
            closed_at=d.closed_at,
        )
        await refresh_features(session, account_ids=[event.account_id], at=at)


async def on_complaint_escalated(session: AsyncSession, event: ComplaintEscalated, ctx: Context) -> None:
    """Escalations within the 12-month window weigh on the relationship dimension."""
    if event.account_id is None:
        return
    at = _at(ctx)
    async with _settling(session, ctx, event.account_id, at, "complaint escalated"):
        await record_escalation(
            session,
            account_id=event.account_id,
            complaint_id=event.data.complaint_id,
            level=event.data.level,
            escalated_at=event.time,
        )
        await refresh_features(session, account_ids=[event.account_id], at=at)


async def on_survey_answered(session: AsyncSession, event: SurveyAnswered, ctx: Context) -> None:
    """A survey answer (NPS and/or CSAT) feeds the relationship dimension's satisfaction with the complaints'."""
    if event.account_id is None:
        return
    at, d = _at(ctx), event.data
    async with _settling(session, ctx, event.account_id, at, "survey answered"):
        stored = await record_survey_answer(
            session,
            account_id=event.account_id,
            survey_request_id=d.survey_request_id,
            contact_level=d.contact_level,
            nps=d.nps,
            csat=d.csat,
            answered_at=d.answered_at,
            answered_by=d.answered_by,
        )
        if stored:
            await refresh_features(session, account_ids=[event.account_id], at=at)


async def on_credit_assessed(session: AsyncSession, event: CreditAssessed, ctx: Context) -> None:
    """Keep the latest credit grade."""
    if event.account_id is None:
        return
    at, d = _at(ctx), event.data
    async with _settling(session, ctx, event.account_id, at, f"credit grade {d.grade}"):
        await record_credit_grade(
            session, account_id=event.account_id, grade=d.grade, assessed_at=d.assessed_at, now=at.now
        )


async def on_catalogue_changed(session: AsyncSession, event: CatalogueChanged, ctx: Context) -> None:
    """Keep goals' product catalogue (the newest announcement wins): white space is counted against it."""
    await record_catalogue(session, event=event, now=ctx.clock.now())


USERS: Handlers = {kind: PROJECTION_HANDLERS[kind] for kind in (UserRegistered, UserUpdated, UserDeactivated)}
FEATURES: Handlers = {
    ActualsRecorded: [on_actuals_recorded],
    ActualsVoided: [on_actuals_recorded],  # the month's totals after a void: stored the same way
    ActualsImported: [on_actuals_imported],  # an import's months of one account, applied together
    ComplaintClosed: [on_complaint_closed],
    ComplaintEscalated: [on_complaint_escalated],
    CreditAssessed: [on_credit_assessed],
    SurveyAnswered: [on_survey_answered],
}
CATALOGUE: Handlers = {CatalogueChanged: [on_catalogue_changed]}
HANDLERS: Handlers = merge_handlers(USERS, FEATURES, CATALOGUE)
