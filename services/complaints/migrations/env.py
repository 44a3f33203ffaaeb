"""Alembic environment of the complaints service."""

from services.complaints.models import Base
from shared.migrations import run_env

run_env(Base.metadata)
