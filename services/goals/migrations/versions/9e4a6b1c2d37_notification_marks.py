"""what was published for the notifications service: a target's missed period (goals.target_missed) and an
action item's due and overdue notices (goals.action_item_due / goals.action_item_overdue), each once

Revision ID: 9e4a6b1c2d37
Revises: 5c1e7a9d3b20
Create Date: 2026-12-09 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "9e4a6b1c2d37"
down_revision = "5c1e7a9d3b20"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("targets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("missed_at", shared.db.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_notified_at", shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("overdue_notified_at", shared.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.drop_column("overdue_notified_at")
        batch_op.drop_column("due_notified_at")
    with op.batch_alter_table("targets", schema=None) as batch_op:
        batch_op.drop_column("missed_at")
