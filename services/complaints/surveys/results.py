"""Survey arithmetic (pure): NPS, CSAT, response rate, periods, the trend between periods and what a low score is."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

Granularity = Literal["month", "quarter", "year"]
Cadence = Literal["yearly", "quarterly", "monthly", "after_delivery", "after_complaint_close"]
PERIODIC_CADENCES: tuple[Cadence, ...] = ("yearly", "quarterly", "monthly")
CENT = Decimal("0.01")
PROMOTER_MIN, DETRACTOR_MAX = 9, 6


def nps(scores: Iterable[int]) -> Decimal | None:
    """Net Promoter Score: % promoters (9–10) − % detractors (0–6), −100 … 100 (2 decimals); None without answers."""
    values = list(scores)
    if not values:
        return None
    promoters = sum(1 for s in values if s >= PROMOTER_MIN)
    detractors = sum(1 for s in values if s <= DETRACTOR_MAX)
    return (Decimal(promoters - detractors) * 100 / len(values)).quantize(CENT, rounding=ROUND_HALF_UP)


def csat(scores: Iterable[int]) -> Decimal | None:
    """The CSAT average (1–5, 2 decimals); None without answers."""
    values = list(scores)
    if not values:
        return None
    return (Decimal(sum(values)) / len(values)).quantize(CENT, rounding=ROUND_HALF_UP)


def response_rate(answered: int, asked: int) -> Decimal | None:
    """Answered requests in % of the requests asked (2 decimals); None when nothing was asked."""
    if asked <= 0:
        return None
    return (Decimal(answered) * 100 / asked).quantize(CENT, rounding=ROUND_HALF_UP)


def period_label(day: date, granularity: Granularity) -> str:
    """``2026`` (year), ``2026-Q1`` (quarter) or ``2026-03`` (month) of a business date."""
    if granularity == "year":
        return f"{day.year:04d}"
    if granularity == "quarter":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year:04d}-{day.month:02d}"


def cadence_period(cadence: Cadence, day: date) -> str | None:
    """The period a periodic cadence asks once in (None for the event-driven cadences)."""
    granularity: dict[str, Granularity] = {"yearly": "year", "quarterly": "quarter", "monthly": "month"}
    return period_label(day, granularity[cadence]) if cadence in granularity else None


def is_low_score(*, nps_score: int | None, csat_score: int | None, low_nps: int, low_csat: int) -> bool:
    """Whether an answer is low: an NPS at or below ``low_nps`` or a CSAT at or below ``low_csat``."""
    return (nps_score is not None and nps_score <= low_nps) or (csat_score is not None and csat_score <= low_csat)


@dataclass(frozen=True)
class PeriodResult:
    """One period's results: answers, requests asked, NPS, CSAT, response rate and the change since the last."""

    period: str
    asked: int
    answered: int
    nps: Decimal | None
    csat: Decimal | None
    response_rate: Decimal | None
    nps_change: Decimal | None = None
    csat_change: Decimal | None = None


def _change(now: Decimal | None, before: Decimal | None) -> Decimal | None:
    return None if now is None or before is None else now - before


def summarise_periods(requests: Sequence[tuple[str, bool, int | None, int | None]]) -> list[PeriodResult]:
    """Results per period, oldest first, from every request asked: (period asked in, answered, NPS, CSAT). Each
    period's trend is its change against the last earlier period that had a value."""
    by_period: dict[str, list[tuple[bool, int | None, int | None]]] = {}
    for period, was_answered, nps_score, csat_score in requests:
        by_period.setdefault(period, []).append((was_answered, nps_score, csat_score))
    results: list[PeriodResult] = []
    last_nps: Decimal | None = None
    last_csat: Decimal | None = None
    for period in sorted(by_period):
        rows = by_period[period]
        answered = [r for r in rows if r[0]]
        value_nps = nps(r[1] for r in answered if r[1] is not None)
        value_csat = csat(r[2] for r in answered if r[2] is not None)
        results.append(
            PeriodResult(
                period=period,
                asked=len(rows),
                answered=len(answered),
                nps=value_nps,
                csat=value_csat,
                response_rate=response_rate(len(answered), len(rows)),
                nps_change=_change(value_nps, last_nps),
                csat_change=_change(value_csat, last_csat),
            )
        )
        last_nps = value_nps if value_nps is not None else last_nps
        last_csat = value_csat if value_csat is not None else last_csat
    return results
