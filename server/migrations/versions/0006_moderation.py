"""moderation: a device signal on comments and bans

Revision ID: 0006_moderation
Revises: 0004_archive
Create Date: 2026-12-02 11:15:00

A ban is on the comment identity by default, no longer on the IP an office or a school shares;
the device hash lets it follow a banned resident who clears the comment cookie. Bans stored
before this one keep their IP: they end on their own within 30 days.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_moderation"
down_revision = "0004_archive"
branch_labels = None
depends_on = "0002_comments"  # the comment tables

TABLES = ("comment", "comment_ban")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("device_hash", sa.String(64), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("device_hash")
