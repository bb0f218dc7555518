"""group buys, tiered prices, promotion refunds

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 20:15:55.785558
"""

import sqlalchemy as sa
from alembic import op

import siyu.core.db

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "group_buys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("product", sa.String(length=64), nullable=False),
        sa.Column("price_fen", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("starts_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("robot_fill", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_buys")),
        sa.UniqueConstraint("key", name=op.f("uq_group_buys_key")),
    )
    op.create_table(
        "tiered_prices",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("product", sa.String(length=64), nullable=False),
        sa.Column("base_price_fen", sa.Integer(), nullable=False),
        sa.Column("tiers", sa.JSON(), nullable=False),
        sa.Column("participants", sa.Integer(), nullable=False),
        sa.Column("starts_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("final_price_fen", sa.Integer(), nullable=True),
        sa.Column("closed_at", siyu.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiered_prices")),
        sa.UniqueConstraint("key", name=op.f("uq_tiered_prices_key")),
    )
    op.create_table(
        "group_buy_groups",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "group_buy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("code", sa.String(length=24), nullable=False),
        sa.Column(
            "leader_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("deadline", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("robot_filled", sa.Integer(), nullable=False),
        sa.Column("opened_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", siyu.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_buy_id"],
            ["group_buys.id"],
            name=op.f("fk_group_buy_groups_group_buy_id_group_buys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["leader_id"], ["customers.id"], name=op.f("fk_group_buy_groups_leader_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_buy_groups")),
        sa.UniqueConstraint("code", name=op.f("uq_group_buy_groups_code")),
    )
    with op.batch_alter_table("group_buy_groups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_group_buy_groups_group_buy_id"), ["group_buy_id"], unique=False
        )
        batch_op.create_index(
            "ix_group_buy_groups_status_deadline", ["status", "deadline"], unique=False
        )

    op.create_table(
        "tiered_participants",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "activity_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("order_id", sa.String(length=128), nullable=False),
        sa.Column("place", sa.Integer(), nullable=False),
        sa.Column("price_fen", sa.Integer(), nullable=False),
        sa.Column("joined_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["tiered_prices.id"],
            name=op.f("fk_tiered_participants_activity_id_tiered_prices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_tiered_participants_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiered_participants")),
        sa.UniqueConstraint(
            "activity_id",
            "customer_id",
            name=op.f("uq_tiered_participants_activity_id_customer_id"),
        ),
        sa.UniqueConstraint(
            "activity_id", "order_id", name=op.f("uq_tiered_participants_activity_id_order_id")
        ),
    )
    op.create_table(
        "group_buy_members",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("order_id", sa.String(length=128), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("is_leader", sa.Boolean(), nullable=False),
        sa.Column("joined_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_group_buy_members_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["group_buy_groups.id"],
            name=op.f("fk_group_buy_members_group_id_group_buy_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_buy_members")),
        sa.UniqueConstraint(
            "group_id", "customer_id", name=op.f("uq_group_buy_members_group_id_customer_id")
        ),
        sa.UniqueConstraint("order_id", name=op.f("uq_group_buy_members_order_id")),
    )
    op.create_table(
        "promotion_refunds",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "participant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("activity", sa.String(length=64), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("order_id", sa.String(length=128), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=True),
        sa.Column("created_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", siyu.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_promotion_refunds_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["group_buy_members.id"],
            name=op.f("fk_promotion_refunds_member_id_group_buy_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["tiered_participants.id"],
            name=op.f("fk_promotion_refunds_participant_id_tiered_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotion_refunds")),
        sa.UniqueConstraint("member_id", name=op.f("uq_promotion_refunds_member_id")),
        sa.UniqueConstraint("participant_id", name=op.f("uq_promotion_refunds_participant_id")),
    )
    with op.batch_alter_table("promotion_refunds", schema=None) as batch_op:
        batch_op.create_index("ix_promotion_refunds_status_id", ["status", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("promotion_refunds", schema=None) as batch_op:
        batch_op.drop_index("ix_promotion_refunds_status_id")

    op.drop_table("promotion_refunds")
    op.drop_table("group_buy_members")
    op.drop_table("tiered_participants")
    with op.batch_alter_table("group_buy_groups", schema=None) as batch_op:
        batch_op.drop_index("ix_group_buy_groups_status_deadline")
        batch_op.drop_index(batch_op.f("ix_group_buy_groups_group_buy_id"))

    op.drop_table("group_buy_groups")
    op.drop_table("tiered_prices")
    op.drop_table("group_buys")
