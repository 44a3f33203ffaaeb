"""group exposure: risk's own copy of the account hierarchy (``account_group_links``, from the account events) and
the group limit on the group's credit profile

Revision ID: a1c0de123006
Revises: a1c0de123005
Create Date: 2026-12-02 02:00:00
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "a1c0de123006"
down_revision = "a1c0de123005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_group_links",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("parent_account_id", sa.String(length=36), nullable=True),
        sa.Column("event_time", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_group_links")),
    )
    with op.batch_alter_table("account_group_links") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_account_group_links_parent_account_id"), ["parent_account_id"], unique=False
        )
    with op.batch_alter_table("credit_profiles") as batch_op:
        batch_op.add_column(sa.Column("group_credit_limit", sa.Numeric(precision=20, scale=4), nullable=True))
        batch_op.add_column(sa.Column("group_limit_currency", sa.String(length=3), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("credit_profiles") as batch_op:
        batch_op.drop_column("group_limit_currency")
        batch_op.drop_column("group_credit_limit")
    with op.batch_alter_table("account_group_links") as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_group_links_parent_account_id"))
    op.drop_table("account_group_links")
