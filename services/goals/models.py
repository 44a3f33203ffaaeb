"""The goals service's declarative Base, its platform tables and the projections no sub-domain owns.

Each sub-domain's tables live in its own ``models.py`` on this same metadata; they are imported at the end so
that importing this module (Alembic, ``kam``) registers every table.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, Integer, Numeric, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.api import idempotency_table
from shared.audit import audit_table
from shared.db import UTCDateTime, add_platform_tables, make_metadata


class Base(DeclarativeBase):
    """Declarative base with the house naming convention."""

    metadata = make_metadata()


def FxRateNumeric() -> Numeric[Decimal]:
    """An FX rate: exact decimals with 12 places (1 IDR is about 0.00045 CNY)."""
    return Numeric(24, 12, asdecimal=True)


platform = add_platform_tables(Base.metadata)
idempotency_keys = idempotency_table(Base.metadata)
audit_log = audit_table(Base.metadata)  # sensitive actions (shared.audit, docs/AUDIT.md)


class RiskAlert(Base):
    """Risk alerts per account (from ``risk.alert_raised`` / ``risk.alert_cleared``); red ones flag targets."""

    __tablename__ = "risk_alerts"

    alert_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    level: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean)
    event_time: Mapped[datetime] = mapped_column(UTCDateTime)


class ComplaintFact(Base):
    """What the scorecards need of a complaint: first response within SLA and satisfaction."""

    __tablename__ = "complaint_facts"

    complaint_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    within_sla: Mapped[bool | None] = mapped_column(Boolean)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    satisfaction: Mapped[int | None] = mapped_column(Integer)


# The sub-domains' tables, registered on Base.metadata (they import Base from here, so they come last).
from services.goals.actions import models as _actions_models  # noqa: E402, F401
from services.goals.actuals import models as _actuals_models  # noqa: E402, F401
from services.goals.catalogue import models as _catalogue_models  # noqa: E402, F401
from services.goals.currencies import models as _currencies_models  # noqa: E402, F401
from services.goals.forecasts import models as _forecasts_models  # noqa: E402, F401
from services.goals.plans import models as _plans_models  # noqa: E402, F401
from services.goals.projects import models as _projects_models  # noqa: E402, F401
from services.goals.scorecards import models as _scorecards_models  # noqa: E402, F401
from services.goals.targets import models as _targets_models  # noqa: E402, F401
