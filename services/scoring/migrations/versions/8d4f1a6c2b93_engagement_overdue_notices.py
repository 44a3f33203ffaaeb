"""engagement overdue notices: the latest accounts.engagement_overdue published per account and contact level, and
the period it was for (since the last engagement at that level), so each period is announced once

Revision ID: 8d4f1a6c2b93
Revises: 5c0a7d3e9f21
Create Date: 2026-12-10 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "8d4f1a6c2b93"
down_revision = "5c0a7d3e9f21"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "engagement_overdue_notices",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("contact_level", sa.String(length=20), nullable=False),
        sa.Column("last_engaged_on", sa.Date(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("days_overdue", sa.Integer(), nullable=False),
        sa.Column("notified_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_engagement_overdue_notices_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "contact_level", name=op.f("pk_engagement_overdue_notices")),
    )


def downgrade() -> None:
    op.drop_table("engagement_overdue_notices")
