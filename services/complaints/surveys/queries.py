"""Read side of surveys: requests, answers and follow-ups as the API shows them (with 中文 labels), the visible
lists filtered and paged, and the results per account, contact level and period."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints.models import platform
from services.complaints.surveys.models import (
    SurveyAnswer,
    SurveyFollowUp,
    SurveyRequest,
    SurveySchedule,
    SurveyTemplate,
)
from services.complaints.surveys.results import (
    PeriodResult,
    csat,
    nps,
    period_label,
    response_rate,
    summarise_periods,
)
from services.complaints.surveys.schemas import (
    ANSWERED_BY_LABELS,
    CADENCE_LABELS,
    FOLLOW_UP_STATE_LABELS,
    KIND_LABELS,
    LEVEL_LABELS,
    REQUEST_STATE_LABELS,
    TEMPLATE_STATE_LABELS,
    AnswerRead,
    FollowUpRead,
    PeriodResultRead,
    RequestRead,
    ResultsQuery,
    ResultsRead,
    ScheduleRead,
    TemplateRead,
)
from shared.api import PageParams, check_range
from shared.auth import Principal, visible_accounts_clause
from shared.clock import business_date
from shared.errors import NotFound
from shared.vocabulary import TIER_LABELS

RESULT_LABELS = {
    "nps": "净推荐值（推荐者% − 贬损者%）",
    "csat": "满意度均分（1–5）",
    "response_rate": "答复率（%）",
    "asked": "发出调研数",
    "answered": "已答复数",
    "nps_change": "净推荐值较上期变化",
    "csat_change": "满意度较上期变化",
}


def template_read(template: SurveyTemplate) -> TemplateRead:
    """A template with its state label."""
    return TemplateRead.model_validate({**_columns(template), "state_label": TEMPLATE_STATE_LABELS[template.state]})


def schedule_read(schedule: SurveySchedule) -> ScheduleRead:
    """A schedule with its tier, level and cadence labels."""
    return ScheduleRead.model_validate(
        {
            **_columns(schedule),
            "tier_label": TIER_LABELS[schedule.tier][0],  # type: ignore[index]
            "contact_level_label": LEVEL_LABELS[schedule.contact_level],
            "cadence_label": CADENCE_LABELS[schedule.cadence],
        }
    )


def request_read(request: SurveyRequest) -> RequestRead:
    """A request with its labels (never its link)."""
    return RequestRead.model_validate(
        {
            **_columns(request),
            "kind_label": KIND_LABELS[request.kind],
            "state_label": REQUEST_STATE_LABELS[request.state],
            "contact_level_label": LEVEL_LABELS.get(request.contact_level or ""),
            "link_issued": request.token_hash is not None,
        }
    )


def answer_read(answer: SurveyAnswer, follow_up: SurveyFollowUp | None = None) -> AnswerRead:
    """An answer, marked by who gave it."""
    return AnswerRead.model_validate(
        {
            **_columns(answer),
            "answered_by_label": ANSWERED_BY_LABELS[answer.answered_by],
            "follow_up_id": follow_up.id if follow_up else None,
        }
    )


def follow_up_read(follow_up: SurveyFollowUp) -> FollowUpRead:
    """A follow-up with its state label."""
    return FollowUpRead.model_validate({**_columns(follow_up), "state_label": FOLLOW_UP_STATE_LABELS[follow_up.state]})


def _columns(row: Any) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns}


async def list_requests(
    session: AsyncSession, *, actor: Principal, page: PageParams, filters: dict[str, str | None]
) -> tuple[Sequence[SurveyRequest], int]:
    """Requests of the accounts the actor may see, newest first, filtered by account, state, kind, level."""
    query = select(SurveyRequest).where(visible_accounts_clause(platform, actor, SurveyRequest.account_id))
    for name in ("account_id", "state", "kind", "contact_level", "schedule_id", "complaint_id"):
        if filters.get(name):
            query = query.where(getattr(SurveyRequest, name) == filters[name])
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    ordered = query.order_by(SurveyRequest.created_at.desc(), SurveyRequest.id).limit(page.limit).offset(page.offset)
    return (await session.execute(ordered)).scalars().all(), total


async def answer_of_request(session: AsyncSession, *, request_id: str) -> tuple[SurveyAnswer, SurveyFollowUp | None]:
    """The answer of a request and the follow-up it raised (404 while unanswered)."""
    answer = await session.scalar(select(SurveyAnswer).where(SurveyAnswer.request_id == request_id))
    if answer is None:
        raise NotFound(f"Survey request {request_id} has no answer yet")
    follow_up = await session.scalar(select(SurveyFollowUp).where(SurveyFollowUp.request_id == request_id))
    return answer, follow_up


async def list_follow_ups(
    session: AsyncSession, *, actor: Principal, page: PageParams, filters: dict[str, str | None]
) -> tuple[Sequence[SurveyFollowUp], int]:
    """Follow-ups of the visible accounts, open first then newest, filtered by account, owner and state."""
    query = select(SurveyFollowUp).where(visible_accounts_clause(platform, actor, SurveyFollowUp.account_id))
    for name in ("account_id", "owner_id", "state"):
        if filters.get(name):
            query = query.where(getattr(SurveyFollowUp, name) == filters[name])
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    ordered = query.order_by(SurveyFollowUp.state.desc(), SurveyFollowUp.created_at.desc(), SurveyFollowUp.id)
    return (await session.execute(ordered.limit(page.limit).offset(page.offset))).scalars().all(), total


def _period_read(result: PeriodResult) -> PeriodResultRead:
    return PeriodResultRead.model_validate(result.__dict__)


async def _asked_rows(
    session: AsyncSession, *, actor: Principal, query: ResultsQuery, zone: ZoneInfo
) -> list[tuple[date, str | None, bool, int | None, int | None]]:
    statement = (
        select(
            SurveyRequest.created_at,
            SurveyRequest.contact_level,
            SurveyRequest.state,
            SurveyAnswer.nps,
            SurveyAnswer.csat,
        )
        .outerjoin(SurveyAnswer, SurveyAnswer.request_id == SurveyRequest.id)
        .where(visible_accounts_clause(platform, actor, SurveyRequest.account_id), SurveyRequest.state != "cancelled")
    )
    for name in ("account_id", "contact_level", "kind"):
        if getattr(query, name):
            statement = statement.where(getattr(SurveyRequest, name) == getattr(query, name))
    check_range(query.from_date, query.to_date)
    rows = []
    for created_at, level, state, nps_score, csat_score in await session.execute(statement):
        day = business_date(created_at, zone)
        if (query.from_date and day < query.from_date) or (query.to_date and day > query.to_date):
            continue
        rows.append((day, level, state == "answered", nps_score, csat_score))
    return rows


async def survey_results(
    session: AsyncSession, *, actor: Principal, query: ResultsQuery, page: PageParams, zone: ZoneInfo
) -> ResultsRead:
    """NPS, CSAT and response rate of the filtered requests: overall, by contact level, and per period (newest
    first, paged) with the change against the period before."""
    rows = await _asked_rows(session, actor=actor, query=query, zone=zone)
    periods = summarise_periods([(period_label(r[0], query.granularity), r[2], r[3], r[4]) for r in rows])
    overall = summarise_periods([("all", r[2], r[3], r[4]) for r in rows])
    empty = PeriodResult("all", 0, 0, None, None, None)
    by_level: dict[str, PeriodResultRead] = {}
    for level in LEVEL_LABELS:
        level_rows = [("all", r[2], r[3], r[4]) for r in rows if r[1] == level]
        if level_rows:
            by_level[level] = _period_read(summarise_periods(level_rows)[0])
    newest_first = list(reversed(periods))
    return ResultsRead(
        account_id=query.account_id,
        contact_level=query.contact_level,
        granularity=query.granularity,
        labels=RESULT_LABELS | {f"level.{k}": v for k, v in LEVEL_LABELS.items()},
        overall=_period_read(overall[0] if overall else empty),
        by_level=by_level,
        items=[_period_read(p) for p in newest_first[page.offset : page.offset + page.limit]],
        total=len(periods),
        limit=page.limit,
        offset=page.offset,
    )


async def account_summary(session: AsyncSession, *, account_id: str) -> dict[str, Any]:
    """The account's survey standing for its overview: NPS and CSAT of every answer, the latest answer's time,
    the response rate of the requests asked and the open follow-ups."""
    scores = (
        await session.execute(
            select(SurveyAnswer.nps, SurveyAnswer.csat, SurveyAnswer.answered_at).where(
                SurveyAnswer.account_id == account_id
            )
        )
    ).all()
    counted = (SurveyRequest.account_id == account_id, SurveyRequest.state != "cancelled")
    asked = int(await session.scalar(select(func.count()).where(*counted)) or 0)
    answered = int(await session.scalar(select(func.count()).where(*counted, SurveyRequest.state == "answered")) or 0)
    open_follow_ups = await session.scalar(
        select(func.count()).where(SurveyFollowUp.account_id == account_id, SurveyFollowUp.state == "open")
    )
    rate = response_rate(answered, asked)
    nps_value = nps(r[0] for r in scores if r[0] is not None)
    csat_value = csat(r[1] for r in scores if r[1] is not None)
    return {
        "nps": float(nps_value) if nps_value is not None else None,
        "csat": float(csat_value) if csat_value is not None else None,
        "last_answered_at": max((r[2] for r in scores), default=None),
        "asked": asked,
        "answered": answered,
        "response_rate": float(rate) if rate is not None else None,
        "open_follow_ups": int(open_follow_ups or 0),
    }
