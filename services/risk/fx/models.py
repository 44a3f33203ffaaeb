"""FX tables: the dated rates against the base currency, and the audit trail of every change to them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from services.risk.models import Base
from shared.db import UTCDateTime


def Rate() -> Numeric[Decimal]:
    """An FX rate: exact decimal with 12 places (a rate of the weakest currencies against CNY needs them)."""
    return Numeric(24, 12, asdecimal=True)


class FxRate(Base):
    """One unit of ``currency`` is worth ``rate`` units of ``base_currency`` from ``valid_on`` (a business date) on."""

    __tablename__ = "fx_rates"

    base_currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    valid_on: Mapped[date] = mapped_column(Date, primary_key=True)
    rate: Mapped[Decimal] = mapped_column(Rate())
    version: Mapped[int] = mapped_column(Integer, default=1)
    set_by: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FxRateChange(Base):
    """Who set which rate when (``old_rate`` is null for a new one); never changed through the API."""

    __tablename__ = "fx_rate_changes"
    __table_args__ = (Index("ix_fx_rate_changes_currency_valid_on", "currency", "valid_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    base_currency: Mapped[str] = mapped_column(String(3))
    currency: Mapped[str] = mapped_column(String(3))
    valid_on: Mapped[date] = mapped_column(Date)
    old_rate: Mapped[Decimal | None] = mapped_column(Rate(), nullable=True)
    new_rate: Mapped[Decimal] = mapped_column(Rate())
    source: Mapped[str] = mapped_column(String(10))  # api | import | csv
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
