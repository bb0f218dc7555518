"""callback nonces seen, so a replayed WeChat or WeCom callback is refused

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 06:25:00
"""

import sqlalchemy as sa
from alembic import op

import siyu.core.db

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "callback_nonces",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("sent_at", sa.BigInteger(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("seen_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_nonces")),
        sa.UniqueConstraint(
            "source", "sent_at", "nonce", name=op.f("uq_callback_nonces_source_sent_at_nonce")
        ),
    )
    with op.batch_alter_table("callback_nonces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_callback_nonces_seen_at"), ["seen_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("callback_nonces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_callback_nonces_seen_at"))
    op.drop_table("callback_nonces")
