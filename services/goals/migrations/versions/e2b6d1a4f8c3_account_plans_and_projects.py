"""account plans and cross-department projects

Revision ID: e2b6d1a4f8c3
Revises: 9e4a6b1c2d37
Create Date: 2026-12-01 22:00:00
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "e2b6d1a4f8c3"
down_revision = "9e4a6b1c2d37"
branch_labels = None
depends_on = None

UTC = shared.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "account_contacts",
        sa.Column("contact_id", sa.String(length=100), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("level", sa.String(length=40), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("event_time", UTC, nullable=False),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_account_contacts")),
    )
    with op.batch_alter_table("account_contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_contacts_account_id"), ["account_id"], unique=False)

    op.create_table(
        "account_plans",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("plan_version", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("submitted_by", sa.String(length=100), nullable=True),
        sa.Column("submitted_at", UTC, nullable=True),
        sa.Column("approved_by", sa.String(length=100), nullable=True),
        sa.Column("approved_at", UTC, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_plans")),
        sa.UniqueConstraint("account_id", "year", name=op.f("uq_account_plans_account_id")),
    )
    with op.batch_alter_table("account_plans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_plans_account_id"), ["account_id"], unique=False)

    op.create_table(
        "account_plan_versions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("plan_id", sa.String(length=36), nullable=False),
        sa.Column("plan_version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("submitted_by", sa.String(length=100), nullable=True),
        sa.Column("approved_by", sa.String(length=100), nullable=False),
        sa.Column("approved_at", UTC, nullable=False),
        sa.Column("superseded_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["account_plans.id"], name=op.f("fk_account_plan_versions_plan_id_account_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_plan_versions")),
        sa.UniqueConstraint("plan_id", "plan_version", name=op.f("uq_account_plan_versions_plan_id")),
    )
    with op.batch_alter_table("account_plan_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_plan_versions_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "account_plan_reviews",
        sa.Column("plan_id", sa.String(length=36), nullable=False),
        sa.Column("review_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["account_plans.id"], name=op.f("fk_account_plan_reviews_plan_id_account_plans")
        ),
        sa.PrimaryKeyConstraint("plan_id", "review_on", name=op.f("pk_account_plan_reviews")),
    )
    with op.batch_alter_table("account_plan_reviews", schema=None) as batch_op:
        batch_op.create_index("ix_account_plan_reviews_review_on", ["review_on"], unique=False)

    op.create_table(
        "cross_projects",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("customer_project", sa.String(length=300), nullable=True),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cross_projects")),
    )
    with op.batch_alter_table("cross_projects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cross_projects_account_id"), ["account_id"], unique=False)

    op.create_table(
        "project_parts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("owner_id", sa.String(length=100), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("acceptance_note", sa.Text(), nullable=True),
        sa.Column("accepted_by", sa.String(length=100), nullable=True),
        sa.Column("accepted_at", UTC, nullable=True),
        sa.Column("delivered_at", UTC, nullable=True),
        sa.Column("overdue_notified_at", UTC, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["cross_projects.id"], name=op.f("fk_project_parts_project_id_cross_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_parts")),
    )
    with op.batch_alter_table("project_parts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_project_parts_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_project_parts_project_id"), ["project_id"], unique=False)
        batch_op.create_index("ix_project_parts_owner_status", ["owner_id", "status"], unique=False)
        batch_op.create_index("ix_project_parts_status_due", ["status", "due_on"], unique=False)


def downgrade() -> None:
    op.drop_table("project_parts")
    op.drop_table("cross_projects")
    op.drop_table("account_plan_reviews")
    op.drop_table("account_plan_versions")
    op.drop_table("account_plans")
    op.drop_table("account_contacts")
