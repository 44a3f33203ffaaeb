"""contact level review: the level of a contact or a held engagement that an account manager reports counts for the
score once a KA supervisor confirmed it (``level_review`` and who reported, decided, when and why); what is stored
already counts as it did (``confirmed``)

Revision ID: a1c0de12100a
Revises: a1c0de121009
Create Date: 2026-12-02 15:30:00
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "a1c0de12100a"
down_revision = "a1c0de121009"
branch_labels = None
depends_on = None

TABLES = ("contacts", "engagements")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("level_review", sa.String(length=20), nullable=False, server_default="confirmed")
            )
            batch.add_column(sa.Column("level_reported_by", sa.String(length=100), nullable=True))
            batch.add_column(sa.Column("level_reviewed_by", sa.String(length=100), nullable=True))
            batch.add_column(sa.Column("level_reviewed_at", shared.db.UTCDateTime(), nullable=True))
            batch.add_column(sa.Column("level_review_note", sa.Text(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            for column in ("level_review_note", "level_reviewed_at", "level_reviewed_by", "level_reported_by"):
                batch.drop_column(column)
            batch.drop_column("level_review")
