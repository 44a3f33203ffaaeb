"""consistent scores: portfolio state, windowed features anchored on a business month, ratings at 4 places,
the currency and report id of monthly actuals, our participants of an engagement

Revision ID: 5c0a7d3e9f21
Revises: b27b85b02f1d
Create Date: 2026-12-08 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "5c0a7d3e9f21"
down_revision = "b27b85b02f1d"
branch_labels = None
depends_on = None

RATINGS = ("industry_leadership", "reference_value", "channel_value", "product_fit")
RATING_TYPES = {2: sa.Numeric(precision=5, scale=2), 4: sa.Numeric(precision=6, scale=4)}
GROWTH_TYPES = {2: sa.Numeric(precision=7, scale=2), 4: sa.Numeric(precision=8, scale=4)}


def upgrade() -> None:
    op.create_table(
        "portfolio_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("scored_on", sa.Date(), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portfolio_state")),
    )
    # The one row, never stale-looking as current: scored_on NULL makes the first scoring a whole-portfolio pass.
    op.bulk_insert(
        sa.table("portfolio_state", sa.column("id", sa.Integer()), sa.column("generation", sa.Integer())),
        [{"id": 1, "generation": 0}],
    )
    with op.batch_alter_table("account_features", schema=None) as batch_op:
        batch_op.add_column(sa.Column("window_period", sa.String(length=7), nullable=True))
        batch_op.create_index(batch_op.f("ix_account_features_window_period"), ["window_period"], unique=False)
    with op.batch_alter_table("monthly_actuals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("currency", sa.String(length=3), server_default="CNY", nullable=False))
        batch_op.add_column(sa.Column("report_id", sa.String(length=36), nullable=True))
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("our_participant_ids", sa.JSON(), server_default="[]", nullable=False))
    _ratings_scale(4)


def _ratings_scale(places: int) -> None:
    """Ratings and the expected growth at ``places`` (2 before, 4 now) decimal places.

    Only where the database enforces a NUMERIC's scale: SQLite does not (it keeps the value as given, and the
    model reads it at 4 places), and changing a column there means recreating ``accounts``, whose drop would
    cascade-delete every contact and engagement.
    """
    if op.get_bind().dialect.name == "sqlite":
        return
    old = 2 if places == 4 else 4
    for name in RATINGS:
        op.alter_column("accounts", name, existing_type=RATING_TYPES[old], type_=RATING_TYPES[places])
    op.alter_column("accounts", "expected_growth_pct", existing_type=GROWTH_TYPES[old], type_=GROWTH_TYPES[places])


def downgrade() -> None:
    _ratings_scale(2)
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.drop_column("our_participant_ids")
    with op.batch_alter_table("monthly_actuals", schema=None) as batch_op:
        batch_op.drop_column("report_id")
        batch_op.drop_column("currency")
    with op.batch_alter_table("account_features", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_features_window_period"))
        batch_op.drop_column("window_period")
    op.drop_table("portfolio_state")
