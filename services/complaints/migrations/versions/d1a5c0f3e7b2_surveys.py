"""satisfaction surveys: templates, schedules, requests, answers

Revision ID: d1a5c0f3e7b2
Revises: c4d8e2f1a6b3
Create Date: 2026-12-01 22:00:00
"""

import sqlalchemy as sa
from alembic import op

import shared.db  # noqa: F401

revision = "d1a5c0f3e7b2"
down_revision = "c4d8e2f1a6b3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "survey_answers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("template_id", sa.String(length=36), nullable=False),
        sa.Column("contact_id", sa.String(length=36), nullable=True),
        sa.Column("contact_level", sa.String(length=20), nullable=True),
        sa.Column("nps", sa.Integer(), nullable=True),
        sa.Column("csat", sa.Integer(), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("answered_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_by", sa.String(length=20), nullable=False),
        sa.Column("entered_by", sa.String(length=100), nullable=True),
        sa.Column("low_score", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_answers")),
        sa.UniqueConstraint("request_id", name=op.f("uq_survey_answers_request_id")),
    )
    op.create_index(op.f("ix_survey_answers_account_id"), "survey_answers", ["account_id"], unique=False)
    op.create_index(op.f("ix_survey_answers_answered_at"), "survey_answers", ["answered_at"], unique=False)
    op.create_table(
        "survey_contacts",
        sa.Column("contact_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("changed_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_survey_contacts")),
    )
    op.create_index(op.f("ix_survey_contacts_account_id"), "survey_contacts", ["account_id"], unique=False)
    op.create_table(
        "survey_follow_ups",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("answer_id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.String(length=100), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_follow_ups")),
        sa.UniqueConstraint("request_id", name=op.f("uq_survey_follow_ups_request_id")),
    )
    op.create_index(op.f("ix_survey_follow_ups_account_id"), "survey_follow_ups", ["account_id"], unique=False)
    op.create_index(op.f("ix_survey_follow_ups_owner_id"), "survey_follow_ups", ["owner_id"], unique=False)
    op.create_index(op.f("ix_survey_follow_ups_state"), "survey_follow_ups", ["state"], unique=False)
    op.create_table(
        "survey_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("template_id", sa.String(length=36), nullable=False),
        sa.Column("schedule_id", sa.String(length=36), nullable=True),
        sa.Column("complaint_id", sa.String(length=36), nullable=True),
        sa.Column("contact_id", sa.String(length=36), nullable=True),
        sa.Column("contact_name", sa.String(length=200), nullable=True),
        sa.Column("contact_level", sa.String(length=20), nullable=True),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("period", sa.String(length=60), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("expires_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_requests")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_survey_requests_dedupe_key")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_survey_requests_token_hash")),
    )
    op.create_index(op.f("ix_survey_requests_account_id"), "survey_requests", ["account_id"], unique=False)
    op.create_index("ix_survey_requests_account_state", "survey_requests", ["account_id", "state"], unique=False)
    op.create_index(op.f("ix_survey_requests_complaint_id"), "survey_requests", ["complaint_id"], unique=False)
    op.create_index(op.f("ix_survey_requests_schedule_id"), "survey_requests", ["schedule_id"], unique=False)
    op.create_index(op.f("ix_survey_requests_state"), "survey_requests", ["state"], unique=False)
    op.create_table(
        "survey_schedules",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("contact_level", sa.String(length=20), nullable=False),
        sa.Column("cadence", sa.String(length=30), nullable=False),
        sa.Column("template_code", sa.String(length=50), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_schedules")),
    )
    op.create_index(op.f("ix_survey_schedules_tier"), "survey_schedules", ["tier"], unique=False)
    op.create_table(
        "survey_templates",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_templates")),
        sa.UniqueConstraint("code", "version", name="uq_survey_templates_code_version"),
    )
    op.create_index(op.f("ix_survey_templates_code"), "survey_templates", ["code"], unique=False)
    op.create_index(op.f("ix_survey_templates_state"), "survey_templates", ["state"], unique=False)
    op.add_column("revisits", sa.Column("answered_by", sa.String(length=20), server_default="owner", nullable=False))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # SQLite >= 3.35 drops a column in place (no table copy)
        op.execute(sa.text("ALTER TABLE revisits DROP COLUMN answered_by"))
    else:
        op.drop_column("revisits", "answered_by")
    op.drop_index(op.f("ix_survey_templates_state"), table_name="survey_templates")
    op.drop_index(op.f("ix_survey_templates_code"), table_name="survey_templates")
    op.drop_table("survey_templates")
    op.drop_index(op.f("ix_survey_schedules_tier"), table_name="survey_schedules")
    op.drop_table("survey_schedules")
    op.drop_index(op.f("ix_survey_requests_state"), table_name="survey_requests")
    op.drop_index(op.f("ix_survey_requests_schedule_id"), table_name="survey_requests")
    op.drop_index(op.f("ix_survey_requests_complaint_id"), table_name="survey_requests")
    op.drop_index("ix_survey_requests_account_state", table_name="survey_requests")
    op.drop_index(op.f("ix_survey_requests_account_id"), table_name="survey_requests")
    op.drop_table("survey_requests")
    op.drop_index(op.f("ix_survey_follow_ups_state"), table_name="survey_follow_ups")
    op.drop_index(op.f("ix_survey_follow_ups_owner_id"), table_name="survey_follow_ups")
    op.drop_index(op.f("ix_survey_follow_ups_account_id"), table_name="survey_follow_ups")
    op.drop_table("survey_follow_ups")
    op.drop_index(op.f("ix_survey_contacts_account_id"), table_name="survey_contacts")
    op.drop_table("survey_contacts")
    op.drop_index(op.f("ix_survey_answers_answered_at"), table_name="survey_answers")
    op.drop_index(op.f("ix_survey_answers_account_id"), table_name="survey_answers")
    op.drop_table("survey_answers")
