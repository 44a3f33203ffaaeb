"""fx rates and their audit trail; temporary limits in their own currency; named checkers, approvers and owners

Revision ID: 5d2e8c1f9a47
Revises: eb58261830d4
Create Date: 2026-12-02 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "5d2e8c1f9a47"
down_revision = "eb58261830d4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fx_rates",
        sa.Column("base_currency", sa.String(length=3), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("valid_on", sa.Date(), nullable=False),
        sa.Column("rate", sa.Numeric(precision=24, scale=12), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("set_by", sa.String(length=100), nullable=False),
        sa.Column("set_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("base_currency", "currency", "valid_on", name=op.f("pk_fx_rates")),
    )
    op.create_table(
        "fx_rate_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("base_currency", sa.String(length=3), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("valid_on", sa.Date(), nullable=False),
        sa.Column("old_rate", sa.Numeric(precision=24, scale=12), nullable=True),
        sa.Column("new_rate", sa.Numeric(precision=24, scale=12), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("changed_by", sa.String(length=100), nullable=False),
        sa.Column("changed_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fx_rate_changes")),
    )
    with op.batch_alter_table("fx_rate_changes", schema=None) as batch_op:
        batch_op.create_index("ix_fx_rate_changes_currency_valid_on", ["currency", "valid_on"], unique=False)

    with op.batch_alter_table("credit_profiles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("temporary_limit_currency", sa.String(length=3), nullable=True))
    with op.batch_alter_table("limit_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checker_id", sa.String(length=100), nullable=True))
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_id", sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f("ix_alerts_owner_id"), ["owner_id"], unique=False)
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1")))
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approver_id", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.drop_column("approver_id")
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.drop_column("version")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_owner_id"))
        batch_op.drop_column("owner_id")
    with op.batch_alter_table("limit_requests", schema=None) as batch_op:
        batch_op.drop_column("checker_id")
    with op.batch_alter_table("credit_profiles", schema=None) as batch_op:
        batch_op.drop_column("temporary_limit_currency")
    with op.batch_alter_table("fx_rate_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_fx_rate_changes_currency_valid_on")
    op.drop_table("fx_rate_changes")
    op.drop_table("fx_rates")
