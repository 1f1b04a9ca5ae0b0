"""forum: every post's search entry carries its thread's scope word

Revision ID: 0016_forum_thread_scope
Revises: 0015_forum_search_topics
Create Date: 2026-12-03 01:00:00

A search within one thread (`/forum/utas/{id}?q=`) adds the thread's scope word to the query,
so the full-text index intersects the two instead of testing each of the thread's replies
(server.store.search_index.thread_scope). Existing threads and replies are indexed again.
"""

from alembic import op

revision = "0016_forum_thread_scope"
down_revision = "0015_forum_search_topics"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from server.store.search_index import rebuild

    rebuild(op.get_bind(), ("thread", "reply"))


def downgrade() -> None:
    """A reply's indexed title empty again, as 0015 wrote it. A thread's entry keeps the scope
    word in its body: 0015's code never asks for it."""
    op.execute("UPDATE search_entry SET stemmed_title = '' WHERE kind = 'reply'")
