"""The complaints service's declarative Base, its platform tables and the id helper.

Each sub-domain's tables live in its own ``models.py`` on this Base's metadata; they are imported at the end of
this module so that whoever reads ``Base.metadata`` (Alembic, the migration drift test) sees every table.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import DeclarativeBase

from shared.api import idempotency_table
from shared.audit import audit_table
from shared.db import add_platform_tables, make_metadata


class Base(DeclarativeBase):
    """Declarative base with the house naming convention."""

    metadata = make_metadata()


platform = add_platform_tables(Base.metadata)
idempotency_keys = idempotency_table(Base.metadata)
audit_log = audit_table(Base.metadata)  # sensitive actions (shared.audit, docs/AUDIT.md)


def new_id() -> str:
    """A fresh identifier."""
    return str(uuid.uuid4())


# The sub-domains' tables, registered on Base.metadata (they import Base from here, so they come last).
from services.complaints.calendars import models as _calendars_models  # noqa: E402, F401
from services.complaints.improvement import models as _improvement_models  # noqa: E402, F401
from services.complaints.intake import models as _intake_models  # noqa: E402, F401
from services.complaints.reference import models as _reference_models  # noqa: E402, F401
from services.complaints.surveys import models as _surveys_models  # noqa: E402, F401
from services.complaints.taskforce import models as _taskforce_models  # noqa: E402, F401
