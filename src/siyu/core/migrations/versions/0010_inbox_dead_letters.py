"""inbox dead letters: rows the processor could not apply, kept to be seen and replayed

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 06:25:00
"""

import sqlalchemy as sa
from alembic import op

import siyu.core.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox_dead_letters",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "source_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("received_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", siyu.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("forced_type", sa.String(length=16), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("encoding", sa.String(length=16), nullable=False),
        sa.Column("indices", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(length=200), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("failed_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_inbox_dead_letters_source_id_sources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_dead_letters")),
    )
    # A request that kept failing was set aside by its attempts; the processor now splits a
    # failing group down to the message and keeps what still fails as a dead letter, so such a
    # request is simply processed again.
    with op.batch_alter_table("tracking_inbox") as batch:
        batch.drop_column("attempts")
        batch.drop_column("error")


def downgrade() -> None:
    with op.batch_alter_table("tracking_inbox") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("error", sa.Text(), nullable=True))
    op.drop_table("inbox_dead_letters")
