"""intake taxonomy and sla escalation

Revision ID: a1c0de122002
Revises: a1c0de122001
Create Date: 2026-12-02 02:00:00
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "a1c0de122002"
down_revision = "a1c0de122001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Sub-categories: a category may name its (top-level) parent.
    with op.batch_alter_table("categories") as batch:
        batch.add_column(sa.Column("parent_code", sa.String(length=50), nullable=True))
    # Intake by impact × urgency, the policy's extra conditions, the customer-update warning.
    with op.batch_alter_table("complaints") as batch:
        batch.add_column(sa.Column("impact", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("urgency", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("policy_category", sa.String(length=50), server_default="*", nullable=False))
        batch.add_column(sa.Column("policy_channel", sa.String(length=30), server_default="*", nullable=False))
        batch.add_column(sa.Column("update_warning_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("update_warned_at", UTCDateTime(), nullable=True))
    # The closed channel vocabulary: WeChat is WeCom (企业微信), a letter is "other".
    op.execute("UPDATE complaints SET channel = 'wecom' WHERE channel = 'wechat'")
    op.execute("UPDATE complaints SET channel = 'other' WHERE channel = 'letter'")
    # SLA policies narrowed by category and channel ('*' = any): both join the key.
    with op.batch_alter_table("sla_policies", recreate="always") as batch:
        batch.add_column(sa.Column("category", sa.String(length=50), server_default="*", nullable=False))
        batch.add_column(sa.Column("channel", sa.String(length=30), server_default="*", nullable=False))
        batch.drop_constraint("pk_sla_policies", type_="primary")
        batch.create_primary_key("pk_sla_policies", ["tier", "severity", "category", "channel"])
    op.create_table(
        "severity_matrices",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("cells", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_severity_matrices")),
    )
    op.create_table(
        "escalation_ladders",
        sa.Column("tier", sa.String(length=30), nullable=False),
        sa.Column("rungs", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("tier", name=op.f("pk_escalation_ladders")),
    )
    op.create_table(
        "attachment_files",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("complaint_id", sa.String(length=36), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.Column("uploaded_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_attachment_files_complaint_id_complaints")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment_files")),
    )
    op.create_index(op.f("ix_attachment_files_complaint_id"), "attachment_files", ["complaint_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_attachment_files_complaint_id"), table_name="attachment_files")
    op.drop_table("attachment_files")
    op.drop_table("escalation_ladders")
    op.drop_table("severity_matrices")
    op.execute("DELETE FROM sla_policies WHERE category <> '*' OR channel <> '*'")
    with op.batch_alter_table("sla_policies", recreate="always") as batch:
        batch.drop_constraint("pk_sla_policies", type_="primary")
        batch.create_primary_key("pk_sla_policies", ["tier", "severity"])
        batch.drop_column("channel")
        batch.drop_column("category")
    # In place (SQLite ≥ 3.35 drops a plain column itself): rebuilding "complaints" would break the tables that
    # reference it.
    for column in ("update_warned_at", "update_warning_at", "policy_channel", "policy_category", "urgency", "impact"):
        op.drop_column("complaints", column)
    with op.batch_alter_table("categories") as batch:
        batch.drop_column("parent_code")
