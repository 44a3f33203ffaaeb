"""users: email, contact channels, and when each was last published as an identity event

Revision ID: 4f2a9c7e1b36
Revises: ded90e5aac7c
Create Date: 2026-12-02 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "4f2a9c7e1b36"
down_revision = "ded90e5aac7c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing users get no channels and no publication time: the gateway publishes them once at its next start.
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("channels", sa.JSON(), server_default=sa.text("'{}'"), nullable=False))
        batch_op.add_column(sa.Column("published_at", shared.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("published_at")
        batch_op.drop_column("channels")
        batch_op.drop_column("email")
