"""Alembic environment of the notifications service."""

from services.notifications.models import Base
from shared.migrations import run_env

run_env(Base.metadata)
