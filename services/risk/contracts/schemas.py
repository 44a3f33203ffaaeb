"""Request and response bodies of the contracts API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from services.risk.schemas import Currency, ReadModel
from shared.api import MoneyStr

ContractType = Literal["framework", "sales", "service", "supply", "nda", "other"]


class ContractCreate(BaseModel):
    title: str = Field(min_length=1, max_length=300)
    contract_type: ContractType = "sales"
    value: Decimal | None = Field(default=None, ge=0, max_digits=16, decimal_places=4)
    currency: str = Currency
    start_on: date
    end_on: date | None = None
    auto_renewal: bool = False
    clauses: dict[str, bool] = Field(default_factory=dict, description="Checklist: clause code → present")


class ContractUpdate(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=300)
    contract_type: ContractType | None = None
    value: Decimal | None = Field(default=None, ge=0, max_digits=16, decimal_places=4)
    start_on: date | None = None
    end_on: date | None = None
    auto_renewal: bool | None = None
    clauses: dict[str, bool] | None = None


class ContractTransition(BaseModel):
    status: Literal["legal_review", "approved", "rejected", "draft"]
    note: str = Field(default="", max_length=5000)


class ContractReviewRead(ReadModel):
    from_status: str
    to_status: str
    reviewer_id: str
    note: str
    at: datetime


class ContractReminderRead(ReadModel):
    days_before: int
    due_on: date
    sent_at: datetime


class ContractRead(ReadModel):
    id: str
    account_id: str
    title: str
    contract_type: str
    value: MoneyStr | None
    currency: str
    start_on: date
    end_on: date | None
    auto_renewal: bool
    clauses: dict[str, bool]
    missing_mandatory_clauses: list[str]
    status: str
    version: int
    created_by: str
    created_at: datetime
    updated_at: datetime


class ContractDetail(ContractRead):
    reviews: list[ContractReviewRead] = Field(default_factory=list)
    reminders: list[ContractReminderRead] = Field(default_factory=list)
