"""Sales lines given in another currency than their account reports in: converted with the latest rate on or
before the sale date, keeping what was given and the rate used on the row."""

from __future__ import annotations

from typing import Any

from services.goals.fx import Rate, RateBook, convert, fits, no_rate

# The columns a converted line carries besides a plain one.
CONVERSION_COLUMNS = ("original_currency", "original_revenue", "original_cost", "fx_rate", "fx_rate_on")


def foreign_pair(row: dict[str, Any]) -> tuple[str, str]:
    """(given currency, reporting currency) of a line given in another currency."""
    return row["original_currency"], row["currency"]


def convert_line(row: dict[str, Any], book: RateBook) -> Rate:
    """Convert a line whose ``original_currency`` differs from its ``currency`` (the reporting one) in place;
    ValueError with the reason when there is no rate or the amounts no longer fit."""
    given, reporting = foreign_pair(row)
    rate = book.rate_on(given, reporting, row["sale_date"])
    if rate is None:
        raise ValueError(no_rate(given, reporting, row["sale_date"]))
    revenue, cost = convert(row["revenue"], rate), convert(row["cost"], rate)
    if not (fits(revenue) and fits(cost)):
        raise ValueError(f"revenue or cost is too large once converted into {reporting}")
    row.update(
        original_revenue=row["revenue"],
        original_cost=row["cost"],
        revenue=revenue,
        cost=cost,
        fx_rate=rate.rate,
        fx_rate_on=rate.valid_on,
    )
    return rate
