"""Import records live in the `imports` table; the migration that made it moved the old ones."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import JSON, String, column, create_engine, insert, select, table

from siyu.core.db import alembic_config, session_factory
from siyu.imports import jobs

OLD_RECORD = {
    "id": "20261201093000-a1b2c3",
    "kind": "orders",
    "file": "youzan.csv",
    "size": 2048,
    "by": "user:ops@example.com",
    "created_at": "2026-12-01T09:30:00Z",
    "status": "done",
    "rows_estimate": 12,
    "header": ["订单编号", "实付金额"],
    "first_rows": [[2, ["E1", "59.00"]]],
    "columns": {"order_id": "订单编号", "amount": "实付金额"},
    "customer_id_type": "phone",
    "skip": {},
    "ignore": ["备注"],
    "skip_bad": True,
    "attempt": 2,
    "job_key": "imports.run:20261201093000-a1b2c3:2",
    "stage": None,
    "done": 12,
    "total": 12,
    "check": {"rows": 12, "rejected": 1},
    "summary": {"rows": 12, "imported": 11, "rejected": 1},
    "error": None,
    "finished_at": "2026-12-01T09:31:05Z",
}
META = table("meta", column("key", String), column("value", JSON))


def test_an_import_record_is_saved_and_read_back_from_its_row(session):
    record = jobs.ImportRecord.model_validate(OLD_RECORD | {"id": "20261202100000-abcdef"})
    jobs.save(session, record)
    session.expunge_all()
    again = jobs.load(session, record.id)
    assert again == record
    assert [r.id for r in jobs.past_imports(session)] == [record.id]


def test_the_migration_moves_records_out_of_meta_and_back(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0012")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(insert(META).values(key="import:" + OLD_RECORD["id"], value=OLD_RECORD))
        connection.execute(insert(META).values(key="demo", value={"loaded": True}))

    command.upgrade(config, "0013")
    with session_factory(url)() as session:
        moved = jobs.load(session, OLD_RECORD["id"])
    assert moved.by == "user:ops@example.com" and moved.ignore == ["备注"]
    assert moved.created_at == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert (moved.check, moved.summary) == (OLD_RECORD["check"], OLD_RECORD["summary"])
    assert moved.first_rows == [(2, ["E1", "59.00"])]
    with engine.connect() as connection:
        assert connection.execute(select(META.c.key)).scalars().all() == ["demo"]

    command.downgrade(config, "0012")
    with engine.connect() as connection:
        kept = dict(connection.execute(select(META.c.key, META.c.value)).all())
    assert kept["import:" + OLD_RECORD["id"]] == OLD_RECORD
    engine.dispose()
