"""alerts and contracts in depth

Revision ID: a1c0de123005
Revises: a1c0de123004
Create Date: 2026-12-02 02:00:00
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "a1c0de123005"
down_revision = "a1c0de123004"
branch_labels = None
depends_on = None

_ALERT_COLUMNS = ("subject_id", "reopened_at", "clear_proposed_at", "clear_reason")
_CONTRACT_COLUMNS = (
    "counterparty",
    "signatories",
    "owner_id",
    "terms_version",
    "renewed_on",
    "renewal_count",
    "terminated_on",
    "termination_reason",
)


def upgrade() -> None:
    with op.batch_alter_table("warning_rules") as batch:
        batch.add_column(sa.Column("min_amount", sa.Numeric(precision=20, scale=4), nullable=True))
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("subject_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("reopened_at", shared.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("clear_proposed_at", shared.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("clear_reason", sa.Text(), nullable=True))
        batch.create_index(batch.f("ix_alerts_subject_id"), ["subject_id"], unique=False)
    with op.batch_alter_table("contracts") as batch:
        batch.add_column(sa.Column("counterparty", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("signatories", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("owner_id", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("terms_version", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("renewed_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("renewal_count", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("terminated_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("termination_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("contract_reviews") as batch:
        batch.add_column(sa.Column("action", sa.String(length=20), nullable=False, server_default="transition"))
        batch.add_column(sa.Column("clause", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("present", sa.Boolean(), nullable=True))
    op.create_table(
        "contract_amendments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("contract_id", sa.String(length=36), nullable=False),
        sa.Column("terms_version", sa.Integer(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["contract_id"], ["contracts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("contract_id", "terms_version"),
    )
    op.create_index(op.f("ix_contract_amendments_contract_id"), "contract_amendments", ["contract_id"], unique=False)
    op.create_table(
        "contract_documents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("contract_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.Column("uploaded_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["contract_id"], ["contracts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("contract_id", "version"),
    )
    op.create_index(op.f("ix_contract_documents_contract_id"), "contract_documents", ["contract_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_contract_documents_contract_id"), table_name="contract_documents")
    op.drop_table("contract_documents")
    op.drop_index(op.f("ix_contract_amendments_contract_id"), table_name="contract_amendments")
    op.drop_table("contract_amendments")
    with op.batch_alter_table("contract_reviews") as batch:
        for column in ("present", "clause", "action"):
            batch.drop_column(column)
    with op.batch_alter_table("contracts") as batch:
        for column in reversed(_CONTRACT_COLUMNS):
            batch.drop_column(column)
    with op.batch_alter_table("alerts") as batch:
        batch.drop_index(batch.f("ix_alerts_subject_id"))
        for column in reversed(_ALERT_COLUMNS):
            batch.drop_column(column)
    with op.batch_alter_table("warning_rules") as batch:
        batch.drop_column("min_amount")
