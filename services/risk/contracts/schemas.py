"""Request and response bodies of the contracts API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from services.risk.schemas import ReadModel
from shared.api import MoneyStr, RequestBody
from shared.money import CurrencyCode, NonNegativeAmount

ContractType = Literal["framework", "sales", "service", "supply", "nda", "other"]
ContractStatus = Literal["draft", "legal_review", "approved", "rejected"]
ClauseCode = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Clauses = Annotated[dict[ClauseCode, bool], Field(max_length=40, description="Checklist: clause code → present")]
ApproverId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        description="The risk officer or supervisor who decides it in legal review (known, active, sees the account)",
    ),
]


class ContractCreate(RequestBody):
    title: str = Field(min_length=1, max_length=300)
    contract_type: ContractType = "sales"
    value: NonNegativeAmount | None = None
    currency: CurrencyCode = "CNY"
    start_on: date
    end_on: date | None = None
    auto_renewal: bool = False
    clauses: Clauses = Field(default_factory=dict)
    approver_id: ApproverId | None = None


class ContractUpdate(RequestBody):
    title: str | None = Field(default=None, min_length=1, max_length=300)
    contract_type: ContractType | None = None
    value: NonNegativeAmount | None = None
    currency: CurrencyCode | None = None
    start_on: date | None = None
    end_on: date | None = None
    auto_renewal: bool | None = None
    clauses: Clauses | None = None
    approver_id: ApproverId | None = Field(default=None, description="null clears the named approver")


class ContractTransition(RequestBody):
    status: Literal["legal_review", "approved", "rejected", "draft"]
    note: str = Field(default="", max_length=5000)


class ContractReviewRead(ReadModel):
    from_status: ContractStatus
    to_status: ContractStatus
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
    contract_type: ContractType
    value: MoneyStr | None
    currency: str
    start_on: date
    end_on: date | None
    auto_renewal: bool
    clauses: dict[str, bool]
    missing_mandatory_clauses: list[str]
    status: ContractStatus
    approver_id: str | None
    version: int
    created_by: str
    created_at: datetime
    updated_at: datetime


class ContractDetail(ContractRead):
    reviews: list[ContractReviewRead] = Field(default_factory=list)
    reminders: list[ContractReminderRead] = Field(default_factory=list)
