"""idempotency keys at the gateway (its own creating routes)

Revision ID: a1c0de120001
Revises: 01866e5505aa
Create Date: 2026-12-02 01:30:00
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "a1c0de120001"
down_revision = "01866e5505aa"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The claims and stored answers of POST /api/v1/users and /api/v1/api-keys (shared.idempotency).
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("principal", sa.String(length=100), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", "principal", name=op.f("pk_idempotency_keys")),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
