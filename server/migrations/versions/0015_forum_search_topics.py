"""forum: threads and replies in search_entry, topic order and archiving, link indexes

Revision ID: 0015_forum_search_topics
Revises: 0011_forum, 0014_raperda_indexes
Create Date: 2026-12-02 17:40:00

Threads and every reply are searched through `search_entry` (stemmed, FTS5 / tsvector) like
the rest of the archive, so the thread's own `search_text` column goes. Topics get a staff
order and an archived flag; a sitting's and a Raperda's pages find their threads by index.
On PostgreSQL, search gathers its candidates from two more indexes (newest first, and title
matches), so common words over many thousands of replies are not tested row by row.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_forum_search_topics"
down_revision = ("0011_forum", "0014_raperda_indexes")
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("forum_topic", schema=None) as batch_op:
        batch_op.add_column(sa.Column("position", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("archived", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("forum_thread", schema=None) as batch_op:
        batch_op.drop_column("search_text")
        batch_op.create_index("ix_forum_thread_sitting", ["sitting_id"])
        batch_op.create_index("ix_forum_thread_raperda", ["raperda_id"])

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_search_entry_at ON search_entry (at)")
        op.execute("CREATE INDEX ix_search_entry_tsv_title ON search_entry USING gin (tsv_title)")

    from server.store.search_index import rebuild

    rebuild(bind, ("thread", "reply"))


def downgrade() -> None:
    op.execute("DELETE FROM search_entry WHERE kind IN ('thread', 'reply')")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_search_entry_tsv_title")
        op.execute("DROP INDEX ix_search_entry_at")
    with op.batch_alter_table("forum_thread", schema=None) as batch_op:
        batch_op.drop_index("ix_forum_thread_raperda")
        batch_op.drop_index("ix_forum_thread_sitting")
        batch_op.add_column(sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("forum_topic", schema=None) as batch_op:
        batch_op.drop_column("archived")
        batch_op.drop_column("position")
