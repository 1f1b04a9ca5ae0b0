"""archive: recording edits, document text, caption cues, search index

Revision ID: 0004_archive
Revises: 0001
Create Date: 2026-11-29 21:00:00

The full-text index lives beside `search_entry`: an FTS5 table kept by triggers on SQLite, a
stored tsvector column with a GIN index on PostgreSQL. Existing rows are indexed at the end.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_archive"
down_revision = "0001"
branch_labels = None
depends_on = None

SQLITE_FTS = [
    """CREATE VIRTUAL TABLE search_fts USING fts5(
        stemmed_title, stemmed_body, content='search_entry', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER search_entry_ai AFTER INSERT ON search_entry BEGIN
        INSERT INTO search_fts(rowid, stemmed_title, stemmed_body)
        VALUES (new.id, new.stemmed_title, new.stemmed_body);
    END""",
    """CREATE TRIGGER search_entry_ad AFTER DELETE ON search_entry BEGIN
        INSERT INTO search_fts(search_fts, rowid, stemmed_title, stemmed_body)
        VALUES ('delete', old.id, old.stemmed_title, old.stemmed_body);
    END""",
    """CREATE TRIGGER search_entry_au AFTER UPDATE OF stemmed_title, stemmed_body
        ON search_entry BEGIN
        INSERT INTO search_fts(search_fts, rowid, stemmed_title, stemmed_body)
        VALUES ('delete', old.id, old.stemmed_title, old.stemmed_body);
        INSERT INTO search_fts(rowid, stemmed_title, stemmed_body)
        VALUES (new.id, new.stemmed_title, new.stemmed_body);
    END""",
]
POSTGRES_FTS = [
    """ALTER TABLE search_entry ADD COLUMN tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', stemmed_title), 'A')
        || setweight(to_tsvector('simple', stemmed_body), 'B')) STORED""",
    "CREATE INDEX ix_search_entry_tsv ON search_entry USING gin (tsv)",
    """ALTER TABLE search_entry ADD COLUMN tsv_title tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', stemmed_title)) STORED""",
]


def upgrade() -> None:
    op.create_table(
        "recording_edit",
        sa.Column("sitting_id", sa.Integer(), nullable=False),
        sa.Column("trim_start", sa.Float(), nullable=False),
        sa.Column("trim_end", sa.Float(), nullable=True),
        sa.Column("cuts", sa.Text(), nullable=False),
        sa.Column("poster_s", sa.Float(), nullable=True),
        sa.Column("kept", sa.Text(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("edited_by", sa.String(length=80), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sitting_id"],
            ["sitting.id"],
            name=op.f("fk_recording_edit_sitting_id_sitting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sitting_id", name=op.f("pk_recording_edit")),
    )
    op.create_table(
        "document_text",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("scanned", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["document.id"],
            name=op.f("fk_document_text_document_id_document"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_document_text")),
    )
    with op.batch_alter_table("document_text", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_document_text_scanned"), ["scanned"], unique=False)

    op.create_table(
        "caption_cue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sitting_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("end_s", sa.Float(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sitting_id"],
            ["sitting.id"],
            name=op.f("fk_caption_cue_sitting_id_sitting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_caption_cue")),
    )
    with op.batch_alter_table("caption_cue", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_caption_cue_sitting_id"), ["sitting_id"], unique=False)

    op.create_table(
        "search_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=False),
        sa.Column("sitting_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("stemmed_title", sa.Text(), nullable=False),
        sa.Column("stemmed_body", sa.Text(), nullable=False),
        sa.Column("offset_s", sa.Float(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("month", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("komisi", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["sitting_id"],
            ["sitting.id"],
            name=op.f("fk_search_entry_sitting_id_sitting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_entry")),
        sa.UniqueConstraint("kind", "ref_id", name="kind_ref"),
    )
    with op.batch_alter_table("search_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_search_entry_sitting_id"), ["sitting_id"])
        batch_op.create_index(batch_op.f("ix_search_entry_year"), ["year"])

    bind = op.get_bind()
    for statement in SQLITE_FTS if bind.dialect.name == "sqlite" else POSTGRES_FTS:
        op.execute(statement)

    from server.store.search_index import rebuild

    rebuild(bind, ("sitting", "agenda", "document", "cue"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS search_fts")
    op.drop_table("search_entry")
    op.drop_table("caption_cue")
    op.drop_table("document_text")
    op.drop_table("recording_edit")
