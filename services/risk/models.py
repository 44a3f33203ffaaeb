"""The risk service's declarative Base and its platform tables; each sub-domain's tables live in its models.py."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import DeclarativeBase

from shared.api import idempotency_table
from shared.audit import audit_table
from shared.db import add_platform_tables, make_metadata


def new_id() -> str:
    """A fresh UUID string for primary keys."""
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    """Declarative base with the house naming convention (one metadata for the whole service)."""

    metadata = make_metadata()


platform = add_platform_tables(Base.metadata)
idempotency_keys = idempotency_table(Base.metadata)
audit_log = audit_table(Base.metadata)  # sensitive actions (shared.audit, docs/AUDIT.md)

# The sub-domains' tables register on Base.metadata when their modules load; loading them here means whoever
# imports the service's models (the app, Alembic, the drift test) sees every table.
from services.risk.contracts import models as _contracts_models  # noqa: E402, F401
from services.risk.credit import models as _credit_models  # noqa: E402, F401
from services.risk.fx import models as _fx_models  # noqa: E402, F401
from services.risk.warnings import models as _warnings_models  # noqa: E402, F401
