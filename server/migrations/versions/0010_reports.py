"""reports: residents report any item; three distinct reporters hide it for a moderator

Revision ID: 0010_reports
Revises: 0006_moderation
Create Date: 2026-12-02 14:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_reports"
down_revision = "0006_moderation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reported_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("reporters", sa.Integer(), nullable=False),
        sa.Column("excerpt", sa.String(length=300), nullable=False),
        sa.Column("url", sa.String(length=300), nullable=False),
        sa.Column("first_reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reported_item")),
        sa.UniqueConstraint("kind", "target_id", name="uq_reported_item_target"),
    )
    op.create_index("ix_reported_item_queue", "reported_item", ["state", "first_reported_at"])
    op.create_table(
        "content_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("identity_hash", sa.String(length=64), nullable=False),
        sa.Column("device_hash", sa.String(length=64), nullable=True),
        sa.Column("ip_hash", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["reported_item.id"],
            name=op.f("fk_content_report_item_id_reported_item"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_report")),
        sa.UniqueConstraint("item_id", "identity_hash", name="uq_content_report_reporter"),
    )


def downgrade() -> None:
    op.drop_table("content_report")
    op.drop_index("ix_reported_item_queue", table_name="reported_item")
    op.drop_table("reported_item")
