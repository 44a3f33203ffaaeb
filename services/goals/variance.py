"""Variance analysis: which parts explain a difference, and price versus volume effect (pure, Decimal)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from services.goals.forecast import HUNDRED, q2


@dataclass(frozen=True)
class Cell:
    """An amount and, where known, the quantity behind it."""

    amount: Decimal
    quantity: Decimal | None = None


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


def price_volume(current: Cell, baseline: Cell) -> tuple[Decimal | None, Decimal | None]:
    """Split a delta into price effect ((P1 − P0) × Q1) and volume effect ((Q1 − Q0) × P0); they sum to it."""
    q1, q0 = current.quantity, baseline.quantity
    if q1 is None or q0 is None:
        return None, None
    if q0 == 0:
        # Nothing sold before: the whole difference is volume.
        return Decimal(0), q2(current.amount - baseline.amount)
    p0 = baseline.amount / q0
    if q1 == 0:
        return Decimal(0), q2(current.amount - baseline.amount)
    volume = q2((q1 - q0) * p0)
    return q2(current.amount - baseline.amount) - volume, volume


def compare(current: Mapping[str, Cell], baseline: Mapping[str, Cell]) -> list[VarianceRow]:
    """Rows per key (union of both sides), largest absolute delta first."""
    keys = sorted(set(current) | set(baseline))
    zero = Cell(Decimal(0), Decimal(0))
    total_delta = sum((current.get(k, zero).amount - baseline.get(k, zero).amount for k in keys), Decimal(0))
    rows = []
    for key in keys:
        cur = current.get(key, Cell(Decimal(0), Decimal(0) if baseline.get(key, zero).quantity is not None else None))
        base = baseline.get(key, Cell(Decimal(0), Decimal(0) if cur.quantity is not None else None))
        delta = cur.amount - base.amount
        price, volume = price_volume(cur, base)
        rows.append(
            VarianceRow(
                key=key,
                current=q2(cur.amount),
                baseline=q2(base.amount),
                delta=q2(delta),
                share_pct=q2(delta / total_delta * HUNDRED) if total_delta else None,
                price_effect=price,
                volume_effect=volume,
            )
        )
    rows.sort(key=lambda r: (-abs(r.delta), r.key))
    return rows
