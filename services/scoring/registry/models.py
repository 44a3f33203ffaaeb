"""Tables of the KA registry: accounts (profile, team, ratings, current tier and score) and their contacts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, validates

from services.scoring.models import Base
from services.scoring.registry.name_order import SORT_KEY_LENGTH, name_sort_key
from shared.db import Money, UTCDateTime

# Ratings 0–10 and the expected growth are stored with the 4 decimal places a request may carry, so a rating of
# 3.336 scores the same before and after it is read back.
RATING_PLACES = 4
Rating = Numeric(6, RATING_PLACES)
GrowthPct = Numeric(8, RATING_PLACES)


class Account(Base):
    """A customer in the KA registry: profile, team, qualitative ratings and its current tier and score."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    # The name spelled in pinyin (registry/name_order.py), kept with every write of the name: the list sorts by it.
    name_sort_key: Mapped[str] = mapped_column(String(SORT_KEY_LENGTH), default="", server_default="", index=True)
    name_en: Mapped[str | None] = mapped_column(String(300))
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    industry: Mapped[str] = mapped_column(String(100), index=True)
    region: Mapped[str] = mapped_column(String(100), index=True)
    company_size: Mapped[str | None] = mapped_column(String(20))
    annual_revenue: Mapped[Decimal | None] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    listed: Mapped[bool] = mapped_column(Boolean, default=False)
    parent_group: Mapped[str | None] = mapped_column(String(300))
    # The group this account is a subsidiary of (registry/hierarchy.py: visible, no cycle, at most 5 levels below).
    parent_account_id: Mapped[str | None] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    owner_id: Mapped[str] = mapped_column(String(100), index=True)
    team_member_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    cooperation_since: Mapped[date | None] = mapped_column(Date)
    # Qualitative ratings (0–10) by the supervisor, with the rationale, and the expected 3–5-year growth (% a year).
    industry_leadership: Mapped[Decimal | None] = mapped_column(Rating)
    reference_value: Mapped[Decimal | None] = mapped_column(Rating)
    channel_value: Mapped[Decimal | None] = mapped_column(Rating)
    product_fit: Mapped[Decimal | None] = mapped_column(Rating)
    expected_growth_pct: Mapped[Decimal | None] = mapped_column(GrowthPct)
    ratings_rationale: Mapped[str | None] = mapped_column(Text)
    rated_by: Mapped[str | None] = mapped_column(String(100))
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The effective tier (override or computed), the computed one and the latest score.
    tier: Mapped[str | None] = mapped_column(String(20), index=True)
    computed_tier: Mapped[str | None] = mapped_column(String(20))
    score: Mapped[Decimal | None] = mapped_column(Numeric(6, 2), index=True)
    model_version: Mapped[int | None] = mapped_column(Integer)
    scored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # What possible duplicates are found by (registry/duplicates.py): the names' keys and the credit-code family.
    name_key: Mapped[str | None] = mapped_column(String(300), index=True)
    name_en_key: Mapped[str | None] = mapped_column(String(300), index=True)
    credit_family: Mapped[str | None] = mapped_column(String(12), index=True)

    @validates("name")
    def _keep_sort_key(self, _key: str, name: str) -> str:
        self.name_sort_key = name_sort_key(name or "")
        return name


class Contact(Base):
    """A person at the customer, with the level of dialogue they stand for."""

    __tablename__ = "contacts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(50))
    # The language the contact is addressed in (surveys): 简体中文 or English.
    language: Mapped[str] = mapped_column(String(10), default="zh-CN", server_default="zh-CN")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The relationship map (services.scoring.contacts): role in the buying decision, attitude, whom they report to.
    role: Mapped[str | None] = mapped_column(String(20))
    attitude: Mapped[str | None] = mapped_column(String(20))
    reports_to_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # retired contacts are kept, hidden by default
    retired_by: Mapped[str | None] = mapped_column(String(100))
    retire_reason: Mapped[str | None] = mapped_column(Text)
    # The level as an account manager reported it counts for the score once a KA supervisor confirmed it
    # (services.scoring.contacts.level_review): ``confirmed`` (a supervisor's own entries at once), ``pending``,
    # ``rejected``; who reported the level last, who decided and why.
    level_review: Mapped[str] = mapped_column(String(20), default="confirmed", server_default="confirmed")
    level_reported_by: Mapped[str | None] = mapped_column(String(100))
    level_reviewed_by: Mapped[str | None] = mapped_column(String(100))
    level_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    level_review_note: Mapped[str | None] = mapped_column(Text)


class AccountErpCode(Base):
    """An external ERP customer code of an account (unique across all accounts; imports may name the account by it)."""

    __tablename__ = "account_erp_codes"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AccountFieldChange(Base):
    """One field of an account changed (registry/field_history.py): who, when, from and to (JSON values)."""

    __tablename__ = "account_field_changes"
    __table_args__ = (Index("ix_account_field_changes_account_at", "account_id", "changed_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(60))
    old_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A change an account manager asked for counts once a supervisor approved it (registry/change_requests.py).
    approved_by: Mapped[str | None] = mapped_column(String(100))
    change_request_id: Mapped[str | None] = mapped_column(String(36))


class AccountChangeRequest(Base):
    """Self-reported score inputs waiting for a supervisor (registry/change_requests.py): pending → approved or
    rejected; the account is unchanged until approval."""

    __tablename__ = "account_change_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)  # field → the value asked for (JSON)
    previous: Mapped[dict[str, Any]] = mapped_column(JSON)  # field → the value when asked (JSON)
    rationale: Mapped[str | None] = mapped_column(Text)  # of proposed ratings
    note: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(100), index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)


class ScorePoint(Base):
    """One point of an account's score history (scores/history.py): recorded when a score write changed the
    score, the effective tier or the model version, never for a re-score that changed none of them."""

    __tablename__ = "score_history"
    __table_args__ = (Index("ix_score_history_account_recorded", "account_id", "recorded_at", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(36))
    score: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    tier: Mapped[str | None] = mapped_column(String(20))
    computed_tier: Mapped[str | None] = mapped_column(String(20))
    model_version: Mapped[int | None] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
