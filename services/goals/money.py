"""Money as the goals API writes it: decimal strings, two places when exact in cents, else the stored four."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, overload

from pydantic import AfterValidator, PlainSerializer


def cents(value: Decimal) -> Decimal:
    """Two places when exact in cents (as money is shown), else the stored four."""
    rounded = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return rounded if rounded == value else value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


@overload
def money_str(value: Decimal) -> str: ...
@overload
def money_str(value: Decimal | None) -> str | None: ...
def money_str(value: Decimal | None) -> str | None:
    """Money as the API writes it everywhere (two places when exact in cents)."""
    return None if value is None else format(cents(Decimal(value)), "f")


# Amounts travel as decimal strings (DESIGN §4), the same whether just created or read back.
MoneyStr = Annotated[
    Decimal,
    AfterValidator(cents),
    PlainSerializer(lambda v: format(v, "f"), return_type=str, when_used="json"),
]

# FX rates travel as decimal strings without trailing zeros ("7.1", "0.000452").
RateStr = Annotated[
    Decimal,
    PlainSerializer(lambda v: format(Decimal(v).normalize(), "f"), return_type=str, when_used="json"),
]
