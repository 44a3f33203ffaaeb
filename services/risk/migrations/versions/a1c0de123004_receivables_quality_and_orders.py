"""receivables quality and orders

Revision ID: a1c0de123004
Revises: a1c0de123003
Create Date: 2026-12-02 02:00:00
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "a1c0de123004"
down_revision = "a1c0de123003"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=20, scale=4)


def upgrade() -> None:
    # Invoices: credit notes reduce the open balance, cancellation, the customer's dispute.
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credited_amount", MONEY, server_default="0", nullable=False))
        batch_op.add_column(sa.Column("status", sa.String(length=20), server_default="open", nullable=False))
        batch_op.add_column(sa.Column("cancelled_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("cancelled_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("cancel_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("dispute_status", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("dispute_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("disputed_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("disputed_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("dispute_resolution", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("dispute_resolved_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("dispute_resolved_at", UTCDateTime(), nullable=True))

    op.create_table(
        "credit_notes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("invoice_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.String(length=100), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_credit_notes_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_notes")),
        sa.UniqueConstraint("account_id", "number", name=op.f("uq_credit_notes_account_id")),
    )
    with op.batch_alter_table("credit_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_notes_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_credit_notes_invoice_id"), ["invoice_id"], unique=False)

    # Payments: a reversal keeps who, when and why.
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reversed_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("reversed_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("reversal_reason", sa.Text(), nullable=True))

    # Orders: a reference books one order per account (none given: null). Empty references become null; a
    # reference booked twice before keeps its first order, the later ones get their id appended.
    with op.batch_alter_table("sales_orders", schema=None) as batch_op:
        batch_op.alter_column("reference", existing_type=sa.String(length=100), nullable=True)
    op.execute("UPDATE sales_orders SET reference = NULL WHERE reference = ''")
    op.execute(
        "UPDATE sales_orders SET reference = substr(reference, 1, 60) || '~' || id "
        "WHERE reference IS NOT NULL AND EXISTS (SELECT 1 FROM sales_orders AS first "
        "WHERE first.account_id = sales_orders.account_id AND first.reference = sales_orders.reference "
        "AND (first.checked_at < sales_orders.checked_at "
        "OR (first.checked_at = sales_orders.checked_at AND first.id < sales_orders.id)))"
    )
    with op.batch_alter_table("sales_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("horizon", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("check_result", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("release_decision", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("release_reasons", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("closed_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("closed_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("close_reason", sa.Text(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_sales_orders_account_id"), ["account_id", "reference"])


def downgrade() -> None:
    with op.batch_alter_table("sales_orders", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_sales_orders_account_id"), type_="unique")
        for column in ("close_reason", "closed_at", "closed_by", "release_reasons", "release_decision"):
            batch_op.drop_column(column)
        batch_op.drop_column("check_result")
        batch_op.drop_column("horizon")
    op.execute("UPDATE sales_orders SET reference = '' WHERE reference IS NULL")
    with op.batch_alter_table("sales_orders", schema=None) as batch_op:
        batch_op.alter_column("reference", existing_type=sa.String(length=100), nullable=False)
    with op.batch_alter_table("payments", schema=None) as batch_op:
        for column in ("reversal_reason", "reversed_at", "reversed_by"):
            batch_op.drop_column(column)
    with op.batch_alter_table("credit_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_notes_invoice_id"))
        batch_op.drop_index(batch_op.f("ix_credit_notes_account_id"))
    op.drop_table("credit_notes")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        for column in (
            "dispute_resolved_at",
            "dispute_resolved_by",
            "dispute_resolution",
            "disputed_at",
            "disputed_by",
            "dispute_reason",
            "dispute_status",
            "cancel_reason",
            "cancelled_at",
            "cancelled_by",
            "status",
            "credited_amount",
        ):
            batch_op.drop_column(column)
