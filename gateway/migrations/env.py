"""Alembic environment of the gateway."""

from gateway.models import Base
from shared.migrations import run_env

run_env(Base.metadata)
