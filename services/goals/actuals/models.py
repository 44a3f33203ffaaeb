"""Tables of the actuals sub-domain: sales lines, their pre-aggregated sums, and CSV import batches."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.goals.models import Base, FxRateNumeric
from shared.db import Money, UTCDateTime


class SalesRecord(Base):
    """One sales line (from the API or a CSV import)."""

    __tablename__ = "sales_records"
    # One index only: every extra B-tree slows the bulk import (batches find their rows by scanning, rarely).
    __table_args__ = (Index("ix_sales_records_account_month", "account_id", "month"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(36))
    sale_date: Mapped[date] = mapped_column(Date)
    month: Mapped[str] = mapped_column(String(7))
    product_line: Mapped[str] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))
    quantity: Mapped[Decimal | None] = mapped_column(Money())
    revenue: Mapped[Decimal] = mapped_column(Money())
    cost: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3), server_default="CNY")  # of revenue and cost: reporting
    # Given in another currency: what was given and the dated rate it was converted with.
    original_currency: Mapped[str | None] = mapped_column(String(3))
    original_revenue: Mapped[Decimal | None] = mapped_column(Money())
    original_cost: Mapped[Decimal | None] = mapped_column(Money())
    fx_rate: Mapped[Decimal | None] = mapped_column(FxRateNumeric())
    fx_rate_on: Mapped[date | None] = mapped_column(Date)
    batch_id: Mapped[str | None] = mapped_column(String(100))
    line_no: Mapped[int | None] = mapped_column(Integer)


class ImportBatch(Base):
    """A CSV import job: its progress and outcome (the batch id makes re-imports no-ops)."""

    __tablename__ = "import_batches"

    batch_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))  # "running" | "completed" | "failed" | "voided"
    filename: Mapped[str | None] = mapped_column(String(300))
    encoding: Mapped[str | None] = mapped_column(String(20))
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    account_months: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last chunk written: a running batch without progress for a while was left by a worker that died.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The file's SHA-256: the same file imported again under a new batch id is refused unless allowed.
    content_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    # A voided batch: its lines were taken off; who did it, when and why.
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_by: Mapped[str | None] = mapped_column(String(100))
    void_reason: Mapped[str | None] = mapped_column(Text)
    # What was imported but deserves a look: product lines the catalogue does not name, with how many rows.
    warnings: Mapped[list[Any] | None] = mapped_column(JSON)


class ImportRejection(Base):
    """A row of an import that was refused, with its line number and why."""

    __tablename__ = "import_rejections"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(String(100), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str | None] = mapped_column(Text)


class SalesAggregate(Base):
    """Sales of one account, month, product line and region summed from its lines; written in the same transaction
    as every line recorded, imported or voided (``actuals/aggregates.py``), read instead of the lines."""

    __tablename__ = "sales_aggregates"

    account_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    product_line: Mapped[str] = mapped_column(String(100), primary_key=True)
    region: Mapped[str] = mapped_column(String(100), primary_key=True)  # "" for lines without one
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)  # the account's reporting currency
    revenue: Mapped[Decimal] = mapped_column(Money())
    cost: Mapped[Decimal] = mapped_column(Money())
    quantity: Mapped[Decimal] = mapped_column(Money())  # Σ of the lines that have one
    quantity_lines: Mapped[int] = mapped_column(Integer)  # lines with a quantity (none: the quantity is unknown)
    line_count: Mapped[int] = mapped_column(Integer)


class SalesMonthTotal(Base):
    """An account's sales of one month (all product lines and regions), kept with ``SalesAggregate``: what the
    portfolio and the scorecards add up across many accounts."""

    __tablename__ = "sales_month_totals"

    account_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    revenue: Mapped[Decimal] = mapped_column(Money())
    cost: Mapped[Decimal] = mapped_column(Money())
    quantity: Mapped[Decimal] = mapped_column(Money())
    quantity_lines: Mapped[int] = mapped_column(Integer)
    line_count: Mapped[int] = mapped_column(Integer)


class SalesYearTotal(Base):
    """An account's sales of one fiscal year, kept with ``SalesMonthTotal``: what the portfolio board adds up
    across the whole portfolio, one row per account (the fiscal year is counted from ``SalesYearBasis``)."""

    __tablename__ = "sales_year_totals"

    account_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    revenue: Mapped[Decimal] = mapped_column(Money())
    cost: Mapped[Decimal] = mapped_column(Money())
    quantity: Mapped[Decimal] = mapped_column(Money())
    quantity_lines: Mapped[int] = mapped_column(Integer)
    line_count: Mapped[int] = mapped_column(Integer)


class SalesYearBasis(Base):
    """The one row saying which fiscal calendar ``sales_year_totals`` is counted in (its first month): every write
    rolls months up by it, and start-up rebuilds the years when the configured calendar differs."""

    __tablename__ = "sales_year_basis"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    start_month: Mapped[int] = mapped_column(Integer)


class AccountCode(Base):
    """A code imports may name an account by (``actuals/account_codes.py``): one of its ERP codes or its credit
    code, kept from the registry's account events (``version``: the event's place, stale events are ignored)."""

    __tablename__ = "account_codes"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # "erp" | "credit"
    version: Mapped[str] = mapped_column(String(80))
