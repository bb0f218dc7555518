"""sign-in throttling per account and per client address

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 06:25:00
"""

import sqlalchemy as sa
from alembic import op

import siyu.core.db

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_throttles",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("blocked_until", siyu.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_throttles")),
    )
    # A user's own lockout (five failures, fifteen minutes) let anyone lock the admin out, and
    # answered differently for accounts that exist; the throttle table replaces it.
    with op.batch_alter_table("users") as batch:
        batch.drop_column("failed_logins")
        batch.drop_column("locked_until")


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("locked_until", siyu.core.db.UTCDateTime(timezone=True), nullable=True)
        )
    op.drop_table("sign_in_throttles")
