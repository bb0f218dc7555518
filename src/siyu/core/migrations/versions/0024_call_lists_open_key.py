"""call_lists: open_key, unique while a list is open, so that one origin has one open list

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 16:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("call_lists", schema=None) as batch_op:
        batch_op.add_column(sa.Column("open_key", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_call_lists_open_key"), ["open_key"])
    # Each origin's newest open list stays open (an older open twin, from a race, is kept as it
    # is but no longer takes new calls).
    op.execute(
        """
        UPDATE call_lists SET open_key = origin || ':' || COALESCE(CAST(origin_id AS VARCHAR), '')
        WHERE imported_at IS NULL AND id IN (
            SELECT MAX(id) FROM call_lists WHERE imported_at IS NULL
            GROUP BY origin, origin_id
        )
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("call_lists", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_call_lists_open_key"), type_="unique")
        batch_op.drop_column("open_key")
