"""Request and response models of the forecasts: a submission, a supervisor's adjustment, the forecast as shown
(beside quota and the system's forecasts), a team's roll-up and the history of a person's period."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from services.goals.money import MoneyStr
from shared.api import RequestBody
from shared.money import CurrencyCode, NonNegativeAmount

ForecastPeriod = Annotated[str, Field(min_length=4, max_length=10, examples=["2026-Q3", "2026"])]


class ForecastIn(RequestBody):
    """A person's commit / best case / pipeline for the current or the next quarter or fiscal year, in the
    reporting currency of their book (``owner_id``: a supervisor submitting on their behalf; default the caller)."""

    owner_id: str | None = Field(default=None, min_length=1, max_length=100)
    period: ForecastPeriod
    commit: NonNegativeAmount
    best_case: NonNegativeAmount
    pipeline: NonNegativeAmount
    currency: CurrencyCode | None = None  # must be the book's reporting currency (no conversion)
    note: str | None = Field(default=None, max_length=4000)


class AdjustmentIn(RequestBody):
    """A supervisor's adjusted figures (at least one; the others stay as the manager submitted) and the reason."""

    commit: NonNegativeAmount | None = None
    best_case: NonNegativeAmount | None = None
    pipeline: NonNegativeAmount | None = None
    reason: str = Field(min_length=1, max_length=2000)


class AdjustmentRead(BaseModel):
    """The adjustment in force (null figures: not adjusted)."""

    revision: int
    commit: MoneyStr | None
    best_case: MoneyStr | None
    pipeline: MoneyStr | None
    reason: str
    adjusted_by: str
    adjusted_at: datetime


class ForecastRead(BaseModel):
    """A submission as shown: the manager's figures, the supervisor's adjustment beside them, and quota and the
    system's forecasts of the period (all in ``currency``)."""

    id: str
    owner_id: str
    period: str
    month: str  # the business month it was submitted in
    revision: int  # the n-th submission of that month
    currency: str
    commit: MoneyStr
    best_case: MoneyStr
    pipeline: MoneyStr
    note: str | None
    submitted_by: str
    submitted_at: datetime
    current: bool  # the person's forecast in force for the period
    superseded_by: str | None
    superseded_at: datetime | None
    adjustment: AdjustmentRead | None
    adjusted_commit: MoneyStr  # the supervisor's figure where adjusted, else the manager's
    adjusted_best_case: MoneyStr
    adjusted_pipeline: MoneyStr
    quota: MoneyStr | None  # the person's revenue targets of the period (null: none in this currency)
    actual_to_date: MoneyStr | None  # the book's revenue of the period so far
    run_rate_forecast: MoneyStr | None
    seasonal_forecast: MoneyStr | None
    warnings: list[str]  # commit ≤ best case ≤ pipeline not holding, quota in another currency …
    version: int


class TeamTotalRead(BaseModel):
    """A team's forecasts kept in one currency, summed."""

    currency: str
    owners: list[str]
    commit: MoneyStr
    best_case: MoneyStr
    pipeline: MoneyStr
    adjusted_commit: MoneyStr
    adjusted_best_case: MoneyStr
    adjusted_pipeline: MoneyStr
    quota: MoneyStr | None
    members_without_quota: int


class TeamForecastRead(BaseModel):
    """The roll-up of a period: per currency, and the members' forecasts it sums."""

    period: str
    month: str | None  # the forecasts in force at the end of that month; null: in force now
    totals: list[TeamTotalRead]
    members: list[ForecastRead]


class HistoryEntry(BaseModel):
    """One submission or adjustment of a person's period: who, when, the figures."""

    kind: Literal["submission", "adjustment"]
    submission_id: str
    month: str
    revision: int  # of the submission in its month, or of the adjustment on its submission
    currency: str
    commit: MoneyStr | None  # an adjustment: null where that figure was not adjusted
    best_case: MoneyStr | None
    pipeline: MoneyStr | None
    by: str
    at: datetime
    note: str | None  # the submission's note or the adjustment's reason
