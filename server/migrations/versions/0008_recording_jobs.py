"""recording jobs: edits and publishing survive a restart

Revision ID: 0008_recording_jobs
Revises: 0004_archive
Create Date: 2026-12-02 15:00:00

The latest job of each sitting's recording, with a heartbeat, so a job whose node stopped is
taken over and run again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_recording_jobs"
down_revision = "0004_archive"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recording_job",
        sa.Column(
            "sitting_id",
            sa.Integer(),
            sa.ForeignKey("sitting.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("params", sa.Text(), nullable=False, server_default="{}"),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"),
    )
    op.create_index("ix_recording_job_state", "recording_job", ["state", "heartbeat_at"])


def downgrade() -> None:
    op.drop_index("ix_recording_job_state", "recording_job")
    op.drop_table("recording_job")
