"""sales pre-aggregated per account and fiscal year (the portfolio board's sums)

Revision ID: a1c0de124009
Revises: a1c0de124008
Create Date: 2026-12-03 15:30:00
"""

import sqlalchemy as sa
from alembic import op

import shared.db  # noqa: F401

revision = "a1c0de124009"
down_revision = "a1c0de124008"
branch_labels = None
depends_on = None

_MEASURES = "revenue, cost, quantity, quantity_lines, line_count"


def upgrade() -> None:
    op.create_table(
        "sales_year_totals",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("revenue", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("cost", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("quantity_lines", sa.Integer(), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "fiscal_year", "currency", name=op.f("pk_sales_year_totals")),
    )
    op.create_table(
        "sales_year_basis",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("start_month", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_year_basis")),
    )
    # The month totals so far, in calendar years (fiscal years starting in January); a service configured with
    # another first month rebuilds them at start-up (actuals/aggregates.py align_years).
    op.execute(
        f"INSERT INTO sales_year_totals (account_id, fiscal_year, currency, {_MEASURES}) "  # noqa: S608
        "SELECT account_id, CAST(SUBSTR(month, 1, 4) AS INTEGER), currency, SUM(revenue), SUM(cost), "
        "SUM(quantity), SUM(quantity_lines), SUM(line_count) FROM sales_month_totals "
        "GROUP BY account_id, CAST(SUBSTR(month, 1, 4) AS INTEGER), currency"
    )
    op.execute("INSERT INTO sales_year_basis (id, start_month) VALUES (1, 1)")


def downgrade() -> None:
    op.drop_table("sales_year_basis")
    op.drop_table("sales_year_totals")
