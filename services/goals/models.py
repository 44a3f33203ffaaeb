"""Tables of the goals service."""

from sqlalchemy.orm import DeclarativeBase

from shared.api import idempotency_table
from shared.db import add_platform_tables, make_metadata


class Base(DeclarativeBase):
    """Declarative base with the house naming convention."""

    metadata = make_metadata()


platform = add_platform_tables(Base.metadata)
idempotency_keys = idempotency_table(Base.metadata)
