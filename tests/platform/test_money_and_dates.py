"""Money and business dates: the shared primitives every service uses (DESIGN §4)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from shared.clock import business_date, business_zone, start_of_business_day
from shared.errors import Unprocessable
from shared.money import Amount, CurrencyCode, one_currency


class Priced(BaseModel):
    amount: Amount
    currency: CurrencyCode = "CNY"


@pytest.mark.parametrize("code", ["XYZ", "元", "cny", "CN", "CNYY", "XAU", "XXX", ""])
def test_a_currency_that_is_not_iso_4217_money_is_refused(code: str) -> None:
    with pytest.raises(ValidationError) as info:
        Priced(amount=Decimal("1"), currency=code)
    assert info.value.errors()[0]["loc"] == ("currency",)


@pytest.mark.parametrize("code", ["CNY", "USD", "JPY", "EUR", "HKD", "XOF"])
def test_real_currencies_are_accepted(code: str) -> None:
    assert Priced(amount=Decimal("1"), currency=code).currency == code


@pytest.mark.parametrize("amount", ["1e999999", "NaN", "Infinity", "-inf", "1" * 21, "0.00001"])
def test_an_unbounded_or_over_precise_amount_is_refused(amount: str) -> None:
    with pytest.raises(ValidationError) as info:
        Priced(amount=amount)  # type: ignore[arg-type]
    assert info.value.errors()[0]["loc"] == ("amount",)


def test_an_amount_travels_as_a_decimal_string() -> None:
    assert Priced(amount=Decimal("1234.5")).model_dump(mode="json") == {"amount": "1234.5", "currency": "CNY"}


def test_amounts_of_different_currencies_are_never_added() -> None:
    assert one_currency(["CNY", "CNY"]) == "CNY"
    assert one_currency([]) is None
    with pytest.raises(Unprocessable) as info:
        one_currency(["CNY", "USD", "JPY"], field="invoices")
    assert "JPY, USD" in info.value.detail and info.value.extra["field"] == "invoices"


def test_business_dates_are_counted_in_the_company_zone() -> None:
    zone = business_zone("Asia/Shanghai")
    # 00:30 in Shanghai is still the previous day in UTC; 23:30 is the same UTC date.
    assert business_date(datetime(2026, 3, 1, 16, 30, tzinfo=UTC), zone) == date(2026, 3, 2)
    assert business_date(datetime(2026, 3, 2, 15, 30, tzinfo=UTC), zone) == date(2026, 3, 2)
    assert start_of_business_day(date(2026, 3, 2), zone) == datetime(2026, 3, 1, 16, 0, tzinfo=UTC)
