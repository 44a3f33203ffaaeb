"""The scoring service's declarative Base, its platform tables (outbox, inbox, projections) and idempotency keys.

Each sub-domain's tables live in its own ``models.py`` (``registry``, ``scores``, ``engagement``); they are
imported at the bottom so that the one ``Base.metadata`` — what Alembic and ``kam`` read from here — holds
every table.
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

# Register the sub-domains' tables on the same metadata (after Base exists: they import it).
from services.scoring.engagement import models as _engagement_models  # noqa: E402, F401
from services.scoring.playbook import models as _playbook_models  # noqa: E402, F401
from services.scoring.registry import models as _registry_models  # noqa: E402, F401
from services.scoring.scores import models as _scores_models  # noqa: E402, F401
