"""reporting currencies, the FX rate projection, and what converted targets and sales lines were given in

Revision ID: 5c1e7a9d3b20
Revises: 69ed175da7a4
Create Date: 2026-12-02 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "5c1e7a9d3b20"
down_revision = "69ed175da7a4"
branch_labels = None
depends_on = None


def _conversion_columns(amounts: tuple[str, ...]) -> list[sa.Column]:
    return [
        sa.Column("original_currency", sa.String(length=3), nullable=True),
        *(sa.Column(name, sa.Numeric(precision=20, scale=4), nullable=True) for name in amounts),
        sa.Column("fx_rate", sa.Numeric(precision=24, scale=12), nullable=True),
        sa.Column("fx_rate_on", sa.Date(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "account_currencies",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("set_by", sa.String(length=100), nullable=False),
        sa.Column("set_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_currencies")),
    )
    op.create_table(
        "fx_rates",
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("base_currency", sa.String(length=3), nullable=False),
        sa.Column("valid_on", sa.Date(), nullable=False),
        sa.Column("rate", sa.Numeric(precision=24, scale=12), nullable=False),
        sa.Column("event_time", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("currency", "base_currency", "valid_on", name=op.f("pk_fx_rates")),
    )
    # Every figure recorded so far was in CNY, the only currency goals knew.
    with op.batch_alter_table("sales_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("currency", sa.String(length=3), server_default="CNY", nullable=False))
        for column in _conversion_columns(("original_revenue", "original_cost")):
            batch_op.add_column(column)
    with op.batch_alter_table("targets", schema=None) as batch_op:
        for column in _conversion_columns(("original_target_value", "original_stretch_value")):
            batch_op.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table("targets", schema=None) as batch_op:
        for name in ("fx_rate_on", "fx_rate", "original_stretch_value", "original_target_value", "original_currency"):
            batch_op.drop_column(name)
    with op.batch_alter_table("sales_records", schema=None) as batch_op:
        for name in ("fx_rate_on", "fx_rate", "original_cost", "original_revenue", "original_currency", "currency"):
            batch_op.drop_column(name)
    op.drop_table("fx_rates")
    op.drop_table("account_currencies")
