"""task force improvement and closed loop

Every leg of a reopened case counted (resolution legs, legs within the SLA, their minutes summed), the
verification step of corrective and preventive actions, and the first approver of goodwill above a limit.

Revision ID: a1c0de122003
Revises: a1c0de122002
Create Date: 2026-12-02 02:00:00
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "a1c0de122003"
down_revision = "a1c0de122002"
branch_labels = None
depends_on = None

COMPLAINT_COLUMNS = ("resolution_legs", "resolution_legs_met", "resolution_minutes_total")
ACTION_COLUMNS = ("effective", "verified_by", "verified_at", "verification_note")
REMEDY_COLUMNS = ("first_approved_by", "first_approved_at")


def upgrade() -> None:
    for name in COMPLAINT_COLUMNS:
        op.add_column("complaints", sa.Column(name, sa.Integer(), server_default="0", nullable=False))
    # A complaint resolved before this revision: its one measured leg (earlier legs of a reopened one are lost).
    op.execute(
        sa.text(
            "UPDATE complaints SET resolution_legs = 1, resolution_minutes_total = resolution_minutes, "
            "resolution_legs_met = CASE WHEN resolution_within_sla THEN 1 ELSE 0 END "
            "WHERE resolution_minutes IS NOT NULL"
        )
    )
    op.add_column("actions", sa.Column("effective", sa.Boolean(), nullable=True))
    op.add_column("actions", sa.Column("verified_by", sa.String(length=100), nullable=True))
    op.add_column("actions", sa.Column("verified_at", shared.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column("actions", sa.Column("verification_note", sa.Text(), nullable=True))
    op.add_column("remedies", sa.Column("first_approved_by", sa.String(length=100), nullable=True))
    op.add_column("remedies", sa.Column("first_approved_at", shared.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for table, columns in (
        ("remedies", REMEDY_COLUMNS),
        ("actions", ACTION_COLUMNS),
        ("complaints", COMPLAINT_COLUMNS),
    ):
        for name in reversed(columns):
            if op.get_bind().dialect.name == "sqlite":  # SQLite >= 3.35 drops a column in place (no table copy)
                op.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {name}"))
            else:
                op.drop_column(table, name)
