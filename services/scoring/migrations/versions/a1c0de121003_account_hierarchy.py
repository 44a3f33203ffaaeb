"""account hierarchy: an account may name the group it is a subsidiary of (``accounts.parent_account_id``)

Revision ID: a1c0de121003
Revises: a1c0de121002
Create Date: 2026-12-02 02:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a1c0de121003"
down_revision = "a1c0de121002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.add_column(sa.Column("parent_account_id", sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f("ix_accounts_parent_account_id"), ["parent_account_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_parent_account_id"))
        batch_op.drop_column("parent_account_id")
