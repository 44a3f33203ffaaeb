"""import batches: progress heartbeat, the file's content hash, and who voided a batch

Revision ID: a1c0de124002
Revises: a1c0de124001
Create Date: 2026-12-02 01:50:00
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "a1c0de124002"
down_revision = "a1c0de124001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("import_batches") as batch:
        batch.add_column(sa.Column("heartbeat_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("content_sha256", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("voided_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("voided_by", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("void_reason", sa.Text(), nullable=True))
    op.create_index(op.f("ix_import_batches_content_sha256"), "import_batches", ["content_sha256"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_import_batches_content_sha256"), table_name="import_batches")
    with op.batch_alter_table("import_batches") as batch:
        batch.drop_column("void_reason")
        batch.drop_column("voided_by")
        batch.drop_column("voided_at")
        batch.drop_column("content_sha256")
        batch.drop_column("heartbeat_at")
