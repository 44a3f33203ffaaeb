"""rate limits and login throttling shared by every gateway replica

Revision ID: c6f1b5e8d3a7
Revises: 4f2a9c7e1b36
Create Date: 2026-12-01 22:00:00
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "c6f1b5e8d3a7"
down_revision = "4f2a9c7e1b36"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
