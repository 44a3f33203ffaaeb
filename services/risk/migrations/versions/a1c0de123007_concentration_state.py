"""concentration state: on a large portfolio monthly totals mark the revenue shares stale for one evaluation

Revision ID: a1c0de123007
Revises: a1c0de123006
Create Date: 2026-12-03 16:00:00
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "a1c0de123007"
down_revision = "a1c0de123006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "concentration_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stale_since", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_concentration_state")),
    )


def downgrade() -> None:
    op.drop_table("concentration_state")
