"""promotions: coupons, flash sales, idempotency keys

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 19:31:19.319435
"""

import sqlalchemy as sa
from alembic import op

import siyu.core.db

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "coupon_templates",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("cap_fen", sa.Integer(), nullable=True),
        sa.Column("threshold_fen", sa.Integer(), nullable=False),
        sa.Column("free_item", sa.String(length=64), nullable=True),
        sa.Column("valid_from", siyu.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("valid_until", siyu.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("valid_days", sa.Integer(), nullable=True),
        sa.Column("stock", sa.Integer(), nullable=True),
        sa.Column("issued", sa.Integer(), nullable=False),
        sa.Column("per_customer", sa.Integer(), nullable=False),
        sa.Column("stores", sa.JSON(), nullable=False),
        sa.Column("products", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("stacks", sa.Boolean(), nullable=False),
        sa.Column("returnable", sa.Boolean(), nullable=False),
        sa.Column("claimable", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_templates")),
        sa.UniqueConstraint("key", name=op.f("uq_coupon_templates_key")),
    )
    op.create_table(
        "flash_sales",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("product", sa.String(length=64), nullable=False),
        sa.Column("price_fen", sa.Integer(), nullable=False),
        sa.Column("list_price_fen", sa.Integer(), nullable=True),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.Column("sold", sa.Integer(), nullable=False),
        sa.Column("per_customer", sa.Integer(), nullable=False),
        sa.Column("hold_minutes", sa.Integer(), nullable=False),
        sa.Column("starts_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flash_sales")),
        sa.UniqueConstraint("key", name=op.f("uq_flash_sales_key")),
    )
    op.create_table(
        "coupon_holdings",
        sa.Column(
            "template_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_coupon_holdings_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["coupon_templates.id"],
            name=op.f("fk_coupon_holdings_template_id_coupon_templates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("template_id", "customer_id", name=op.f("pk_coupon_holdings")),
    )
    op.create_table(
        "coupons",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "template_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("code", sa.String(length=24), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("via", sa.String(length=12), nullable=False),
        sa.Column("via_ref", sa.String(length=64), nullable=True),
        sa.Column("issued_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("starts_at", siyu.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", siyu.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("order_id", sa.String(length=128), nullable=True),
        sa.Column("discount_fen", sa.Integer(), nullable=False),
        sa.Column("redeemed_at", siyu.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("returned_at", siyu.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", siyu.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_coupons_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["coupon_templates.id"],
            name=op.f("fk_coupons_template_id_coupon_templates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons")),
        sa.UniqueConstraint("code", name=op.f("uq_coupons_code")),
    )
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.create_index(
            "ix_coupons_customer_template", ["customer_id", "template_id"], unique=False
        )
        batch_op.create_index("ix_coupons_status_expires", ["status", "expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_coupons_template_id"), ["template_id"], unique=False)

    op.create_table(
        "flash_buyers",
        sa.Column("sale_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_flash_buyers_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["sale_id"],
            ["flash_sales.id"],
            name=op.f("fk_flash_buyers_sale_id_flash_sales"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sale_id", "customer_id", name=op.f("pk_flash_buyers")),
    )
    op.create_table(
        "flash_reservations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sale_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("expires_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("order_id", sa.String(length=128), nullable=True),
        sa.Column("created_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("settled_at", siyu.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_flash_reservations_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["sale_id"],
            ["flash_sales.id"],
            name=op.f("fk_flash_reservations_sale_id_flash_sales"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flash_reservations")),
        sa.UniqueConstraint(
            "sale_id", "order_id", name=op.f("uq_flash_reservations_sale_id_order_id")
        ),
    )
    with op.batch_alter_table("flash_reservations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_flash_reservations_sale_customer", ["sale_id", "customer_id"], unique=False
        )
        batch_op.create_index(
            "ix_flash_reservations_status_expires", ["status", "expires_at"], unique=False
        )

    op.create_table(
        "idempotency_keys",
        sa.Column("token_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["api_tokens.id"],
            name=op.f("fk_idempotency_keys_token_id_api_tokens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_id", "key", name=op.f("pk_idempotency_keys")),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "flash_waiters",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sale_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column(
            "reservation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_flash_waiters_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["flash_reservations.id"],
            name=op.f("fk_flash_waiters_reservation_id_flash_reservations"),
        ),
        sa.ForeignKeyConstraint(
            ["sale_id"],
            ["flash_sales.id"],
            name=op.f("fk_flash_waiters_sale_id_flash_sales"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flash_waiters")),
        sa.UniqueConstraint(
            "sale_id", "customer_id", name=op.f("uq_flash_waiters_sale_id_customer_id")
        ),
    )


def downgrade() -> None:

    op.drop_table("flash_waiters")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_created_at"))

    op.drop_table("idempotency_keys")
    with op.batch_alter_table("flash_reservations", schema=None) as batch_op:
        batch_op.drop_index("ix_flash_reservations_status_expires")
        batch_op.drop_index("ix_flash_reservations_sale_customer")

    op.drop_table("flash_reservations")
    op.drop_table("flash_buyers")
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coupons_template_id"))
        batch_op.drop_index("ix_coupons_status_expires")
        batch_op.drop_index("ix_coupons_customer_template")

    op.drop_table("coupons")
    op.drop_table("coupon_holdings")
    op.drop_table("flash_sales")
    op.drop_table("coupon_templates")
