"""Splitting a target over sub-periods or product lines so the parts add up exactly."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_DOWN, Decimal

CENT = Decimal("0.01")


def money_text(value: Decimal) -> str:
    """A decimal for messages: two places unless it has more."""
    rounded = value.quantize(CENT)
    return format(rounded if rounded == value else value.normalize(), "f")


class SplitMismatch(ValueError):
    """Manual parts that do not add up to the total; ``gap`` = total − sum of parts."""

    def __init__(self, total: Decimal, parts_sum: Decimal) -> None:
        self.total = total
        self.parts_sum = parts_sum
        self.gap = total - parts_sum
        super().__init__(
            f"parts add up to {money_text(parts_sum)} but the target is {money_text(total)}: "
            f"gap of {money_text(self.gap)}"
        )


def split_weighted(total: Decimal, keys: Sequence[str], weights: Sequence[Decimal]) -> dict[str, Decimal]:
    """Split ``total`` in proportion to ``weights``, in cents, largest remainders first; the sum is exact."""
    if len(keys) != len(weights) or not keys:
        raise ValueError(f"need one weight per part: {len(keys)} parts, {len(weights)} weights")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError("weights must be non-negative and not all zero")
    weight_sum = sum(weights, Decimal(0))
    total_cents = (total / CENT).to_integral_value(rounding=ROUND_DOWN)
    if total_cents * CENT != total:
        raise ValueError("total has more than two decimal places")
    exact = [total_cents * w / weight_sum for w in weights]
    floors = [e.to_integral_value(rounding=ROUND_DOWN) for e in exact]
    left = int(total_cents - sum(floors, Decimal(0)))
    # Hand the left-over cents to the largest remainders (ties: the earlier part).
    order = sorted(range(len(keys)), key=lambda i: (-(exact[i] - floors[i]), i))
    step = 1 if left >= 0 else -1
    for i in order[: abs(left)]:
        floors[i] += step
    return {key: (cents * CENT) for key, cents in zip(keys, floors, strict=True)}


def split_even(total: Decimal, keys: Sequence[str]) -> dict[str, Decimal]:
    """Split ``total`` evenly over ``keys`` (cents; the remainder goes to the first parts)."""
    return split_weighted(total, keys, [Decimal(1)] * len(keys))


def check_manual(total: Decimal, parts: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Accept hand-set parts only if they add up to ``total`` exactly."""
    parts_sum = sum(parts.values(), Decimal(0))
    if parts_sum != total:
        raise SplitMismatch(total, parts_sum)
    return dict(parts)
