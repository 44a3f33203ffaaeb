"""model drafts and rollback: a row revision on every scoring model version (its ETag: drafts are edited with
If-Match) and the version a rollback copied its definition from

Revision ID: a1c0de121006
Revises: a1c0de121005
Create Date: 2026-12-02 06:00:00
"""

import sqlalchemy as sa
from alembic import op

import shared.db  # noqa: F401

revision = "a1c0de121006"
down_revision = "a1c0de121005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scoring_models", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("copied_from", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scoring_models", schema=None) as batch_op:
        batch_op.drop_column("copied_from")
        batch_op.drop_column("revision")
