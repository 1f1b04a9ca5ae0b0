"""pengaduan: complaints, their categories, history, photos, holidays and Open311 keys

Revision ID: 0009_pengaduan
Revises: 0004_archive
Create Date: 2026-12-02 11:40:00

Contact details are stored only as a Fernet token (the key is SIDANG_DATA_KEY, never here).
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_pengaduan"
down_revision = "0004_archive"
branch_labels = None
depends_on = None

# As in server/store/models.py (COMPLAINT_STATS_INDEXES), written out: a migration is a record.
STATS_INDEXES = {
    "category": ("month", "category_id"),
    "komisi": ("month", "komisi"),
    "kelurahan": ("month", "kelurahan", "privacy"),
    "verify": ("verify_s",),
    "finish": ("finish_s",),
    "on_time": ("verified_on_time", "followed_on_time"),
}
CATEGORIES = (
    ("Jalan dan infrastruktur", "Komisi C"),
    ("Drainase, banjir dan rob", "Komisi C"),
    ("Sampah dan kebersihan", "Komisi C"),
    ("Penerangan jalan", "Komisi C"),
    ("Layanan kesehatan", "Komisi D"),
    ("Pendidikan", "Komisi D"),
    ("Administrasi kependudukan", "Komisi A"),
    ("Pasar dan perdagangan", "Komisi B"),
    ("Lainnya", "Komisi A"),
)


def upgrade() -> None:
    category = op.create_table(
        "complaint_category",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("komisi", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_category")),
        sa.UniqueConstraint("name", name=op.f("uq_complaint_category_name")),
    )
    op.bulk_insert(category, [{"name": n, "komisi": k, "active": True} for n, k in CATEGORIES])
    op.create_table(
        "complaint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("komisi", sa.String(length=100), nullable=False),
        sa.Column("opd", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("location", sa.String(length=300), nullable=False),
        sa.Column("kelurahan", sa.String(length=100), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("privacy", sa.String(length=10), nullable=False),
        sa.Column("contact_token", sa.Text(), nullable=True),
        sa.Column("has_email", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("text_hidden", sa.Boolean(), nullable=False),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("sitting_id", sa.Integer(), nullable=True),
        sa.Column("agenda_position", sa.Integer(), nullable=True),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("verify_due", sa.Date(), nullable=False),
        sa.Column("follow_due", sa.Date(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("followed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verify_s", sa.Integer(), nullable=True),
        sa.Column("finish_s", sa.Integer(), nullable=True),
        sa.Column("verified_on_time", sa.Boolean(), nullable=True),
        sa.Column("followed_on_time", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["complaint_category.id"],
            name=op.f("fk_complaint_category_id_complaint_category"),
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["complaint.id"],
            name=op.f("fk_complaint_merged_into_id_complaint"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sitting_id"],
            ["sitting.id"],
            name=op.f("fk_complaint_sitting_id_sitting"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint")),
        sa.UniqueConstraint("code", name=op.f("uq_complaint_code")),
    )
    indexed = (
        "category_id",
        "komisi",
        "kelurahan",
        "status",
        "sitting_id",
        "filed_at",
        "month",
        "due_on",
    )
    for column in (*indexed, "verify_s", "finish_s"):
        op.create_index(op.f(f"ix_complaint_{column}"), "complaint", [column])
    for name, columns in STATS_INDEXES.items():
        op.create_index(f"ix_complaint_stats_{name}", "complaint", ["held", *columns])
    op.create_index("ix_complaint_public", "complaint", ["held", "filed_at", "id"])
    op.create_index("ix_complaint_inbox", "complaint", ["komisi", "due_on", "id"])
    op.create_table(
        "complaint_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("member_name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaint.id"],
            name=op.f("fk_complaint_event_complaint_id_complaint"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_event")),
    )
    op.create_index(op.f("ix_complaint_event_complaint_id"), "complaint_event", ["complaint_id"])
    op.create_table(
        "complaint_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaint.id"],
            name=op.f("fk_complaint_photo_complaint_id_complaint"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_photo")),
    )
    op.create_index(op.f("ix_complaint_photo_complaint_id"), "complaint_photo", ["complaint_id"])
    op.create_table(
        "holiday",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_holiday")),
    )
    op.create_table(
        "open311_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_open311_key_key_hash")),
    )


def downgrade() -> None:
    for table in (
        "open311_key",
        "holiday",
        "complaint_photo",
        "complaint_event",
        "complaint",
        "complaint_category",
    ):
        op.drop_table(table)
