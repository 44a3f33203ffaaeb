"""rate limits and login throttling shared by every gateway replica

Revision ID: c6f1b5e8d3a7
Revises: 4f2a9c7e1b36
Create Date: 2026-12-01 22:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c6f1b5e8d3a7"
down_revision = "4f2a9c7e1b36"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One GCRA bucket per caller and limit (gateway.limits): the theoretical arrival time in epoch seconds.
    op.create_table(
        "rate_limit_buckets",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("tat", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limit_buckets")),
    )
    op.create_index("ix_rate_limit_buckets_tat", "rate_limit_buckets", ["tat"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_rate_limit_buckets_tat", table_name="rate_limit_buckets")
    op.drop_table("rate_limit_buckets")
