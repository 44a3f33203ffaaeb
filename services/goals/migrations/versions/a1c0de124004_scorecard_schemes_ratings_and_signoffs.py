"""scorecards: schemes per role, ratings of qualitative KPIs, signed-off versions

Revision ID: a1c0de124004
Revises: a1c0de124003
Create Date: 2026-12-02 03:00:00
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "a1c0de124004"
down_revision = "a1c0de124003"
branch_labels = None
depends_on = None

UTC = UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "scorecard_schemes",
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("role", name=op.f("pk_scorecard_schemes")),
    )
    op.create_table(
        "scorecard_ratings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=100), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("component", sa.String(length=60), nullable=False),
        sa.Column("score", sa.Numeric(precision=7, scale=2), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("rated_by", sa.String(length=100), nullable=False),
        sa.Column("rated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scorecard_ratings")),
        sa.UniqueConstraint("person_id", "period", "component", name=op.f("uq_scorecard_ratings_person_id")),
    )
    op.create_table(
        "scorecard_signoffs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=100), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("card_version", sa.Integer(), nullable=False),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("signed_by", sa.String(length=100), nullable=False),
        sa.Column("signed_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scorecard_signoffs")),
        sa.UniqueConstraint("person_id", "period", "card_version", name=op.f("uq_scorecard_signoffs_person_id")),
    )
    op.create_index(op.f("ix_scorecard_signoffs_person_id"), "scorecard_signoffs", ["person_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_scorecard_signoffs_person_id"), table_name="scorecard_signoffs")
    op.drop_table("scorecard_signoffs")
    op.drop_table("scorecard_ratings")
    op.drop_table("scorecard_schemes")
