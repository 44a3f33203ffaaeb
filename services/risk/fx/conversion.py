"""Currency conversion with dated FX rates (pure): the rates in force on a day, and a converter that keeps
the rate it used for every figure it converted, so that a response can show it.

A rate says that one unit of ``currency`` is worth ``rate`` units of the base currency from ``valid_on`` on; the
rate in force on a day is the latest one on or before it. Between two currencies that are not the base the rate
is the cross rate ``rate(from) ÷ rate(to)``, rounded to 12 places. Every converted item is rounded to 4 places
(half up), so a total is exactly the sum of the converted items it lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext

from shared.errors import Unprocessable
from shared.money import DEFAULT_CURRENCY

# Rates are kept against the platform's default currency.
BASE_CURRENCY = DEFAULT_CURRENCY
RATE_PLACES = Decimal("0.000000000001")  # 12 places: enough for the weakest currencies against CNY
AMOUNT_PLACES = Decimal("0.0001")  # money is kept with 4 places
_PRECISION = 60  # products of a 20-digit amount and a 24-digit rate stay exact


@dataclass(frozen=True)
class Quote:
    """One unit of ``currency`` is worth ``rate`` units of the base currency, from ``valid_on`` on."""

    currency: str
    rate: Decimal
    valid_on: date


class MissingRate(Unprocessable):
    """No rate on or before the day for some currencies: the amounts cannot be added (422 naming them)."""

    def __init__(self, currencies: Iterable[str], *, target: str, day: date, field: str = "currency") -> None:
        missing = sorted(set(currencies))
        super().__init__(
            f"{field}: no FX rate on or before {day} for {', '.join(missing)} to convert into {target}; "
            "amounts in different currencies are never added without one (set it under /risk/fx-rates)",
            field=field,
            missing_currencies=missing,
        )


@dataclass(frozen=True)
class RateTable:
    """The rates in force on ``day`` (the latest on or before it) of the currencies it was loaded for."""

    day: date
    quotes: Mapping[str, Quote]
    base: str = BASE_CURRENCY

    def missing(self, currencies: Iterable[str], target: str) -> list[str]:
        """The currencies among ``currencies`` (and ``target``) that cannot be converted into ``target``."""
        wanted = {c for c in currencies if c != target}
        if not wanted:
            return []
        needed = (wanted | {target}) - {self.base}
        return sorted(c for c in needed if c not in self.quotes)

    def require(self, currencies: Iterable[str], target: str, *, field: str = "currency") -> None:
        """Refuse (422 naming the currencies) unless every one converts into ``target``."""
        missing = self.missing(currencies, target)
        if missing:
            raise MissingRate(missing, target=target, day=self.day, field=field)

    def rate(self, currency: str, target: str) -> tuple[Decimal, date]:
        """The rate from ``currency`` to ``target`` and the date of the (older) quote it rests on."""
        self.require([currency], target)
        source = self.quotes.get(currency)
        goal = self.quotes.get(target)
        with localcontext() as ctx:
            ctx.prec = _PRECISION
            if goal is None:  # into the base
                assert source is not None
                return source.rate, source.valid_on
            source_rate = source.rate if source is not None else Decimal(1)
            rate = (source_rate / goal.rate).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)
        dates = [goal.valid_on] + ([source.valid_on] if source is not None else [])
        return rate, min(dates)


def convert(amount: Decimal, rate: Decimal) -> Decimal:
    """``amount`` × ``rate``, rounded to 4 places (half up)."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return (amount * rate).quantize(AMOUNT_PLACES, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Conversion:
    """The amounts of one currency in one figure, the rate used, and what they came to in the target currency."""

    figure: str
    currency: str
    amount: Decimal
    rate: Decimal
    rate_date: date
    converted_amount: Decimal


@dataclass
class Converter:
    """Converts amounts into ``target`` with one rate table and remembers every conversion per figure."""

    table: RateTable
    target: str
    _groups: dict[tuple[str, str], list[Decimal]] = field(default_factory=dict)

    def to_target(self, amount: Decimal, currency: str, *, figure: str) -> Decimal:
        """``amount`` of ``currency`` in the target currency (unchanged when it is the target already)."""
        if currency == self.target:
            return amount
        rate, _ = self.table.rate(currency, self.target)
        converted = convert(amount, rate)
        group = self._groups.setdefault((figure, currency), [Decimal(0), Decimal(0)])
        group[0] += amount
        group[1] += converted
        return converted

    def conversions(self) -> list[Conversion]:
        """Every conversion made, per figure and currency (in the order first made)."""
        result = []
        for (figure, currency), (amount, converted) in self._groups.items():
            rate, rate_date = self.table.rate(currency, self.target)
            result.append(Conversion(figure, currency, amount, rate, rate_date, converted))
        return result
