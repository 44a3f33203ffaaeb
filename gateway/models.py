"""Tables of the gateway: identity (users, API keys) and the accounts projection for access checks."""

from sqlalchemy.orm import DeclarativeBase

from shared.db import add_platform_tables, make_metadata


class Base(DeclarativeBase):
    """Declarative base with the house naming convention."""

    metadata = make_metadata()


platform = add_platform_tables(Base.metadata)
