"""business calendar as data: calendar years and the audit of their changes

Revision ID: b7c41e9a2d05
Revises: 03f7b93e73a2
Create Date: 2026-12-01 20:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "b7c41e9a2d05"
down_revision = "03f7b93e73a2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_years",
        sa.Column("calendar_code", sa.String(length=20), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("day_start", sa.Time(), nullable=False),
        sa.Column("day_end", sa.Time(), nullable=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("calendar_code", "year", name=op.f("pk_calendar_years")),
    )
    op.create_table(
        "calendar_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("calendar_code", sa.String(length=20), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(length=100), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_changes")),
    )
    op.create_index(op.f("ix_calendar_changes_calendar_code"), "calendar_changes", ["calendar_code"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_calendar_changes_calendar_code"), table_name="calendar_changes")
    op.drop_table("calendar_changes")
    op.drop_table("calendar_years")
