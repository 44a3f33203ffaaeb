"""Request and response bodies of the contracts API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, StringConstraints

from services.risk.schemas import ReadModel
from shared.api import MoneyStr, RequestBody
from shared.money import CurrencyCode, NonNegativeAmount

ContractType = Literal["framework", "sales", "service", "supply", "nda", "other"]
ContractStatus = Literal["draft", "legal_review", "approved", "rejected", "terminated"]
ReviewAction = Literal["transition", "clause", "amendment", "renewal", "termination", "document"]
ClauseCode = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Clauses = Annotated[
    dict[ClauseCode, StrictBool], Field(max_length=40, description="Checklist: clause code → present (true/false)")
]
UserId = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class Signatory(RequestBody):
    name: str = Field(min_length=1, max_length=200)
    title: str = Field(default="", max_length=200)
    party: Literal["ours", "counterparty"]
    signed_on: date | None = None


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
    counterparty: str | None = Field(default=None, min_length=1, max_length=300)
    signatories: list[Signatory] = Field(default_factory=list, max_length=20)
    owner_id: UserId | None = Field(default=None, description="Who looks after it; reminders go to them")


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
    counterparty: str | None = Field(default=None, min_length=1, max_length=300)
    signatories: list[Signatory] | None = Field(default=None, max_length=20)
    owner_id: UserId | None = Field(default=None, description="null: the account's owner gets the reminders")


class ContractAmend(RequestBody):
    """A new version of an approved contract's terms (If-Match): what changes and from when."""

    summary: str = Field(min_length=1, max_length=5000)
    effective_on: date
    value: NonNegativeAmount | None = None
    currency: CurrencyCode | None = None
    end_on: date | None = None
    auto_renewal: bool | None = None
    clauses: Clauses | None = None


class ContractRenew(RequestBody):
    """Renew an approved contract to a later end (If-Match)."""

    end_on: date
    note: str = Field(default="", max_length=5000)


class ContractTerminate(RequestBody):
    """End an approved contract early (If-Match)."""

    terminated_on: date
    reason: str = Field(min_length=1, max_length=5000)


class ContractTransition(RequestBody):
    status: Literal["legal_review", "approved", "rejected", "draft"]
    note: str = Field(default="", max_length=5000)


class ContractReviewRead(ReadModel):
    action: ReviewAction = "transition"
    from_status: ContractStatus
    to_status: ContractStatus
    reviewer_id: str = Field(description="Who moved it, ticked the clause, amended, renewed, terminated or uploaded")
    clause: str | None = None
    present: bool | None = None
    note: str
    at: datetime


class SignatoryRead(ReadModel):
    name: str
    title: str
    party: Literal["ours", "counterparty"]
    signed_on: date | None


class ContractAmendmentRead(ReadModel):
    id: str
    terms_version: int
    effective_on: date
    summary: str
    changes: dict[str, Any]
    created_by: str
    created_at: datetime


class ContractDocumentRead(ReadModel):
    id: str
    version: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


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
    counterparty: str | None = None
    signatories: list[SignatoryRead] = Field(default_factory=list)
    owner_id: str | None = None
    terms_version: int = 1
    renewed_on: date | None = None
    renewal_count: int = 0
    terminated_on: date | None = None
    termination_reason: str | None = None


class ContractDetail(ContractRead):
    reviews: list[ContractReviewRead] = Field(default_factory=list)
    reminders: list[ContractReminderRead] = Field(default_factory=list)
    amendments: list[ContractAmendmentRead] = Field(default_factory=list)
    documents: list[ContractDocumentRead] = Field(default_factory=list)
