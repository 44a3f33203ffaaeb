"""The notifications service's declarative Base and its platform tables (outbox, inbox, projections, idempotency).

Each sub-domain's tables live in its own ``models.py`` on this same metadata; they are imported at the end so
that importing this module (Alembic, ``kam``) registers every table.
"""

from __future__ import annotations

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

# The sub-domains' tables, registered on Base.metadata (they import Base from here, so they come last).
from services.notifications.delivery import models as _delivery_models  # noqa: E402, F401
from services.notifications.preferences import models as _preferences_models  # noqa: E402, F401
from services.notifications.robots import models as _robots_models  # noqa: E402, F401
from services.notifications.routing import models as _routing_models  # noqa: E402, F401
from services.notifications.teams import models as _teams_models  # noqa: E402, F401
from services.notifications.webhooks import models as _webhooks_models  # noqa: E402, F401
