"""survey results in the relationship dimension

Revision ID: a4d8f3c6b1e5
Revises: 8d4f1a6c2b93
Create Date: 2026-12-01 22:00:00
"""

import sqlalchemy as sa
from alembic import op

import shared.db  # noqa: F401

revision = "a4d8f3c6b1e5"
down_revision = "8d4f1a6c2b93"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "survey_results",
        sa.Column("survey_request_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("contact_level", sa.String(length=20), nullable=True),
        sa.Column("nps", sa.Integer(), nullable=True),
        sa.Column("csat", sa.Integer(), nullable=True),
        sa.Column("answered_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_by", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("survey_request_id", name=op.f("pk_survey_results")),
    )
    op.create_index(op.f("ix_survey_results_account_id"), "survey_results", ["account_id"], unique=False)
    op.add_column(
        "account_features", sa.Column("complaint_satisfaction_avg", sa.Numeric(precision=4, scale=2), nullable=True)
    )
    op.add_column(
        "account_features", sa.Column("survey_satisfaction_avg", sa.Numeric(precision=4, scale=2), nullable=True)
    )
    op.add_column("account_features", sa.Column("survey_count", sa.Integer(), server_default="0", nullable=False))
    op.add_column("contacts", sa.Column("language", sa.String(length=10), server_default="zh-CN", nullable=False))


def _drop_column(table: str, column: str) -> None:
    if op.get_bind().dialect.name == "sqlite":  # SQLite >= 3.35 drops a column in place (no table copy)
        op.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column}"))
    else:
        op.drop_column(table, column)


def downgrade() -> None:
    _drop_column("contacts", "language")
    for column in ("survey_count", "survey_satisfaction_avg", "complaint_satisfaction_avg"):
        _drop_column("account_features", column)
    op.drop_index(op.f("ix_survey_results_account_id"), table_name="survey_results")
    op.drop_table("survey_results")
