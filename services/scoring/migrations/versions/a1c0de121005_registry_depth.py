"""registry depth: duplicate keys of accounts, the accounts' field history and change requests awaiting approval

``accounts`` gains ``name_key``, ``name_en_key`` and ``credit_family`` (registry/matching.py; filled for the
accounts already registered); ``account_field_changes`` keeps who changed which field when, from what to what;
``account_change_requests`` keeps self-reported score inputs until a supervisor decides them.

Revision ID: a1c0de121005
Revises: a1c0de121004
Create Date: 2026-12-02 06:00:00
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "a1c0de121005"
down_revision = "a1c0de121004"
branch_labels = None
depends_on = None


def _fill_keys() -> None:
    from services.scoring.registry.matching import credit_family, name_key  # a pure core (no service state)

    accounts = sa.table(
        "accounts",
        sa.column("id", sa.String),
        sa.column("name", sa.String),
        sa.column("name_en", sa.String),
        sa.column("credit_code", sa.String),
        sa.column("name_key", sa.String),
        sa.column("name_en_key", sa.String),
        sa.column("credit_family", sa.String),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(accounts.c.id, accounts.c.name, accounts.c.name_en, accounts.c.credit_code))
    for account_id, name, name_en, code in rows.fetchall():
        bind.execute(
            accounts.update()
            .where(accounts.c.id == account_id)
            .values(name_key=name_key(name), name_en_key=name_key(name_en), credit_family=credit_family(code))
        )


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("name_en_key", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("credit_family", sa.String(length=12), nullable=True))
        batch_op.create_index(batch_op.f("ix_accounts_name_key"), ["name_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_accounts_name_en_key"), ["name_en_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_accounts_credit_family"), ["credit_family"], unique=False)
    _fill_keys()
    op.create_table(
        "account_field_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("field", sa.String(length=60), nullable=False),
        sa.Column("old_value", sa.JSON(), nullable=True),
        sa.Column("new_value", sa.JSON(), nullable=True),
        sa.Column("changed_by", sa.String(length=100), nullable=False),
        sa.Column("changed_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.String(length=100), nullable=True),
        sa.Column("change_request_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_account_field_changes_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_field_changes")),
    )
    op.create_index(
        "ix_account_field_changes_account_at", "account_field_changes", ["account_id", "changed_at"], unique=False
    )
    op.create_table(
        "account_change_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("previous", sa.JSON(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requested_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_account_change_requests_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_change_requests")),
    )
    op.create_index(
        op.f("ix_account_change_requests_account_id"), "account_change_requests", ["account_id"], unique=False
    )
    op.create_index(
        op.f("ix_account_change_requests_requested_by"), "account_change_requests", ["requested_by"], unique=False
    )
    op.create_index(op.f("ix_account_change_requests_status"), "account_change_requests", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_account_change_requests_status"), table_name="account_change_requests")
    op.drop_index(op.f("ix_account_change_requests_requested_by"), table_name="account_change_requests")
    op.drop_index(op.f("ix_account_change_requests_account_id"), table_name="account_change_requests")
    op.drop_table("account_change_requests")
    op.drop_index("ix_account_field_changes_account_at", table_name="account_field_changes")
    op.drop_table("account_field_changes")
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_credit_family"))
        batch_op.drop_index(batch_op.f("ix_accounts_name_en_key"))
        batch_op.drop_index(batch_op.f("ix_accounts_name_key"))
        batch_op.drop_column("credit_family")
        batch_op.drop_column("name_en_key")
        batch_op.drop_column("name_key")
