"""strategy quadrant and catalogue: stored strategy documents (``strategy_settings``: the quadrant configuration and
the rule table) and the product catalogue projected from goals (``product_catalogue``)

Revision ID: a1c0de121007
Revises: a1c0de121006
Create Date: 2026-12-02 06:00:00
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "a1c0de121007"
down_revision = "a1c0de121006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "strategy_settings",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_strategy_settings")),
    )
    op.create_table(
        "product_catalogue",
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("event_time", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_product_catalogue")),
    )


def downgrade() -> None:
    op.drop_table("product_catalogue")
    op.drop_table("strategy_settings")
