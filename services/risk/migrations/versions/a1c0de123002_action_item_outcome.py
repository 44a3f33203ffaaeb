"""action items: the outcome note written on completing one

Revision ID: a1c0de123002
Revises: a1c0de123001
Create Date: 2026-12-02 01:55:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a1c0de123002"
down_revision = "a1c0de123001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("action_items") as batch:
        batch.add_column(sa.Column("outcome", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("action_items") as batch:
        batch.drop_column("outcome")
