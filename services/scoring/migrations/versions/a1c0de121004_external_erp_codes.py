"""external erp codes: an account's external ERP customer codes (``account_erp_codes``, unique across accounts)

Revision ID: a1c0de121004
Revises: a1c0de121003
Create Date: 2026-12-02 02:30:00
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "a1c0de121004"
down_revision = "a1c0de121003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_erp_codes",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_erp_codes_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_account_erp_codes")),
    )
    op.create_index(op.f("ix_account_erp_codes_account_id"), "account_erp_codes", ["account_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_account_erp_codes_account_id"), table_name="account_erp_codes")
    op.drop_table("account_erp_codes")
