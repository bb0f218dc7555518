"""the customer pages' SMS sign-in codes

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 23:55:00.000000
"""

import sqlalchemy as sa
from alembic import op

import siyu.core.db

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "h5_phone_codes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", siyu.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_h5_phone_codes")),
    )
    op.create_index("ix_h5_phone_codes_client", "h5_phone_codes", ["client", "created_at"])
    op.create_index("ix_h5_phone_codes_phone", "h5_phone_codes", ["phone", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_h5_phone_codes_phone", table_name="h5_phone_codes")
    op.drop_index("ix_h5_phone_codes_client", table_name="h5_phone_codes")
    op.drop_table("h5_phone_codes")
