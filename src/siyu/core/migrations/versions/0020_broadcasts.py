"""broadcasts: a message to an audience, its variants, an uploaded list

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 05:07:02.064873
"""

import sqlalchemy as sa
from alembic import op

import siyu.core.db

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("audience", sa.String(length=10), nullable=False),
        sa.Column("segment_key", sa.String(length=64), nullable=True),
        sa.Column("tag_filter", sa.JSON(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.String(length=14), nullable=False),
        sa.Column("holdout_percent", sa.Integer(), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("scheduled_at", siyu.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("planned_at", siyu.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", siyu.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
    )
    op.create_table(
        "broadcast_list_members",
        sa.Column(
            "broadcast_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcasts.id"],
            name=op.f("fk_broadcast_list_members_broadcast_id_broadcasts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "broadcast_id", "customer_id", name=op.f("pk_broadcast_list_members")
        ),
    )
    op.create_table(
        "broadcast_variants",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "broadcast_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("key", sa.String(length=16), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("contents", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcasts.id"],
            name=op.f("fk_broadcast_variants_broadcast_id_broadcasts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast_variants")),
        sa.UniqueConstraint(
            "broadcast_id", "key", name=op.f("uq_broadcast_variants_broadcast_id_key")
        ),
    )


def downgrade() -> None:
    op.drop_table("broadcast_variants")
    op.drop_table("broadcast_list_members")
    op.drop_table("broadcasts")
