"""forum: topics by komisi, threads, replies and e-mail subscriptions

Revision ID: 0011_forum
Revises: 0010_reports
Create Date: 2026-12-02 14:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_forum"
down_revision = "0010_reports"
branch_labels = None
depends_on = "0009_pengaduan"  # complaint_category

TOPICS = (
    ("Komisi A", "Pemerintahan dan administrasi kependudukan", "KTP, kelurahan, ketertiban."),
    ("Komisi B", "Perekonomian dan keuangan daerah", "Pasar, UMKM, pajak dan APBD."),
    ("Komisi C", "Pembangunan dan lingkungan", "Jalan, drainase, banjir, sampah."),
    ("Komisi D", "Kesejahteraan rakyat", "Kesehatan, pendidikan, sosial."),
)


def _author_columns() -> list[sa.Column]:
    return [
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("badge", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("identity_hash", sa.String(length=64), nullable=False),
        sa.Column("ip_hash", sa.String(length=64), nullable=False),
        sa.Column("device_hash", sa.String(length=64), nullable=True),
    ]


def upgrade() -> None:
    topic = op.create_table(
        "forum_topic",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("komisi", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forum_topic")),
    )
    op.bulk_insert(topic, [{"komisi": k, "title": t, "description": d} for k, t, d in TOPICS])
    op.create_table(
        "forum_thread",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        *_author_columns(),
        sa.Column("sitting_id", sa.Integer(), nullable=True),
        sa.Column("raperda_id", sa.Integer(), nullable=True),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("slow_mode_s", sa.Integer(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("official", sa.Boolean(), nullable=False),
        sa.Column("reply_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["forum_topic.id"],
            name=op.f("fk_forum_thread_topic_id_forum_topic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_forum_thread_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sitting_id"],
            ["sitting.id"],
            name=op.f("fk_forum_thread_sitting_id_sitting"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["complaint_category.id"],
            name=op.f("fk_forum_thread_category_id_complaint_category"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forum_thread")),
    )
    op.create_index(
        "ix_forum_thread_topic", "forum_thread", ["topic_id", "hidden", "last_activity_at", "id"]
    )
    op.create_table(
        "forum_reply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        *_author_columns(),
        sa.Column("official", sa.Boolean(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["forum_thread.id"],
            name=op.f("fk_forum_reply_thread_id_forum_thread"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_forum_reply_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forum_reply")),
    )
    op.create_index("ix_forum_reply_page", "forum_reply", ["thread_id", "hidden", "id"])
    op.create_index(
        "ix_forum_reply_official", "forum_reply", ["thread_id", "official", "hidden", "id"]
    )
    op.create_table(
        "forum_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("identity_hash", sa.String(length=64), nullable=False),
        sa.Column("contact_token", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["forum_thread.id"],
            name=op.f("fk_forum_subscription_thread_id_forum_thread"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forum_subscription")),
    )
    op.create_index(op.f("ix_forum_subscription_thread_id"), "forum_subscription", ["thread_id"])


def downgrade() -> None:
    op.drop_table("forum_subscription")
    op.drop_table("forum_reply")
    op.drop_table("forum_thread")
    op.drop_table("forum_topic")
