"""satisfaction surveys: templates, schedules, requests, answers

Revision ID: d1a5c0f3e7b2
Revises: c4d8e2f1a6b3
Create Date: 2026-12-01 22:00:00
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "d1a5c0f3e7b2"
down_revision = "c4d8e2f1a6b3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
