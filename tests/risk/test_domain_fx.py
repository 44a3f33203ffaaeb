"""FX domain on a real SQLite session, no HTTP: the rate in force on a day, maintenance, audit and events."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from services.risk.fx import service
from services.risk.fx.models import FxRateChange
from services.risk.fx.schemas import FxRateRow
from shared.errors import Unprocessable
from tests.risk.support import START, Domain, actor, published

KEEPER = actor("risk-chen")


def _row(currency: str, day: str, rate: str) -> FxRateRow:
    return FxRateRow(currency=currency, valid_on=date.fromisoformat(day), rate=Decimal(rate))


async def test_the_rate_in_force_is_the_latest_on_or_before_the_day(domain: Domain):
    async with domain.db.transaction() as session:
        rows = [_row("USD", "2026-03-01", "7.1"), _row("USD", "2026-03-10", "7.2"), _row("JPY", "2026-03-12", "0.05")]
        await service.import_rates(
            session, rows=rows, source="import", actor=KEEPER, publisher=domain.publisher, now=START
        )
        table = await service.rate_table(session, currencies={"USD", "JPY", "CNY"}, day=date(2026, 3, 11))
        assert {c: (q.rate, q.valid_on) for c, q in table.quotes.items()} == {
            "USD": (Decimal("7.2"), date(2026, 3, 10))
        }
        assert table.missing(["USD", "JPY"], "CNY") == ["JPY"]  # JPY starts the next day
        assert (await service.rate_in_force(session, currency="USD", on=date(2026, 3, 9))).rate == Decimal("7.1")
        assert await service.rate_in_force(session, currency="USD", on=date(2026, 2, 28)) is None
        with pytest.raises(Unprocessable) as refused:
            await service.converter_for(session, target="CNY", currencies={"USD", "JPY"}, day=date(2026, 3, 11))
        assert refused.value.extra["missing_currencies"] == ["JPY"]


async def test_a_rate_set_again_unchanged_is_neither_audited_nor_published(domain: Domain):
    async with domain.db.transaction() as session:
        for rate in ("7.1", "7.10", "7.3"):
            await service.set_rate(
                session, row=_row("USD", "2026-03-01", rate), actor=KEEPER, publisher=domain.publisher, now=START
            )
        changes = (await session.execute(select(FxRateChange).order_by(FxRateChange.id))).scalars().all()
        assert [(c.old_rate, c.new_rate, c.changed_by) for c in changes] == [
            (None, Decimal("7.1"), "risk-chen"),
            (Decimal("7.1"), Decimal("7.3"), "risk-chen"),
        ]
        events = await published(session, "risk.fx_rate_set")
        assert [e["data"]["rate"] for e in events] == ["7.1", "7.3"]


async def test_a_batch_with_a_bad_row_changes_nothing(domain: Domain):
    async with domain.db.transaction() as session:
        rows = [_row("USD", "2026-03-01", "7.1"), _row("CNY", "2026-03-01", "1")]
        with pytest.raises(Unprocessable) as refused:
            await service.import_rates(
                session, rows=rows, source="import", actor=KEEPER, publisher=domain.publisher, now=START
            )
        assert refused.value.extra["field"] == "rates.1.currency"
        assert (await service.rate_table(session, currencies={"USD"}, day=date(2026, 3, 2))).quotes == {}
        assert await published(session, "risk.fx_rate_set") == []


def test_a_csv_file_becomes_rows_and_its_bad_lines_are_named():
    rows = service.parse_csv(b"currency,valid_on,rate,base_currency\nUSD,2026-03-01,7.1,CNY\nJPY,2026-03-01,0.05,\n")
    assert [(r.currency, r.rate, r.base_currency) for r in rows] == [
        ("USD", Decimal("7.1"), "CNY"),
        ("JPY", Decimal("0.05"), None),
    ]
    with pytest.raises(Unprocessable) as refused:
        service.parse_csv(b"currency,valid_on,rate,note\nUSD,2026-03-01,abc,hi\nJPY,2026-03-01,0.05,,extra\n")
    assert [e["field"] for e in refused.value.extra["errors"]] == ["rates.0.rate", "rates.0.note", "rates.1"]
