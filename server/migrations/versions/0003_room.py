"""member room: attendance, votes and ballots; secret ballot on sittings

Revision ID: 0003_room
Revises: 0001
Create Date: 2026-11-29 20:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_room"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sitting", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("secret_ballot", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    op.create_table(
        "attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sitting_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("marked_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_attendance_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sitting_id"],
            ["sitting.id"],
            name=op.f("fk_attendance_sitting_id_sitting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance")),
    )
    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attendance_sitting_id"), ["sitting_id"], unique=False)

    op.create_table(
        "vote",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sitting_id", sa.Integer(), nullable=False),
        sa.Column("agenda_item_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("secret", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_by", sa.String(length=80), nullable=False),
        sa.Column("present_at_open", sa.Integer(), nullable=False),
        sa.Column("setuju", sa.Integer(), nullable=False),
        sa.Column("tidak_setuju", sa.Integer(), nullable=False),
        sa.Column("abstain", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agenda_item_id"],
            ["agenda_item.id"],
            name=op.f("fk_vote_agenda_item_id_agenda_item"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sitting_id"],
            ["sitting.id"],
            name=op.f("fk_vote_sitting_id_sitting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vote")),
    )
    with op.batch_alter_table("vote", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vote_sitting_id"), ["sitting_id"], unique=False)

    op.create_table(
        "ballot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vote_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("choice", sa.String(length=15), nullable=True),
        sa.Column("via", sa.String(length=10), nullable=False),
        sa.Column("entered_by", sa.String(length=80), nullable=False),
        sa.Column("cast_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_ballot_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vote_id"], ["vote.id"], name=op.f("fk_ballot_vote_id_vote"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ballot")),
        sa.UniqueConstraint("vote_id", "member_id", name="vote_member"),
    )


def downgrade() -> None:
    op.drop_table("ballot")
    with op.batch_alter_table("vote", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vote_sitting_id"))
    op.drop_table("vote")
    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attendance_sitting_id"))
    op.drop_table("attendance")
    with op.batch_alter_table("sitting", schema=None) as batch_op:
        batch_op.drop_column("secret_ballot")
