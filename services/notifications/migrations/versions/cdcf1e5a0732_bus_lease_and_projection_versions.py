"""bus: the outbox relay's lease (claimed_until, claimed_by) and the projections' applied-event versions

Revision ID: cdcf1e5a0732
Revises: 36f34268d2e1
Create Date: 2026-12-03 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "cdcf1e5a0732"
down_revision = "36f34268d2e1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing rows: no lease (any relay may claim a pending row) and no version (the next event applies).
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("claimed_until", shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=100), nullable=True))
    with op.batch_alter_table("account_projection") as batch_op:
        batch_op.add_column(sa.Column("info_version", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("tier_version", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("owner_version", sa.String(length=80), nullable=True))
    with op.batch_alter_table("user_projection") as batch_op:
        batch_op.add_column(sa.Column("event_id", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user_projection") as batch_op:
        batch_op.drop_column("event_id")
    with op.batch_alter_table("account_projection") as batch_op:
        batch_op.drop_column("owner_version")
        batch_op.drop_column("tier_version")
        batch_op.drop_column("info_version")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("claimed_until")
