"""One outbox writer: every event goes through events.outbox.write, which publishes it to the
domains listed in siyu.subscribers; `events` itself imports no feature domain."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from siyu.core.db import unit_of_work
from siyu.events import outbox, shipper
from siyu.events.models import OutboxEvent, ReceivedMessage
from siyu.events.service import event_row, ingest, record
from siyu.events.sources import internal_source
from siyu.subscribers import AFTER_SHIPPING, SUBSCRIBERS, wire
from tests.helpers import track

SRC = Path(__file__).resolve().parents[2] / "src" / "siyu"
WRITER = SRC / "events" / "outbox.py"
TABLES = {"OutboxEvent", "ReceivedMessage"}
WRITES = {"insert", "add", "add_all", "bulk_insert_mappings", "bulk_save_objects", "merge"}
RAW_INSERT = re.compile(r"insert\s+(or\s+\w+\s+)?into\s+\W?(outbox|received_messages)\b", re.I)
NOT_FEATURES = {"core", "events", "translations"}
# What `events` still imports from feature domains, to be paid off by the work named: identity
# resolution is the customer state the ingest transaction applies itself. (The snapshot writer,
# which read four domains' tables, moved above the domains: siyu/snapshots.py.)
# Nothing may be added here: a domain that cares subscribes instead.
STILL_IMPORTED = {
    ("service.py", "customers"),
}


def _feature_domains() -> set[str]:
    return {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()} - NOT_FEATURES


def _siyu_packages(tree: ast.AST) -> set[str]:
    """The siyu packages a module imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        found |= {n.split(".")[1] for n in names if n.startswith("siyu.") and "." in n}
    return found


def test_events_imports_no_feature_domain_it_did_not_already():
    features = _feature_domains()
    assert {"staff", "customers", "wecom"} <= features
    imported = {
        (path.name, package)
        for path in sorted((SRC / "events").glob("*.py"))
        for package in _siyu_packages(ast.parse(path.read_text(encoding="utf-8")))
        if package in features
    }
    assert imported <= STILL_IMPORTED, imported - STILL_IMPORTED
    ingest = {package for name, package in imported if name in ("service.py", "inbox.py")}
    assert ingest == {"customers"}  # guide tasks, orders and touchpoint codes subscribe


def _mentions_table(node: ast.AST) -> bool:
    return any(
        (isinstance(n, ast.Name) and n.id in TABLES)
        or (isinstance(n, ast.Attribute) and n.attr in TABLES)
        for n in ast.walk(node)
    )


def _called_name(call: ast.Call) -> str:
    target = call.func
    return target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")


def hand_written_inserts(source: str) -> list[int]:
    """Lines that write outbox rows or dedup keys without the writer: an insert of (or an object
    of) OutboxEvent or ReceivedMessage, their Table objects, or SQL text inserting into them."""
    lines = [source.count("\n", 0, m.start()) + 1 for m in RAW_INSERT.finditer(source)]
    for node in ast.walk(ast.parse(source)):
        # The Table itself (`__table__`, core.db.table_of): what a bulk insert is given.
        if isinstance(node, ast.Attribute) and node.attr == "__table__" and _mentions_table(node):
            lines.append(node.lineno)
        if not isinstance(node, ast.Call):
            continue
        name = _called_name(node)
        holds_table = any(_mentions_table(a) for a in [*node.args, *node.keywords])
        if (
            name in TABLES  # OutboxEvent(...) for session.add()
            or (name in WRITES and holds_table)  # insert(OutboxEvent.__table__), add_all(...)
            or (name == "table_of" and holds_table)
            or (name == "insert" and _mentions_table(node.func))  # OutboxEvent.__table__.insert()
        ):
            lines.append(node.lineno)
    return sorted(set(lines))


@pytest.mark.parametrize(
    "snippet",
    [
        "session.execute(insert(OutboxEvent.__table__), rows)",
        "session.execute(insert(models.ReceivedMessage), keys)",
        "session.add(OutboxEvent(message_id='m1'))",
        "session.execute(OutboxEvent.__table__.insert(), rows)",
        "conn.exec_driver_sql('INSERT INTO outbox (message_id) VALUES (?)', ('m1',))",
        "KEYS = ReceivedMessage.__table__",
        "session.execute(OUTBOX, rows) if (OUTBOX := db.table_of(OutboxEvent)) else None",
    ],
)
def test_a_hand_built_outbox_row_is_found(snippet):
    assert hand_written_inserts(snippet) == [1]


def test_reading_and_shipping_the_outbox_are_not_writes():
    reads = "select(OutboxEvent).where(OutboxEvent.id > 1)\nupdate(OutboxEvent).values(x=1)"
    assert hand_written_inserts(reads) == []


def test_only_the_one_writer_writes_outbox_rows():
    found = {
        f"{path.relative_to(SRC)}:{line}"
        for path in sorted(SRC.rglob("*.py"))
        if path != WRITER and "migrations" not in path.parts
        for line in hand_written_inserts(path.read_text(encoding="utf-8"))
    }
    assert found == set()
    assert hand_written_inserts(WRITER.read_text(encoding="utf-8"))  # the writer is seen


@pytest.fixture
def heard():
    """A subscriber in place of the wired ones, noting each event it hears of."""
    events: list[tuple[str, str]] = []
    outbox.subscribe([lambda _, rows: events.extend((r["source"], r["event"]) for r in rows)])
    yield events
    wire()


def test_every_event_written_is_heard_once_by_the_subscribers(heard):
    now = datetime.now(UTC)
    with unit_of_work() as s:
        source = internal_source(s, "mall")
        ingest(s, source, [track("Signed Up")], now)
        ingest(s, source, [track("Page Viewed", messageId="p1")] * 2, now)  # a duplicate
        row = event_row(
            message_id="task-1", source="tasks", event="Task Assigned", customer_id=None,
            timestamp=now - timedelta(days=3), received_at=now,
        )  # fmt: skip
        record(s, "tasks", [row])
    assert heard == [("mall", "Signed Up"), ("mall", "Page Viewed"), ("tasks", "Task Assigned")]
    with unit_of_work() as s:
        rows = s.execute(select(OutboxEvent.message_id, OutboxEvent.backfill)).all()
        keys = s.scalar(select(func.count()).select_from(ReceivedMessage))
    assert sorted(message_id for message_id, _ in rows)[-2:] == ["p1", "task-1"]
    assert dict(rows)["task-1"] is True  # three days late when written: a backfill
    assert keys == 3


def test_a_failing_subscriber_takes_the_events_back_with_it():
    def refuse(session, rows):
        raise RuntimeError("the subscriber could not apply these")

    outbox.subscribe([refuse])
    try:
        with pytest.raises(RuntimeError), unit_of_work() as s:
            ingest(s, internal_source(s, "mall"), [track("Page Viewed")], datetime.now(UTC))
    finally:
        wire()
    with unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(OutboxEvent)) == 0


def test_the_app_and_the_command_wire_the_subscribers():
    from typer.testing import CliRunner

    from siyu.app import create_app
    from siyu.cli import app

    outbox.subscribe([])
    create_app()
    assert outbox.subscribers() == list(SUBSCRIBERS)
    assert outbox.check_for("Order Completed") is not None
    outbox.subscribe([])
    shipper.when_shipped([])
    CliRunner().invoke(app, ["keys", "list"])
    assert outbox.subscribers() == list(SUBSCRIBERS)
    assert outbox.check_for("Order Refunded") is not None
    assert shipper.after_shipping() == list(AFTER_SHIPPING)  # the auto-tag pass for new events


def test_a_process_that_never_wired_its_subscribers_writes_nothing(monkeypatch):
    monkeypatch.setattr(outbox, "_wired", [])
    message = track("Order Completed", properties={"order_id": "o1", "revenue": "9.90"})
    with pytest.raises(RuntimeError, match="wire"), unit_of_work() as s:
        ingest(s, internal_source(s, "mall"), [message], datetime.now(UTC))
    with unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(OutboxEvent)) == 0


def test_an_order_event_its_domain_cannot_apply_is_refused_before_writing():
    bad = track("Order Completed", properties={"order_id": "o1"})  # no revenue
    with unit_of_work() as s:
        result = ingest(s, internal_source(s, "mall"), [bad], datetime.now(UTC))
        assert s.scalar(select(func.count()).select_from(OutboxEvent)) == 0
    assert [(r.field, r.index) for r in result.rejected] == [("properties.revenue", 0)]
