"""account plans and cross-department projects

Revision ID: e2b6d1a4f8c3
Revises: 9e4a6b1c2d37
Create Date: 2026-12-01 22:00:00
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "e2b6d1a4f8c3"
down_revision = "9e4a6b1c2d37"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
