"""raperda: drafts, their versions and units (pasal), residents' input, committee answers

Revision ID: 0012_raperda
Revises: 0010_reports
Create Date: 2026-12-02 14:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_raperda"
down_revision = "0010_reports"
branch_labels = None
depends_on = None

NOW = sa.text("CURRENT_TIMESTAMP")


def upgrade() -> None:
    op.create_table(
        "raperda",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("naskah_id", sa.Integer(), nullable=True),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("enacted", sa.Boolean(), nullable=False),
        sa.Column("current_version_id", sa.Integer(), nullable=True),
        sa.Column("next_lineage", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["document.id"],
            name=op.f("fk_raperda_document_id_document"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["naskah_id"],
            ["document.id"],
            name=op.f("fk_raperda_naskah_id_document"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raperda")),
    )
    op.create_table(
        "raperda_sitting",
        sa.Column("raperda_id", sa.Integer(), nullable=False),
        sa.Column("sitting_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["raperda_id"],
            ["raperda.id"],
            name=op.f("fk_raperda_sitting_raperda_id_raperda"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sitting_id"],
            ["sitting.id"],
            name=op.f("fk_raperda_sitting_sitting_id_sitting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("raperda_id", "sitting_id", name=op.f("pk_raperda_sitting")),
    )
    op.create_index(
        op.f("ix_raperda_sitting_sitting_id"), "raperda_sitting", ["sitting_id"], unique=False
    )
    op.create_table(
        "raperda_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("raperda_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("source_text", sa.Text(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["raperda_id"],
            ["raperda.id"],
            name=op.f("fk_raperda_version_raperda_id_raperda"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raperda_version")),
        sa.UniqueConstraint("raperda_id", "number", name="raperda_number"),
    )
    op.create_table(
        "raperda_unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("number", sa.String(length=10), nullable=False),
        sa.Column("lineage", sa.Integer(), nullable=False),
        sa.Column("bab", sa.String(length=300), nullable=False),
        sa.Column("bagian", sa.String(length=300), nullable=False),
        sa.Column("paragraf", sa.String(length=300), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["raperda_version.id"],
            name=op.f("fk_raperda_unit_version_id_raperda_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raperda_unit")),
    )
    op.create_index("ix_raperda_unit_version_position", "raperda_unit", ["version_id", "position"])
    op.create_table(
        "raperda_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("raperda_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("lineage", sa.Integer(), nullable=True),
        sa.Column("ayat", sa.String(length=10), nullable=False),
        sa.Column("position", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("proposed", sa.Text(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("identity_hash", sa.String(length=64), nullable=False),
        sa.Column("ip_hash", sa.String(length=64), nullable=False),
        sa.Column("verified_by", sa.String(length=10), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["raperda_id"],
            ["raperda.id"],
            name=op.f("fk_raperda_comment_raperda_id_raperda"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["raperda_version.id"],
            name=op.f("fk_raperda_comment_version_id_raperda_version"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["raperda_unit.id"],
            name=op.f("fk_raperda_comment_unit_id_raperda_unit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raperda_comment")),
    )
    # Covering the counts by position (flags included), so they are read from the index alone.
    op.create_index(
        "ix_raperda_comment_counts",
        "raperda_comment",
        ["raperda_id", "lineage", "position", "held", "hidden", "withdrawn"],
    )
    op.create_index(op.f("ix_raperda_comment_identity_hash"), "raperda_comment", ["identity_hash"])
    op.create_table(
        "raperda_response",
        sa.Column("raperda_id", sa.Integer(), nullable=False),
        sa.Column("lineage", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["raperda_id"],
            ["raperda.id"],
            name=op.f("fk_raperda_response_raperda_id_raperda"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("raperda_id", "lineage", name=op.f("pk_raperda_response")),
    )


def downgrade() -> None:
    for table in (
        "raperda_response",
        "raperda_comment",
        "raperda_unit",
        "raperda_version",
        "raperda_sitting",
        "raperda",
    ):
        op.drop_table(table)
