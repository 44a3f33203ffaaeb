"""HTTP routes of the business calendar: list the calendars and their years, read a year, upsert a whole year."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.complaints.calendars import service
from services.complaints.calendars.schemas import (
    CalendarCodePath,
    CalendarList,
    CalendarYearBody,
    CalendarYearRead,
    CalendarYearUpdated,
    YearPath,
)
from services.complaints.deps import Actor, CalendarYearForRead, CalendarYearForUpsert, RulesDep, Supervisor
from shared.api import set_etag
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, PublisherDep, SessionDep

router = APIRouter(tags=["complaints: calendar"], responses=PROBLEM_RESPONSES)


@router.get("/complaints/calendars", summary="Business calendars, their years and how long they last")
async def list_calendars(session: SessionDep, _: Actor, clock: ClockDep, rules: RulesDep) -> CalendarList:
    """Every calendar with its stored years; ``calendar_warnings`` when the SLA's calendar ends within 60 days."""
    return await service.list_calendars(session, rules=rules, now=clock.now())


@router.get("/complaints/calendars/{code}/{year}", summary="One year of a business calendar")
async def get_year(row: CalendarYearForRead, response: Response, session: SessionDep) -> CalendarYearRead:
    """Working hours, holidays (days off, make-up workdays) and who changed the year when."""
    set_etag(response, row.version)
    return await service.read_year(session, row=row)


@router.put("/complaints/calendars/{code}/{year}", summary="Upsert a whole year (recomputes open timers)")
async def put_year(
    code: CalendarCodePath,
    year: YearPath,
    body: CalendarYearBody,
    row: CalendarYearForUpsert,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: Supervisor,
    clock: ClockDep,
    rules: RulesDep,
    publisher: PublisherDep,
) -> CalendarYearUpdated:
    """Supervisors replace a year; the SLA uses it from the next computation and open timers move with it."""
    updated = await service.upsert_year(
        session,
        row=row,
        code=code,
        year=year,
        body=body,
        actor=actor,
        now=clock.now(),
        rules=rules,
        publisher=publisher,
        request_id=getattr(request.state, "request_id", None),
    )
    set_etag(response, updated.year.version)
    return updated
