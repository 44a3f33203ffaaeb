"""Sales cells of a scope turned into variance units (a product line of an account) and broken down by product
line, month, region, account and account manager, each row with its price, volume, mix, cost and new / lost
effects (pure: the cells are read from the aggregates by the caller)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from services.goals.actuals.figures import SalesCell
from services.goals.variance import NOTHING, Effects, Sales, VarianceRow, grouped, row_of, sort_rows, unit_effects

Unit = tuple[str, str]  # (account_id, product_line): what has one price
ZERO = Decimal(0)


def units_of(cells: Iterable[SalesCell]) -> dict[Unit, Sales]:
    """Cells summed per unit (a unit's quantity is unknown when one of its cells has none)."""
    out: dict[Unit, Sales] = {}
    for cell in cells:
        key = (cell.account_id, cell.product_line)
        out[key] = out.get(key, NOTHING) + Sales(cell.revenue, cell.cost, cell.quantity)
    return out


@dataclass(frozen=True)
class Breakdown:
    """A scope's variance: the totals, the effects of the whole and the rows of every level."""

    current_total: Decimal
    baseline_total: Decimal
    effects: Effects
    by_product_line: list[VarianceRow]
    by_month: list[VarianceRow]
    by_region: list[VarianceRow]
    by_account: list[VarianceRow]
    by_owner: list[VarianceRow] = field(default_factory=list)


def _within(
    keys: list[str],
    current: list[SalesCell],
    baseline: list[SalesCell],
    *,
    metric: str,
    of_current: Callable[[SalesCell], str],
    of_baseline: Callable[[SalesCell], str],
) -> list[VarianceRow]:
    """One row per key (a month, a region), its effects decomposed among the units inside it alone."""
    parts: dict[str, tuple[Decimal, Decimal, Effects]] = {}
    for key in keys:
        cur = units_of([c for c in current if of_current(c) == key])
        base = units_of([c for c in baseline if of_baseline(c) == key])
        effects = unit_effects(cur, base, metric=metric)
        parts[key] = (
            sum((s.value(metric) for s in cur.values()), ZERO),
            sum((s.value(metric) for s in base.values()), ZERO),
            sum(effects.values(), Effects(cost=ZERO if metric == "gross_profit" else None)),
        )
    whole = sum((c - b for c, b, _ in parts.values()), ZERO)
    return sort_rows([row_of(k, c, b, e, whole) for k, (c, b, e) in parts.items()])


def breakdown(
    current: list[SalesCell],
    baseline: list[SalesCell],
    *,
    metric: str,
    months: list[str],
    label: Mapping[str, str],
    owners: Mapping[str, str] | None = None,
) -> Breakdown:
    """The variance of ``current`` against ``baseline`` (a baseline month counts as the current month ``label``
    names); ``owners`` (account → account manager) adds the rows per account manager."""
    cur, base = units_of(current), units_of(baseline)
    effects = unit_effects(cur, base, metric=metric)
    total = sum(effects.values(), Effects(cost=ZERO if metric == "gross_profit" else None))

    def rows(key_of: Callable[[Unit], str]) -> list[VarianceRow]:
        return grouped(cur, base, effects, metric=metric, key_of=key_of)

    regions = sorted({c.region or "-" for c in [*current, *baseline]})
    return Breakdown(
        current_total=sum((s.value(metric) for s in cur.values()), ZERO),
        baseline_total=sum((s.value(metric) for s in base.values()), ZERO),
        effects=total,
        by_product_line=rows(lambda u: u[1]),
        by_month=_within(
            months,
            current,
            baseline,
            metric=metric,
            of_current=lambda c: c.month,
            of_baseline=lambda c: label[c.month],
        ),
        by_region=_within(
            regions,
            current,
            baseline,
            metric=metric,
            of_current=lambda c: c.region or "-",
            of_baseline=lambda c: c.region or "-",
        ),
        by_account=rows(lambda u: u[0]),
        by_owner=rows(lambda u: owners.get(u[0], "-")) if owners is not None else [],
    )
