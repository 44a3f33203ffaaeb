"""api keys: expiry, rotation and scopes

Revision ID: a1c0de120003
Revises: a1c0de120002
Create Date: 2026-12-02 01:30:00
"""

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "a1c0de120003"
down_revision = "a1c0de120002"
branch_labels = None
depends_on = None

# Keys made before scopes and expiry keep what they could do (every family, read and write) for at most a year
# from their creation (the new maximum lifetime); a key already older than that has expired.
_FAMILIES = ("identity", "views", "ops", "scoring", "complaints", "risk", "goals", "notifications")
_EXISTING_KEY_SCOPES = [f"{family}:write" for family in _FAMILIES]
_EXISTING_KEY_LIFETIME = timedelta(days=365)


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("scopes", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("expires_at", shared.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("rotated_at", shared.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("previous_secret_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("previous_secret_expires_at", shared.db.UTCDateTime(timezone=True), nullable=True))
    keys = sa.table(
        "api_keys",
        sa.column("key_id", sa.String()),
        sa.column("created_at", shared.db.UTCDateTime(timezone=True)),
        sa.column("expires_at", shared.db.UTCDateTime(timezone=True)),
        sa.column("scopes", sa.JSON()),
    )
    bind = op.get_bind()
    for key_id, created_at in bind.execute(sa.select(keys.c.key_id, keys.c.created_at)).all():
        bind.execute(
            keys.update()
            .where(keys.c.key_id == key_id)
            .values(expires_at=created_at + _EXISTING_KEY_LIFETIME, scopes=_EXISTING_KEY_SCOPES)
        )
    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column("scopes", existing_type=sa.JSON(), nullable=False)
        batch.alter_column("expires_at", existing_type=shared.db.UTCDateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("previous_secret_expires_at")
        batch.drop_column("previous_secret_hash")
        batch.drop_column("rotated_at")
        batch.drop_column("expires_at")
        batch.drop_column("scopes")
