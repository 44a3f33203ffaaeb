"""rescore performance (slot reserved for one change; fill upgrade/downgrade and this docstring)

Revision ID: a1c0de121009
Revises: a1c0de121008
Create Date: 2026-12-02 06:00:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import shared.db  # noqa: F401

revision = "a1c0de121009"
down_revision = "a1c0de121008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
