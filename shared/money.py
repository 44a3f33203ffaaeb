"""Money (DESIGN §4): an ISO 4217 currency on every amount, bounded decimals, and no sums across currencies."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Annotated

from iso4217 import Currency
from pydantic import AfterValidator, Field, PlainSerializer, WithJsonSchema

from shared.errors import Unprocessable

# Codes for real money: the ISO list less the units without minor digits (metals, SDR, the test and no-currency codes).
CURRENCY_CODES: frozenset[str] = frozenset(c.code for c in Currency if c.exponent is not None)
DEFAULT_CURRENCY = "CNY"
MAX_DIGITS = 20
DECIMAL_PLACES = 4


def _currency(value: str) -> str:
    if value not in CURRENCY_CODES:
        raise ValueError(f"{value!r} is not an ISO 4217 currency code (three capital letters, e.g. CNY, USD, JPY)")
    return value


CurrencyCode = Annotated[
    str,
    Field(min_length=3, max_length=3, examples=["CNY"], description="ISO 4217 currency code"),
    AfterValidator(_currency),
]

_to_str = PlainSerializer(lambda v: format(v, "f"), return_type=str, when_used="json")

# How an amount is documented (requests and responses alike): a decimal string of at most 20 digits, 4 after the
# point. A JSON number is still accepted on input, but the string is the contract (no binary rounding).
AMOUNT_PATTERN = rf"^-?\d{{1,{MAX_DIGITS - DECIMAL_PLACES}}}(\.\d{{1,{DECIMAL_PLACES}}})?$"
NON_NEGATIVE_AMOUNT_PATTERN = AMOUNT_PATTERN.replace("^-?", "^", 1)
_amount_schema = WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN, "examples": ["12500.00"]})
_non_negative_amount_schema = WithJsonSchema(
    {"type": "string", "pattern": NON_NEGATIVE_AMOUNT_PATTERN, "examples": ["12500.00"]}
)

# An amount in requests and responses: a finite decimal with at most 20 digits, 4 after the point; a string in JSON.
Amount = Annotated[
    Decimal,
    Field(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, allow_inf_nan=False),
    _to_str,
    _amount_schema,
]
# A non-negative amount (limits, invoices, payments, targets).
NonNegativeAmount = Annotated[
    Decimal,
    Field(ge=0, max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, allow_inf_nan=False),
    _to_str,
    _non_negative_amount_schema,
]


# An FX rate as it travels: a decimal string without trailing zeros ("7.1234", not "7.123400000000").
RateStr = Annotated[Decimal, PlainSerializer(lambda v: format(v.normalize(), "f"), return_type=str, when_used="json")]


def one_currency(currencies: Iterable[str], *, field: str = "currency") -> str | None:
    """The single currency of a set of amounts about to be added; a mix is refused (422 naming ``field``)."""
    found = sorted(set(currencies))
    if len(found) > 1:
        raise Unprocessable(
            f"{field}: amounts in {', '.join(found)} cannot be added without a conversion rate", field=field
        )
    return found[0] if found else None
