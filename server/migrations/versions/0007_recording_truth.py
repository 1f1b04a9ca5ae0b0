"""recording truth: the wall time a recording should cover, and its holes

Revision ID: 0007_recording_truth
Revises: 0004_archive
Create Date: 2026-12-02 11:00:00

Staff see, before they publish, when a recording is shorter than the sitting was live.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_recording_truth"
down_revision = "0004_archive"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("recording") as batch:
        batch.add_column(sa.Column("expected_s", sa.Float(), nullable=True))
        batch.add_column(sa.Column("gaps", sa.Text(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("recording") as batch:
        batch.drop_column("gaps")
        batch.drop_column("expected_s")
