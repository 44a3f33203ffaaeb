"""goal tree: cancelled targets (who, when, why), one live target per key; the catalogue (seasonal templates,
product lines) kept through the API

Revision ID: a1c0de124003
Revises: a1c0de124002
Create Date: 2026-12-02 02:00:00
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "a1c0de124003"
down_revision = "a1c0de124002"
branch_labels = None
depends_on = None


def _key(row: sa.Row) -> str:
    """The dedup key of a target (services.goals.targets.service.dedup_key, restated for the backfill)."""
    parts = (row.scope, row.account_id, row.owner_id if row.scope == "team" else None, row.metric)
    parts += (row.custom_metric, row.period, row.product_line)
    return "|".join("" if p is None else str(p) for p in parts)


def upgrade() -> None:
    with op.batch_alter_table("targets") as batch:
        batch.add_column(sa.Column("dedup_key", sa.String(length=420), nullable=True))
        batch.add_column(sa.Column("cancelled_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("cancelled_by", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("cancel_reason", sa.Text(), nullable=True))
    bind = op.get_bind()
    targets = sa.table(
        "targets",
        *(sa.column(c) for c in ("id", "scope", "account_id", "owner_id", "metric", "custom_metric", "period")),
        sa.column("product_line"),
        sa.column("created_at"),
        sa.column("dedup_key"),
    )
    seen: set[str] = set()
    for row in bind.execute(sa.select(targets).order_by(targets.c.created_at, targets.c.id)).all():
        key = _key(row)
        if key in seen:
            continue  # an older duplicate keeps the key; a later one stays without (it can be cancelled)
        seen.add(key)
        bind.execute(sa.update(targets).where(targets.c.id == row.id).values(dedup_key=key))
    op.create_index("uq_targets_dedup_key", "targets", ["dedup_key"], unique=True)
    op.create_table(
        "seasonal_templates",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_seasonal_templates")),
    )
    op.create_table(
        "product_lines",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_product_lines")),
    )


def downgrade() -> None:
    op.drop_table("product_lines")
    op.drop_table("seasonal_templates")
    op.drop_index("uq_targets_dedup_key", table_name="targets")
    with op.batch_alter_table("targets") as batch:
        batch.drop_column("cancel_reason")
        batch.drop_column("cancelled_by")
        batch.drop_column("cancelled_at")
        batch.drop_column("dedup_key")
