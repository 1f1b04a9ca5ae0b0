"""live comments: comments, per-sitting settings, banned words (seeded), bans

Revision ID: 0002_comments
Revises: 0001
Create Date: 2026-11-29 19:42:17
"""

import sqlalchemy as sa
from alembic import op

from server.domain.moderation import DEFAULT_BANNED_WORDS

revision = "0002_comments"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    banned_word = op.create_table(
        "banned_word",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pattern", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_banned_word")),
        sa.UniqueConstraint("pattern", name=op.f("uq_banned_word_pattern")),
    )
    op.bulk_insert(
        banned_word,
        [{"pattern": pattern, "action": action.value} for pattern, action in DEFAULT_BANNED_WORDS],
    )
    op.create_table(
        "comment_ban",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity_hash", sa.String(length=64), nullable=True),
        sa.Column("ip_hash", sa.String(length=64), nullable=True),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comment_ban")),
    )
    with op.batch_alter_table("comment_ban", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_comment_ban_until"), ["until"], unique=False)

    op.create_table(
        "comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sitting_id", sa.Integer(), nullable=False),
        sa.Column("identity_hash", sa.String(length=64), nullable=False),
        sa.Column("ip_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("offset_s", sa.Float(), nullable=False),
        sa.Column("question", sa.Boolean(), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sitting_id"],
            ["sitting.id"],
            name=op.f("fk_comment_sitting_id_sitting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comment")),
    )
    with op.batch_alter_table("comment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_comment_identity_hash"), ["identity_hash"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_comment_sitting_id"), ["sitting_id"], unique=False)

    op.create_table(
        "comment_settings",
        sa.Column("sitting_id", sa.Integer(), nullable=False),
        sa.Column("slow_mode_s", sa.Integer(), nullable=False),
        sa.Column("premoderation", sa.Boolean(), nullable=False),
        sa.Column("allow_links", sa.Boolean(), nullable=False),
        sa.Column("pinned", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["sitting_id"],
            ["sitting.id"],
            name=op.f("fk_comment_settings_sitting_id_sitting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sitting_id", name=op.f("pk_comment_settings")),
    )


def downgrade() -> None:
    op.drop_table("comment_settings")
    with op.batch_alter_table("comment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_comment_sitting_id"))
        batch_op.drop_index(batch_op.f("ix_comment_identity_hash"))
    op.drop_table("comment")
    with op.batch_alter_table("comment_ban", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_comment_ban_until"))
    op.drop_table("comment_ban")
    op.drop_table("banned_word")
