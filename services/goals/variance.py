"""Variance analysis: which parts explain a difference, and its price, volume, mix, cost and new / lost effects
(pure, Decimal).

A *unit* is what has one price: a product line of one account. Between a baseline and a current side, over the
units of a scope (an account, a team, the portfolio), with pᵢ = revenue ÷ quantity, cᵢ = cost ÷ quantity,
mᵢ = pᵢ − cᵢ, and Q the total quantity of the units sold on both sides:

- **new** (sold now, not in the baseline): its whole current figure; **lost** (the reverse): minus its baseline;
- **price** (p₁ − p₀)·q₁; for gross profit also the **cost effect** −(c₁ − c₀)·q₁;
- **volume** (Q₁ ÷ Q₀ − 1) × the unit's baseline figure: the scope selling more or less of its old basket;
- **mix** q₁·v₀ − (Q₁ ÷ Q₀)·(baseline figure), v₀ the unit value (p₀, or m₀ for gross profit): the basket shifting
  between dearer and cheaper units; volume + mix = (q₁ − q₀)·v₀.

Price, cost and volume are rounded to cents and mix takes the remainder, so each unit's effects add up to its
delta exactly, and any group of units (a product line, an account, a team, the portfolio) to the group's delta.
A unit sold on both sides whose quantity is unknown cannot be told price from volume: its delta is volume.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TypeVar

from services.goals.forecast import HUNDRED, q2

K = TypeVar("K", bound=Hashable)
ZERO = Decimal(0)
VARIANCE_METRICS = ("revenue", "gross_profit")


@dataclass(frozen=True)
class Cell:
    """An amount and, where known, the quantity behind it."""

    amount: Decimal
    quantity: Decimal | None = None


@dataclass(frozen=True)
class Sales:
    """One unit's sales on one side: revenue, cost and (where known) quantity."""

    revenue: Decimal
    cost: Decimal = ZERO
    quantity: Decimal | None = None

    def value(self, metric: str) -> Decimal:
        """The figure being explained: revenue, or gross profit (revenue − cost)."""
        return self.revenue if metric == "revenue" else self.revenue - self.cost

    @property
    def present(self) -> bool:
        """Whether anything was sold (or returned)."""
        return self.revenue != 0 or self.cost != 0 or bool(self.quantity)

    def __add__(self, other: Sales) -> Sales:
        quantity = None if self.quantity is None or other.quantity is None else self.quantity + other.quantity
        return Sales(self.revenue + other.revenue, self.cost + other.cost, quantity)


NOTHING = Sales(ZERO, ZERO, ZERO)


@dataclass(frozen=True)
class Effects:
    """Why a figure moved; the effects add up to the delta (``cost`` only for gross profit)."""

    price: Decimal = ZERO
    volume: Decimal = ZERO
    mix: Decimal = ZERO
    new: Decimal = ZERO
    lost: Decimal = ZERO
    cost: Decimal | None = None

    @property
    def total(self) -> Decimal:
        """The sum of the effects: the delta they explain."""
        return self.price + self.volume + self.mix + self.new + self.lost + (self.cost or ZERO)

    def __add__(self, other: Effects) -> Effects:
        cost = None if self.cost is None and other.cost is None else (self.cost or ZERO) + (other.cost or ZERO)
        return Effects(
            self.price + other.price,
            self.volume + other.volume,
            self.mix + other.mix,
            self.new + other.new,
            self.lost + other.lost,
            cost,
        )


def _priced(current: Sales, baseline: Sales) -> bool:
    """Sold on both sides with a known quantity and a baseline price."""
    return (
        current.present
        and baseline.present
        and current.quantity is not None
        and baseline.quantity is not None
        and baseline.quantity > 0
    )


def unit_effects(current: Mapping[K, Sales], baseline: Mapping[K, Sales], *, metric: str) -> dict[K, Effects]:
    """The effects of every unit of a scope (the union of both sides), volume and mix against the scope's totals."""
    if metric not in VARIANCE_METRICS:
        raise ValueError(f"variance of {metric!r}: only {VARIANCE_METRICS}")
    keys = set(current) | set(baseline)
    sides = {k: (current.get(k, NOTHING), baseline.get(k, NOTHING)) for k in keys}
    priced = [k for k, (c, b) in sides.items() if _priced(c, b)]
    q0 = sum((sides[k][1].quantity or ZERO for k in priced), ZERO)
    q1 = sum((sides[k][0].quantity or ZERO for k in priced), ZERO)
    growth = q1 / q0 if q0 > 0 else Decimal(1)
    with_cost = metric == "gross_profit"
    out: dict[K, Effects] = {}
    for key, (cur, base) in sides.items():
        delta = cur.value(metric) - base.value(metric)
        cost_zero = ZERO if with_cost else None
        if cur.present and not base.present:
            out[key] = Effects(new=delta, cost=cost_zero)
        elif base.present and not cur.present:
            out[key] = Effects(lost=delta, cost=cost_zero)
        elif key not in priced:
            out[key] = Effects(volume=delta, cost=cost_zero)
        else:
            out[key] = _priced_effects(cur, base, metric=metric, growth=growth)
    return out


def _priced_effects(cur: Sales, base: Sales, *, metric: str, growth: Decimal) -> Effects:
    """Price, cost and volume in cents, mix the remainder (so they add up to the delta exactly)."""
    assert cur.quantity is not None and base.quantity is not None
    q1, q0 = cur.quantity, base.quantity
    delta = cur.value(metric) - base.value(metric)
    price = q2(cur.revenue - base.revenue / q0 * q1)
    cost = q2(-(cur.cost - base.cost / q0 * q1)) if metric == "gross_profit" else None
    volume = q2((growth - 1) * base.value(metric))
    return Effects(price=price, volume=volume, mix=delta - price - volume - (cost or ZERO), cost=cost)


@dataclass(frozen=True)
class VarianceRow:
    """One part's contribution to the difference between current and baseline."""

    key: str
    current: Decimal
    baseline: Decimal
    delta: Decimal
    share_pct: Decimal | None  # this part's delta as a share of the total delta
    price_effect: Decimal | None
    volume_effect: Decimal | None
    mix_effect: Decimal | None = None
    new_effect: Decimal | None = None
    lost_effect: Decimal | None = None
    cost_effect: Decimal | None = None


def row_of(key: str, current: Decimal, baseline: Decimal, effects: Effects | None, total: Decimal) -> VarianceRow:
    """A row with its share of ``total`` (the delta of the whole) and its effects (none: not computed)."""
    delta = current - baseline
    e = effects
    return VarianceRow(
        key=key,
        current=current,
        baseline=baseline,
        delta=delta,
        share_pct=q2(delta / total * HUNDRED) if total else None,
        price_effect=e.price if e else None,
        volume_effect=e.volume if e else None,
        mix_effect=e.mix if e else None,
        new_effect=e.new if e else None,
        lost_effect=e.lost if e else None,
        cost_effect=e.cost if e else None,
    )


def grouped(
    current: Mapping[K, Sales],
    baseline: Mapping[K, Sales],
    effects: Mapping[K, Effects],
    *,
    metric: str,
    key_of: Callable[[K], str],
) -> list[VarianceRow]:
    """Units summed into rows by ``key_of`` (their effects too), largest absolute delta first."""
    sums: dict[str, tuple[Decimal, Decimal, Effects]] = {}
    for unit, effect in effects.items():
        key = key_of(unit)
        cur, base, total = sums.get(key, (ZERO, ZERO, Effects()))
        cur += current.get(unit, NOTHING).value(metric)
        base += baseline.get(unit, NOTHING).value(metric)
        sums[key] = (cur, base, total + effect)
    whole = sum((c - b for c, b, _ in sums.values()), ZERO)
    rows = [row_of(k, c, b, e, whole) for k, (c, b, e) in sums.items()]
    return sort_rows(rows)


def sort_rows(rows: list[VarianceRow]) -> list[VarianceRow]:
    """Largest absolute delta first (ties by key)."""
    return sorted(rows, key=lambda r: (-abs(r.delta), r.key))


def price_volume(current: Cell, baseline: Cell) -> tuple[Decimal | None, Decimal | None]:
    """One product alone: price effect ((P1 − P0) × Q1) and volume effect ((Q1 − Q0) × P0); they sum to the delta
    (with several products volume splits further into volume and mix: ``unit_effects``)."""
    if current.quantity is None or baseline.quantity is None:
        return None, None
    e = unit_effects(
        {0: Sales(current.amount, quantity=current.quantity)},
        {0: Sales(baseline.amount, quantity=baseline.quantity)},
        metric="revenue",
    )[0]
    return e.price, e.volume + e.mix + e.new + e.lost


def compare(current: Mapping[str, Cell], baseline: Mapping[str, Cell]) -> list[VarianceRow]:
    """Rows per key (union of both sides, each key one unit), largest absolute delta first; effects only when some
    side knows quantities (a plan has none)."""
    cells = [*current.values(), *baseline.values()]
    if not any(c.quantity is not None for c in cells):
        total = sum((c.amount for c in current.values()), ZERO) - sum((c.amount for c in baseline.values()), ZERO)
        keys = sorted(set(current) | set(baseline))
        zero = Cell(ZERO)
        return sort_rows(
            [row_of(k, current.get(k, zero).amount, baseline.get(k, zero).amount, None, total) for k in keys]
        )
    cur = {k: Sales(c.amount, quantity=c.quantity) for k, c in current.items()}
    base = {k: Sales(c.amount, quantity=c.quantity) for k, c in baseline.items()}
    rows = grouped(cur, base, unit_effects(cur, base, metric="revenue"), metric="revenue", key_of=str)
    return [replace(r, cost_effect=None) for r in rows]
