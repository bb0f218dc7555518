"""jobs: one index on (status, run_at, id) for the claim, in place of the index on status alone

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 12:40:00.000000
"""

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_status_run_at_id", ["status", "run_at", "id"], unique=False)
        batch_op.drop_index(batch_op.f("ix_jobs_status"))


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_status"), ["status"], unique=False)
        batch_op.drop_index("ix_jobs_status_run_at_id")
