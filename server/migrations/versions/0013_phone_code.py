"""phone_code: one-time codes that verify a resident's phone for Raperda input (hashes only)

Revision ID: 0013_phone_code
Revises: 0012_raperda
Create Date: 2026-12-02 18:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_phone_code"
down_revision = "0012_raperda"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "phone_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_code")),
    )
    op.create_index(op.f("ix_phone_code_phone_hash"), "phone_code", ["phone_hash"], unique=False)
    op.create_index(op.f("ix_phone_code_expires_at"), "phone_code", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_table("phone_code")
