"""Tables of the currencies sub-domain: per-account reporting currencies and the FX rate projection."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, String
from sqlalchemy.orm import Mapped, mapped_column

from services.goals.models import Base, FxRateNumeric
from shared.db import UTCDateTime


class AccountCurrency(Base):
    """An account that reports in another currency than the goals setting ``reporting_currency``."""

    __tablename__ = "account_currencies"

    account_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    set_by: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FxRate(Base):
    """A dated rate from ``risk.fx_rate_set``: 1 ``currency`` = ``rate`` ``base_currency`` from ``valid_on``."""

    __tablename__ = "fx_rates"

    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    base_currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    valid_on: Mapped[date] = mapped_column(Date, primary_key=True)
    rate: Mapped[Decimal] = mapped_column(FxRateNumeric())
    event_time: Mapped[datetime] = mapped_column(UTCDateTime)  # the newest event applied (order-tolerant)
