"""official-account followers: following, and the last interaction (the 48-hour window)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 05:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

import siyu.core.db

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wechat_followers",
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("following", sa.Boolean(), nullable=False),
        sa.Column("last_interaction_at", siyu.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("changed_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("openid", name=op.f("pk_wechat_followers")),
    )


def downgrade() -> None:
    op.drop_table("wechat_followers")
