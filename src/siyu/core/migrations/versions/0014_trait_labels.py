"""the trait dictionary: the brand's names for traits and their values

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 01:30:00
"""

import sqlalchemy as sa
from alembic import op

import siyu.core.db

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trait_labels",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("trait", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("zh", sa.String(length=100), nullable=False),
        sa.Column("en", sa.String(length=100), nullable=False),
        sa.Column("updated_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trait_labels")),
        sa.UniqueConstraint("trait", "value", name=op.f("uq_trait_labels_trait_value")),
    )


def downgrade() -> None:
    op.drop_table("trait_labels")
