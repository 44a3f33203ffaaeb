"""sales pre-aggregated per account, month and product line

Revision ID: f3c7e2b5a9d4
Revises: e2b6d1a4f8c3
Create Date: 2026-12-01 22:00:00
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "f3c7e2b5a9d4"
down_revision = "e2b6d1a4f8c3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
