"""Domain tier of the business calendar: seeding, loading into the rules, upserting (audited), on a real session."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from services.complaints.calendars import service
from services.complaints.calendars.models import CalendarChange, CalendarYearRow
from services.complaints.calendars.schemas import CalendarYearBody
from shared.errors import Unprocessable
from tests.complaints.domain import SUPERVISOR

HONG_KONG_2026 = CalendarYearBody.model_validate(
    {"holidays": [{"name_zh": "元旦", "name_en": "New Year's Day", "days_off": ["2026-01-01"]}], "source": "test"}
)


async def test_seeding_twice_inserts_the_shipped_year_once_and_the_rules_hold_it(world):
    async with world.transaction() as session:
        again = await service.seed_calendars(
            session, files=world.rules.seed_files, defaults=world.rules.calendar_defaults, now=world.now
        )
        rows = (await session.execute(select(CalendarYearRow))).scalars().all()
        changed = await service.load_rules_calendar(session, rules=world.rules)
    assert again == []  # make_world seeded it already
    assert [(r.calendar_code, r.year, r.version, r.origin) for r in rows] == [("CN", 2026, 1, "seed")]
    assert changed is False  # nothing new to load
    assert world.rules.calendar.covered_years == frozenset({2026})
    assert not world.rules.calendar.is_working_day(date(2026, 10, 1))


async def test_upserting_another_calendar_keeps_the_sla_calendar_and_audits_the_change(world):
    before = world.rules.calendar
    async with world.transaction() as session:
        updated = await service.upsert_year(
            session,
            row=None,
            code="CN-HK",
            year=2026,
            body=HONG_KONG_2026,
            actor=SUPERVISOR,
            now=world.now,
            rules=world.rules,
            publisher=world.publisher,
            request_id="req-1",
        )
        audit = (await session.execute(select(CalendarChange).where(CalendarChange.calendar_code == "CN-HK"))).scalars()
        entries = [(c.version, c.changed_by, c.request_id, c.before) for c in audit]
    assert world.rules.calendar is before
    assert (updated.year.code, updated.year.version, updated.recomputed) == ("CN-HK", 1, 0)
    assert entries == [(1, "sup-wang", "req-1", None)]


def test_a_year_document_is_checked_against_its_year():
    with pytest.raises(Unprocessable) as refused:
        service.check_year(HONG_KONG_2026, 2027)
    assert refused.value.extra["field"] == "holidays.0.days_off"
    service.check_year(HONG_KONG_2026, 2026)
