"""FX conversion (pure): the latest dated rate on or before a day, and an amount converted with it.

A rate says one unit of ``currency`` is worth ``rate`` units of ``base_currency`` from ``valid_on`` (a business
date) on, as ``risk.fx_rate_set`` publishes it. Only that direction is used: no inverse is derived.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

FOUR_PLACES = Decimal("0.0001")
# The largest amount a money column holds (20 digits, 4 of them after the point).
MAX_AMOUNT = Decimal(10) ** 16

Pair = tuple[str, str]  # (currency, base_currency)


@dataclass(frozen=True)
class Rate:
    """One dated rate: 1 ``currency`` = ``rate`` ``base_currency`` from ``valid_on``."""

    currency: str
    base_currency: str
    rate: Decimal
    valid_on: date


class RateBook:
    """Dated rates by currency pair, loaded once per request or import chunk, looked up without I/O."""

    def __init__(self) -> None:
        self._rates: dict[Pair, list[Rate]] = {}
        self._days: dict[Pair, list[date]] = {}

    def has(self, pair: Pair) -> bool:
        """Whether the pair's rates were loaded (possibly none)."""
        return pair in self._rates

    def add(self, pair: Pair, rates: Iterable[Rate]) -> None:
        """Keep a pair's rates (replacing what was loaded for it)."""
        ordered = sorted(rates, key=lambda r: r.valid_on)
        self._rates[pair] = ordered
        self._days[pair] = [r.valid_on for r in ordered]

    def rate_on(self, currency: str, base_currency: str, day: date) -> Rate | None:
        """The latest rate of the pair valid on or before ``day`` (None: no rate that early, or none at all)."""
        pair = (currency, base_currency)
        days = self._days.get(pair)
        if not days:
            return None
        index = bisect.bisect_right(days, day)
        return self._rates[pair][index - 1] if index else None


def convert(amount: Decimal, rate: Rate) -> Decimal:
    """``amount`` in the rate's currency as an amount of its base currency (four places, half up)."""
    return (amount * rate.rate).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)


def fits(amount: Decimal) -> bool:
    """Whether a (converted) amount still fits a money column."""
    return abs(amount) < MAX_AMOUNT


def no_rate(currency: str, base_currency: str, day: date) -> str:
    """Why an amount in ``currency`` cannot be taken: the reason every refusal gives."""
    return (
        f"no {currency}→{base_currency} rate valid on or before {day.isoformat()}: amounts in {currency} are "
        f"converted into the account's reporting currency {base_currency} with a dated rate (risk.fx_rate_set)"
    )
