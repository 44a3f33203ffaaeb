"""notification marks: the revisit timer of a resolved complaint, and the overdue mark of a task

Revision ID: c4d8e2f1a6b3
Revises: b7c41e9a2d05
Create Date: 2026-12-02 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "c4d8e2f1a6b3"
down_revision = "b7c41e9a2d05"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revisit_due_at", shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revisit_notified_at", shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_complaints_revisit_due_at"), ["revisit_due_at"], unique=False)
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("overdue_notified_at", shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_tasks_status_due_at", ["status", "due_at"], unique=False)


def _drop_columns(table: str, columns: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite >= 3.35 drops a column in place; batch mode would copy the table, which the foreign keys of the
        # rows pointing at it refuse.
        for column in columns:
            op.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        return
    for column in columns:
        op.drop_column(table, column)


def downgrade() -> None:
    op.drop_index("ix_tasks_status_due_at", table_name="tasks")
    _drop_columns("tasks", ("overdue_notified_at",))
    op.drop_index(op.f("ix_complaints_revisit_due_at"), table_name="complaints")
    _drop_columns("complaints", ("revisit_notified_at", "revisit_due_at"))
