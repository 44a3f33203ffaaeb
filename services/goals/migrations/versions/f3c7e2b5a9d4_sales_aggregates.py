"""sales pre-aggregated per account, month and product line

Revision ID: f3c7e2b5a9d4
Revises: e2b6d1a4f8c3
Create Date: 2026-12-01 22:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "f3c7e2b5a9d4"
down_revision = "e2b6d1a4f8c3"
branch_labels = None
depends_on = None

_MEASURES = "revenue, cost, quantity, quantity_lines, line_count"
_SUMS = "SUM(revenue), SUM(cost), COALESCE(SUM(quantity), 0), COUNT(quantity), COUNT(*)"


def _measures() -> list[sa.Column]:
    return [
        sa.Column("revenue", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("cost", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("quantity_lines", sa.Integer(), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "sales_aggregates",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("product_line", sa.String(length=100), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        *_measures(),
        sa.PrimaryKeyConstraint(
            "account_id", "month", "product_line", "region", "currency", name=op.f("pk_sales_aggregates")
        ),
    )
    op.create_table(
        "sales_month_totals",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        *_measures(),
        sa.PrimaryKeyConstraint("account_id", "month", "currency", name=op.f("pk_sales_month_totals")),
    )
    # The lines recorded so far, summed once (afterwards every write keeps both tables in step).
    op.execute(
        "INSERT INTO sales_aggregates (account_id, month, product_line, region, currency, "  # noqa: S608
        f"{_MEASURES}) SELECT account_id, month, product_line, COALESCE(region, ''), currency, {_SUMS} "
        "FROM sales_records GROUP BY account_id, month, product_line, COALESCE(region, ''), currency"
    )
    op.execute(
        f"INSERT INTO sales_month_totals (account_id, month, currency, {_MEASURES}) "  # noqa: S608
        f"SELECT account_id, month, currency, {_SUMS} FROM sales_records GROUP BY account_id, month, currency"
    )


def downgrade() -> None:
    op.drop_table("sales_month_totals")
    op.drop_table("sales_aggregates")
