"""forecast submissions: commit / best case / pipeline per person and period, and the supervisors' adjustments

Revision ID: a1c0de124005
Revises: a1c0de124004
Create Date: 2026-12-02 02:00:00
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "a1c0de124005"
down_revision = "a1c0de124004"
branch_labels = None
depends_on = None

UTC = UTCDateTime(timezone=True)
MONEY = sa.Numeric(precision=20, scale=4)


def upgrade() -> None:
    op.create_table(
        "forecast_submissions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=100), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("commit_amount", MONEY, nullable=False),
        sa.Column("best_case_amount", MONEY, nullable=False),
        sa.Column("pipeline_amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("submitted_by", sa.String(length=100), nullable=False),
        sa.Column("submitted_at", UTC, nullable=False),
        sa.Column("superseded_by", sa.String(length=36), nullable=True),
        sa.Column("superseded_at", UTC, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_submissions")),
        sa.UniqueConstraint("owner_id", "period", "month", "revision", name=op.f("uq_forecast_submissions_owner_id")),
    )
    op.create_index("ix_forecast_submissions_period_month", "forecast_submissions", ["period", "month"], unique=False)
    op.create_table(
        "forecast_adjustments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("submission_id", sa.String(length=36), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("commit_amount", MONEY, nullable=True),
        sa.Column("best_case_amount", MONEY, nullable=True),
        sa.Column("pipeline_amount", MONEY, nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("adjusted_by", sa.String(length=100), nullable=False),
        sa.Column("adjusted_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["forecast_submissions.id"],
            name=op.f("fk_forecast_adjustments_submission_id_forecast_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_adjustments")),
        sa.UniqueConstraint("submission_id", "revision", name=op.f("uq_forecast_adjustments_submission_id")),
    )
    op.create_index(
        op.f("ix_forecast_adjustments_submission_id"), "forecast_adjustments", ["submission_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_forecast_adjustments_submission_id"), table_name="forecast_adjustments")
    op.drop_table("forecast_adjustments")
    op.drop_index("ix_forecast_submissions_period_month", table_name="forecast_submissions")
    op.drop_table("forecast_submissions")
