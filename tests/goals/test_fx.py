"""The pure FX core: the latest rate on or before a day, conversion rounding and range."""

from datetime import date
from decimal import Decimal as D

from services.goals.fx import MAX_AMOUNT, Rate, RateBook, convert, fits, no_rate


def book() -> RateBook:
    rates = RateBook()
    rates.add(
        ("USD", "CNY"),
        [Rate("USD", "CNY", D("7.25"), date(2026, 3, 1)), Rate("USD", "CNY", D("7.1"), date(2026, 1, 1))],
    )
    rates.add(("EUR", "CNY"), [])
    return rates


def test_the_latest_rate_on_or_before_the_day_is_used():
    rates = book()
    assert rates.rate_on("USD", "CNY", date(2025, 12, 31)) is None
    assert rates.rate_on("USD", "CNY", date(2026, 1, 1)).rate == D("7.1")  # valid from its own day
    assert rates.rate_on("USD", "CNY", date(2026, 2, 28)).rate == D("7.1")
    assert rates.rate_on("USD", "CNY", date(2026, 3, 1)).rate == D("7.25")
    assert rates.rate_on("USD", "CNY", date(2030, 1, 1)).rate == D("7.25")
    # Only the published direction: no CNY→USD is derived from USD→CNY.
    assert rates.rate_on("CNY", "USD", date(2026, 3, 1)) is None
    assert rates.has(("EUR", "CNY")) and rates.rate_on("EUR", "CNY", date(2026, 3, 1)) is None
    assert not rates.has(("JPY", "CNY"))


def test_conversion_rounds_half_up_to_four_places_and_knows_the_column_range():
    rate = Rate("JPY", "CNY", D("0.048325"), date(2026, 1, 1))
    assert convert(D("12345"), rate) == D("596.5721")  # 596.572125
    assert convert(D("-1"), rate) == D("-0.0483")
    assert fits(MAX_AMOUNT - D("0.0001")) and not fits(MAX_AMOUNT)
    assert no_rate("USD", "CNY", date(2026, 3, 1)).startswith("no USD→CNY rate valid on or before 2026-03-01")
