"""Forecast arithmetic (pure): the figures in force (the supervisor's where adjusted, else the manager's), the
warnings when commit ≤ best case ≤ pipeline does not hold, and a team's sums per currency."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from services.goals.money import money_str

CATEGORIES = ("commit", "best_case", "pipeline")
LABELS = {"commit": "commit", "best_case": "best case", "pipeline": "pipeline"}


@dataclass(frozen=True)
class Figures:
    """Commit, best case and pipeline of one forecast (in one currency)."""

    commit: Decimal
    best_case: Decimal
    pipeline: Decimal


def adjusted(
    submitted: Figures, *, commit: Decimal | None, best_case: Decimal | None, pipeline: Decimal | None
) -> Figures:
    """The figures in force: each adjusted one replaces the manager's, the others stay as submitted."""
    return Figures(
        commit=submitted.commit if commit is None else commit,
        best_case=submitted.best_case if best_case is None else best_case,
        pipeline=submitted.pipeline if pipeline is None else pipeline,
    )


def order_warnings(figures: Figures, *, whose: str) -> list[str]:
    """Warnings (never refusals) where commit ≤ best case ≤ pipeline does not hold: a deal may be committed that
    is not in the pipeline report yet, so the figures are kept as given and flagged, as Salesforce does."""
    warnings = []
    if figures.commit > figures.best_case:
        warnings.append(f"{whose} commit {money_str(figures.commit)} is above best case {money_str(figures.best_case)}")
    if figures.best_case > figures.pipeline:
        warnings.append(
            f"{whose} best case {money_str(figures.best_case)} is above pipeline {money_str(figures.pipeline)}"
        )
    return warnings


@dataclass(frozen=True)
class Member:
    """One person's forecast of a period as a team sums it."""

    owner_id: str
    currency: str
    submitted: Figures
    adjusted: Figures
    quota: Decimal | None  # in ``currency`` (None: no quota, or one in another currency)


@dataclass(frozen=True)
class TeamTotal:
    """The sums of a team's forecasts kept in one currency (never added across currencies)."""

    currency: str
    owners: list[str]
    submitted: Figures
    adjusted: Figures
    quota: Decimal | None  # Σ of the members' quotas (None: no member has one)
    members_without_quota: int


def _sum(figures: Iterable[Figures]) -> Figures:
    rows = list(figures)
    return Figures(*(sum((getattr(f, c) for f in rows), Decimal(0)) for c in CATEGORIES))


def team_totals(members: Iterable[Member]) -> list[TeamTotal]:
    """Per currency (alphabetically): the members' submitted and adjusted commit / best case / pipeline summed,
    and their quotas."""
    by_currency: dict[str, list[Member]] = {}
    for member in members:
        by_currency.setdefault(member.currency, []).append(member)
    totals = []
    for currency in sorted(by_currency):
        group = sorted(by_currency[currency], key=lambda m: m.owner_id)
        quotas = [m.quota for m in group if m.quota is not None]
        totals.append(
            TeamTotal(
                currency=currency,
                owners=[m.owner_id for m in group],
                submitted=_sum(m.submitted for m in group),
                adjusted=_sum(m.adjusted for m in group),
                quota=sum(quotas, Decimal(0)) if quotas else None,
                members_without_quota=len(group) - len(quotas),
            )
        )
    return totals
