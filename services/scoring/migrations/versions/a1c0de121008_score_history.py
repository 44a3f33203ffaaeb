"""score history: the pinyin sort key of account names (``accounts.name_sort_key``, filled for existing rows) and
the score history of every account (``score_history``, started with each scored account's current score)

Revision ID: a1c0de121008
Revises: a1c0de121007
Create Date: 2026-12-02 06:00:00
"""

import sqlalchemy as sa
from alembic import op

import shared.db
from services.scoring.registry.name_order import name_sort_key

revision = "a1c0de121008"
down_revision = "a1c0de121007"
branch_labels = None
depends_on = None

BATCH = 1000


def _backfill_sort_keys() -> None:
    """Existing accounts get the key their name spells (in batches, one executemany each)."""
    connection = op.get_bind()
    accounts = sa.table("accounts", sa.column("id", sa.String), sa.column("name", sa.String))
    keys = sa.table("accounts", sa.column("id", sa.String), sa.column("name_sort_key", sa.String))
    rows = connection.execute(sa.select(accounts.c.id, accounts.c.name)).all()
    update = sa.update(keys).where(keys.c.id == sa.bindparam("b_id")).values(name_sort_key=sa.bindparam("b_key"))
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        connection.execute(update, [{"b_id": i, "b_key": name_sort_key(name or "")} for i, name in batch])


def _seed_history() -> None:
    """Every scored account starts its history with the score it holds (at the time it was scored)."""
    columns = ("score", "tier", "computed_tier", "model_version")
    accounts = sa.table("accounts", sa.column("id"), sa.column("scored_at"), *(sa.column(c) for c in columns))
    history = sa.table(
        "score_history", sa.column("account_id"), sa.column("recorded_at"), *(sa.column(c) for c in columns)
    )
    source = sa.select(accounts.c.id, accounts.c.scored_at, *(accounts.c[c] for c in columns)).where(
        accounts.c.score.is_not(None), accounts.c.scored_at.is_not(None)
    )
    op.get_bind().execute(sa.insert(history).from_select(["account_id", "recorded_at", *columns], source))


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.add_column(sa.Column("name_sort_key", sa.String(length=600), server_default="", nullable=False))
        batch_op.create_index(batch_op.f("ix_accounts_name_sort_key"), ["name_sort_key"], unique=False)
    _backfill_sort_keys()
    op.create_table(
        "score_history",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("score", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column("tier", sa.String(length=20), nullable=True),
        sa.Column("computed_tier", sa.String(length=20), nullable=True),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("recorded_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_history")),
    )
    op.create_index(
        "ix_score_history_account_recorded", "score_history", ["account_id", "recorded_at", "id"], unique=False
    )
    _seed_history()


def downgrade() -> None:
    op.drop_index("ix_score_history_account_recorded", table_name="score_history")
    op.drop_table("score_history")
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_name_sort_key"))
        batch_op.drop_column("name_sort_key")
