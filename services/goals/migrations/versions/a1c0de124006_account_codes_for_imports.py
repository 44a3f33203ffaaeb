"""account codes for imports: the ERP codes and credit codes imports may name an account by (``account_codes``)

Revision ID: a1c0de124006
Revises: a1c0de124005
Create Date: 2026-12-02 02:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a1c0de124006"
down_revision = "a1c0de124005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_codes",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("version", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_account_codes")),
    )
    op.create_index(op.f("ix_account_codes_account_id"), "account_codes", ["account_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_account_codes_account_id"), table_name="account_codes")
    op.drop_table("account_codes")
