"""Contract tables: contracts with their clause checklist, the review trail and the expiry reminders sent."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.risk.models import Base, new_id
from shared.db import Money, UTCDateTime


class Contract(Base):
    """A contract with its clause checklist and review status."""

    __tablename__ = "contracts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    title: Mapped[str] = mapped_column(String(300))
    contract_type: Mapped[str] = mapped_column(String(20))
    value: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    currency: Mapped[str] = mapped_column(String(3))
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    auto_renewal: Mapped[bool] = mapped_column(Boolean, default=False)
    clauses: Mapped[dict[str, bool]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), index=True)
    # The risk officer or supervisor named to decide it in legal review (null: any of them).
    approver_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The other party and who signs for each side: [{name, title, party: ours|counterparty, signed_on}].
    counterparty: Mapped[str | None] = mapped_column(String(300), nullable=True)
    signatories: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Who looks after it (its reminders go to them; null: the account's owner).
    owner_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # The version of its terms: 1 as approved, +1 per amendment.
    terms_version: Mapped[int] = mapped_column(Integer, default=1)
    renewed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    renewal_count: Mapped[int] = mapped_column(Integer, default=0)
    terminated_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    termination_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class ContractReview(Base):
    """One step of a contract's review workflow with the reviewer's note."""

    __tablename__ = "contract_reviews"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reviewer_id: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # transition | clause (a tick: ``clause`` set to ``present`` by ``reviewer_id``) | amendment | renewal |
    # termination | document
    action: Mapped[str] = mapped_column(String(20), default="transition")
    clause: Mapped[str | None] = mapped_column(String(40), nullable=True)
    present: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class ContractReminder(Base):
    """An expiry reminder sent for a contract (90, 60 or 30 days before its end)."""

    __tablename__ = "contract_reminders"

    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"), primary_key=True)
    days_before: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ContractAmendment(Base):
    """A version of a contract's terms after approval: what changed (before → after) and from when."""

    __tablename__ = "contract_amendments"
    __table_args__ = (UniqueConstraint("contract_id", "terms_version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"), index=True)
    terms_version: Mapped[int] = mapped_column(Integer)
    effective_on: Mapped[date] = mapped_column(Date)
    summary: Mapped[str] = mapped_column(Text)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)  # field → {"before": …, "after": …}
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ContractDocument(Base):
    """One uploaded version of a contract's document (the bytes are kept in the database)."""

    __tablename__ = "contract_documents"
    __table_args__ = (UniqueConstraint("contract_id", "version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # loaded only to download
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
