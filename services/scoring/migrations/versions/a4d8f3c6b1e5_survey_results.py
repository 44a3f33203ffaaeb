"""survey results in the relationship dimension

Revision ID: a4d8f3c6b1e5
Revises: 8d4f1a6c2b93
Create Date: 2026-12-01 22:00:00
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "a4d8f3c6b1e5"
down_revision = "8d4f1a6c2b93"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
