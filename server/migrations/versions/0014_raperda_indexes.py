"""raperda indexes: visible input only, for the counts by position and a pasal's pages of input;
and raperda.input_version, bumped with every change to a draft's visible input

Revision ID: 0014_raperda_indexes
Revises: 0013_phone_code
Create Date: 2026-12-02 17:50:00

The counts and the public pages read visible input only (not held, hidden or withdrawn), so
partial indexes hold just those rows and the flags need not be read per row. The held queue
for moderators gets a small index of its own. Pages keep a draft's counts in memory while its
input_version stands, instead of counting all its input for every page.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_raperda_indexes"
down_revision = "0013_phone_code"
branch_labels = None
depends_on = None

# Rendered per dialect as the queries render them ("held IS 0" on SQLite, "held IS false" on
# PostgreSQL): each database uses a partial index only when the query's terms match its own.
VISIBLE = sa.and_(
    sa.column("held").is_(False),
    sa.column("hidden").is_(False),
    sa.column("withdrawn").is_(False),
)
HELD = sa.and_(sa.column("held").is_(True), sa.column("withdrawn").is_(False))


def upgrade() -> None:
    op.add_column(
        "raperda", sa.Column("input_version", sa.Integer(), server_default="0", nullable=False)
    )
    op.drop_index("ix_raperda_comment_counts", table_name="raperda_comment")
    op.create_index(
        "ix_raperda_comment_visible_counts",
        "raperda_comment",
        ["raperda_id", "lineage", "position"],
        sqlite_where=VISIBLE,
        postgresql_where=VISIBLE,
    )
    op.create_index(
        "ix_raperda_comment_visible_pages",
        "raperda_comment",
        ["raperda_id", "lineage", "id"],
        sqlite_where=VISIBLE,
        postgresql_where=VISIBLE,
    )
    op.create_index(
        "ix_raperda_comment_held",
        "raperda_comment",
        ["raperda_id", "id"],
        sqlite_where=HELD,
        postgresql_where=HELD,
    )


def downgrade() -> None:
    for name in (
        "ix_raperda_comment_held",
        "ix_raperda_comment_visible_pages",
        "ix_raperda_comment_visible_counts",
    ):
        op.drop_index(name, table_name="raperda_comment")
    op.create_index(
        "ix_raperda_comment_counts",
        "raperda_comment",
        ["raperda_id", "lineage", "position", "held", "hidden", "withdrawn"],
    )
    op.drop_column("raperda", "input_version")
