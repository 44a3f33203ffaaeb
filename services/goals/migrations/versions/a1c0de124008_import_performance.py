"""import performance: import batches keep their warnings (product lines the catalogue does not name)

Revision ID: a1c0de124008
Revises: a1c0de124007
Create Date: 2026-12-02 06:00:00
"""

import sqlalchemy as sa
from alembic import op

import shared.db  # noqa: F401

revision = "a1c0de124008"
down_revision = "a1c0de124007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("import_batches", sa.Column("warnings", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("import_batches") as batch:
        batch.drop_column("warnings")
