"""a handover may have no source guide: customers assigned by hand come from many guides or none

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 01:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    for table in ("handovers", "handover_moves"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("from_staff_id", existing_type=ID, nullable=True)


def downgrade() -> None:
    # Assignments have no source guide; they cannot be kept once the column is required again.
    op.execute("DELETE FROM handover_moves WHERE from_staff_id IS NULL")
    op.execute(
        "DELETE FROM handover_moves WHERE handover_id IN "
        "(SELECT id FROM handovers WHERE from_staff_id IS NULL)"
    )
    op.execute("DELETE FROM handovers WHERE from_staff_id IS NULL")
    for table in ("handovers", "handover_moves"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("from_staff_id", existing_type=ID, nullable=False)
