"""users projection (identity.* events): who may own, approve or be told

Revision ID: eb58261830d4
Revises: a23bfeb6616f
Create Date: 2026-12-01 19:20:00.000000
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "eb58261830d4"
down_revision = "a23bfeb6616f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_projection",
        sa.Column("user_id", sa.String(length=100), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("event_time", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_projection")),
    )


def downgrade() -> None:
    op.drop_table("user_projection")
