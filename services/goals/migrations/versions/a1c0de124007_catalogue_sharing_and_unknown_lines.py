"""catalogue sharing and unknown lines: the product catalogue's last announcement (``catalogue_announcements``,
its fingerprint), so that a start-up announces ``goals.catalogue_changed`` only when the catalogue changed

Revision ID: a1c0de124007
Revises: a1c0de124006
Create Date: 2026-12-02 06:00:00
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "a1c0de124007"
down_revision = "a1c0de124006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalogue_announcements",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("announced_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_catalogue_announcements")),
    )


def downgrade() -> None:
    op.drop_table("catalogue_announcements")
