"""contacts relationship map and engagements: contacts get a role in the buying decision, an attitude, whom they
report to, a version and retirement (kept, not deleted); engagements may be planned (due on a date, no occurrence
yet), name the contacts who took part, record a next step and carry a version

Revision ID: a1c0de121002
Revises: a1c0de121001
Create Date: 2026-12-02 02:00:00
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "a1c0de121002"
down_revision = "a1c0de121001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("attitude", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("reports_to_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("retired_at", shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("retired_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("retire_reason", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_contacts_reports_to_id_contacts"), "contacts", ["reports_to_id"], ["id"], ondelete="SET NULL"
        )
    with op.batch_alter_table("engagements") as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=20), server_default="held", nullable=False))
        batch_op.alter_column("occurred_on", existing_type=sa.Date(), nullable=True)
        batch_op.add_column(sa.Column("planned_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("participant_contact_ids", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("next_step", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("next_step_due_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("updated_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_engagements_status_planned_on", ["status", "planned_on"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("engagements") as batch_op:
        batch_op.drop_index("ix_engagements_status_planned_on")
        for column in (
            "updated_at",
            "updated_by",
            "version",
            "next_step_due_on",
            "next_step",
            "participant_contact_ids",
            "planned_on",
            "status",
        ):
            batch_op.drop_column(column)
    op.execute("DELETE FROM engagements WHERE occurred_on IS NULL")
    with op.batch_alter_table("engagements") as batch_op:
        batch_op.alter_column("occurred_on", existing_type=sa.Date(), nullable=False)
    with op.batch_alter_table("contacts") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_contacts_reports_to_id_contacts"), type_="foreignkey")
        for column in ("retire_reason", "retired_by", "retired_at", "updated_at", "version", "reports_to_id"):
            batch_op.drop_column(column)
        for column in ("attitude", "role"):
            batch_op.drop_column(column)
