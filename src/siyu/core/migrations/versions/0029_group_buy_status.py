"""group buys' status: paused and ended from the console

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-08 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "group_buys",
        sa.Column("status", sa.String(length=10), server_default="active", nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("group_buys") as batch:
        batch.drop_column("status")
