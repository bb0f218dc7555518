"""import records in a table of their own (they were JSON entries `import:<id>` in meta)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 22:00:00
"""

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import siyu.core.db

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

KEY = "import:"
# The record's fields that the row names otherwise (imports.jobs.ROW_NAMES when this was written).
ROW_NAMES = {
    "by": "uploaded_by",
    "ignore": "ignored_columns",
    "check": "check_summary",
    "summary": "run_summary",
}
TIMES = ("created_at", "finished_at")
META = sa.table(
    "meta",
    sa.column("key", sa.String),
    sa.column("value", sa.JSON),
    sa.column("updated_at", siyu.core.db.UTCDateTime),
)


def _columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("file", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", siyu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows_estimate", sa.BigInteger(), nullable=True),
        sa.Column("header", sa.JSON(), nullable=False),
        sa.Column("first_rows", sa.JSON(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("customer_id_type", sa.String(length=32), nullable=False),
        sa.Column("skip", sa.JSON(), nullable=False),
        sa.Column("ignored_columns", sa.JSON(), nullable=False),
        sa.Column("skip_bad", sa.Boolean(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("job_key", sa.String(length=200), nullable=True),
        sa.Column("stage", sa.String(length=32), nullable=True),
        sa.Column("done", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=True),
        sa.Column("check_summary", sa.JSON(), nullable=True),
        sa.Column("run_summary", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("finished_at", siyu.core.db.UTCDateTime(timezone=True), nullable=True),
    ]


def upgrade() -> None:
    imports = op.create_table(
        "imports", *_columns(), sa.PrimaryKeyConstraint("id", name=op.f("pk_imports"))
    )
    bind = op.get_bind()
    found = bind.execute(
        sa.select(META.c.key, META.c.value).where(META.c.key.like(KEY + "%"))
    ).all()
    rows = [_row(value) for _, value in found]
    if rows:
        op.bulk_insert(imports, rows)
        bind.execute(sa.delete(META).where(META.c.key.in_([key for key, _ in found])))


def _row(record: dict[str, Any]) -> dict[str, Any]:
    defaults = {"size": 0, "status": "uploaded", "header": [], "first_rows": [], "columns": {}}
    defaults |= {"customer_id_type": "auto", "skip": {}, "ignore": [], "skip_bad": False}
    defaults |= {"attempt": 0, "done": 0}
    row = {ROW_NAMES.get(name, name): value for name, value in (defaults | record).items()}
    for name in TIMES:
        row[name] = datetime.fromisoformat(str(row[name])) if row.get(name) else None
    wanted = {column.name for column in _columns()}
    return {name: row.get(name) for name in wanted}


def downgrade() -> None:
    imports = sa.table("imports", *(sa.column(c.name, c.type) for c in _columns()))
    bind = op.get_bind()
    fields = {row_name: name for name, row_name in ROW_NAMES.items()}
    for row in bind.execute(sa.select(imports)).mappings():
        record = {fields.get(name, name): value for name, value in row.items()}
        for name in TIMES:
            record[name] = record[name].isoformat().replace("+00:00", "Z") if record[name] else None
        bind.execute(
            sa.insert(META).values(key=KEY + row["id"], value=record, updated_at=datetime.now(UTC))
        )
    op.drop_table("imports")
