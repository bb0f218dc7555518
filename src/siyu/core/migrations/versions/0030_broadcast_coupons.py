"""broadcasts.coupon_template: a broadcast that hands out a coupon; coupons by who handed them out

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-08 00:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("coupon_template", sa.String(length=64), nullable=True))
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.create_index("ix_coupons_via", ["via", "via_ref"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.drop_index("ix_coupons_via")
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_column("coupon_template")
