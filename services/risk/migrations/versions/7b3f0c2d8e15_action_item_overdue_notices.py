"""when the overdue notice of a contingency-plan step was published (risk.action_item_overdue, once per due time)

Revision ID: 7b3f0c2d8e15
Revises: 5d2e8c1f9a47
Create Date: 2026-12-09 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "7b3f0c2d8e15"
down_revision = "5d2e8c1f9a47"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("overdue_notified_at", shared.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.drop_column("overdue_notified_at")
