"""credit case history, withdrawals, thresholds, reviews

The history of limit requests and alerts (who, when, from/to, note), four-eyes approvals above a threshold and
the suggested limit on limit requests, the periodic review date of credit profiles (and the one announced).

Revision ID: a1c0de123003
Revises: a1c0de123002
Create Date: 2026-12-02 02:00:00
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "a1c0de123003"
down_revision = "a1c0de123002"
branch_labels = None
depends_on = None


def _history_table(name: str, parent: str, key: str) -> None:
    """A case history table: one row per step of a ``parent`` row."""
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(key, sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("from_state", sa.String(length=100), nullable=True),
        sa.Column("to_state", sa.String(length=100), nullable=True),
        sa.Column("actor_id", sa.String(length=100), nullable=True),
        sa.Column("at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint([key], [f"{parent}.id"], name=op.f(f"fk_{name}_{key}_{parent}")),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{name}_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f(f"ix_{name}_{key}"), [key], unique=False)


def upgrade() -> None:
    _history_table("limit_request_history", "limit_requests", "request_id")
    _history_table("alert_history", "alerts", "alert_id")
    with op.batch_alter_table("limit_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approvals_required", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("threshold_amount", sa.Numeric(precision=20, scale=4), nullable=True))
        batch_op.add_column(sa.Column("threshold_currency", sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column("first_approved_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("first_approved_at", shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("suggested_limit", sa.Numeric(precision=20, scale=4), nullable=True))
        batch_op.add_column(sa.Column("suggested_limit_currency", sa.String(length=3), nullable=True))
    with op.batch_alter_table("credit_profiles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("review_notified_on", sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f("ix_credit_profiles_review_on"), ["review_on"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("credit_profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_profiles_review_on"))
        batch_op.drop_column("review_notified_on")
        batch_op.drop_column("review_on")
    with op.batch_alter_table("limit_requests", schema=None) as batch_op:
        for column in (
            "suggested_limit_currency",
            "suggested_limit",
            "first_approved_at",
            "first_approved_by",
            "threshold_currency",
            "threshold_amount",
            "approvals_required",
        ):
            batch_op.drop_column(column)
    for name, key in (("alert_history", "alert_id"), ("limit_request_history", "request_id")):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{name}_{key}"))
            batch_op.drop_index(batch_op.f(f"ix_{name}_account_id"))
        op.drop_table(name)
