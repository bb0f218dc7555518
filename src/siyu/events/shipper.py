"""The shipper: outbox rows to Parquet files, crash-safe and idempotent, plus compaction.

A batch is claimed (rows stamped with its id) in one transaction; its files are named by the
outbox id range it holds and written under a temporary name then renamed; only then is it marked
shipped. A crash anywhere re-ships the same rows to the same names, so the lake never holds an
event twice.
"""

from __future__ import annotations

import logging
import posixpath
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from siyu.core.db import commit_progress, rowcount, session_factory, utcnow, write_lock
from siyu.core.lake import Lake, open_lake, refresh_snapshots
from siyu.core.lake_schema import EVENTS, EVENTS_SCHEMA
from siyu.core.settings import get_settings
from siyu.events import dead_letters, inbox
from siyu.events.models import LakeBatch, LakeCompaction, OutboxEvent
from siyu.events.outbox import after_shipping
from siyu.events.outbox import when_shipped as when_shipped

log = logging.getLogger("siyu.shipper")
SNAPSHOT_SECONDS = 10.0
SNAPSHOT_SHARE = 0.05

_ROW_COLUMNS = [getattr(OutboxEvent, "id" if n == "outbox_id" else n) for n in EVENTS_SCHEMA.names]


def claim_batch(session: Session, size: int) -> LakeBatch | None:
    """Stamp up to `size` waiting outbox rows with a new batch id (the caller commits)."""
    ids = list(
        session.scalars(
            select(OutboxEvent.id)
            .where(OutboxEvent.batch_id.is_(None))
            .order_by(OutboxEvent.id)
            .limit(size)
        )
    )
    if not ids:
        return None
    batch = LakeBatch(status="writing")
    session.add(batch)
    session.flush()
    session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id.between(ids[0], ids[-1]), OutboxEvent.batch_id.is_(None))
        .values(batch_id=batch.id)
        .execution_options(synchronize_session=False)
    )
    first, last, rows = session.execute(
        select(func.min(OutboxEvent.id), func.max(OutboxEvent.id), func.count()).where(
            OutboxEvent.batch_id == batch.id
        )
    ).one()
    batch.first_id, batch.last_id, batch.rows = first, last, rows
    return batch


def _partition_tables(session: Session, batch: LakeBatch) -> dict[str, pa.Table]:
    zone = get_settings().zone
    columns: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    rows = session.execute(
        select(*_ROW_COLUMNS).where(OutboxEvent.batch_id == batch.id).order_by(OutboxEvent.id)
    )
    names = EVENTS_SCHEMA.names
    for row in rows:
        day = row.timestamp.astimezone(zone).date().isoformat()
        target = columns[day]
        for name, value in zip(names, row, strict=True):
            target[name].append(value)
    return {day: pa.table(dict(cols), schema=EVENTS_SCHEMA) for day, cols in columns.items()}


def write_batch(session: Session, lake: Lake, batch: LakeBatch) -> list[str]:
    """Write a claimed batch's files; the same batch always produces the same file names."""
    name = f"part-{batch.first_id:012d}-{batch.last_id:012d}.parquet"
    files = []
    for day, table in sorted(_partition_tables(session, batch).items()):
        files.append(lake.write_atomic(table, posixpath.join(EVENTS, f"date={day}", name)))
    return files


def mark_shipped(session: Session, batch: LakeBatch, files: list[str]) -> None:
    now = utcnow()
    batch.status, batch.files, batch.shipped_at = "shipped", files, now
    session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.batch_id == batch.id)
        .values(shipped_at=now)
        .execution_options(synchronize_session=False)
    )


def ship_once(
    factory: sessionmaker[Session] | None = None, lake: Lake | None = None, size: int | None = None
) -> int:
    """Ship unfinished batches first, then one new batch; returns the rows shipped."""
    factory, lake = factory or session_factory(), lake or open_lake()
    size = size or get_settings().shipper_batch_size
    shipped = 0
    with factory() as session:
        pending = list(
            session.scalars(
                select(LakeBatch).where(LakeBatch.status == "writing").order_by(LakeBatch.id)
            )
        )
        if not pending:
            with write_lock():
                batch = claim_batch(session, size)
                commit_progress(session, "a batch claimed")
            pending = [batch] if batch else []
        for batch in pending:
            files = write_batch(session, lake, batch)
            with write_lock():
                mark_shipped(session, batch, files)
                commit_progress(session, "a batch shipped")
            shipped += batch.rows
    return shipped


def ship_all(
    factory: sessionmaker[Session] | None = None,
    lake: Lake | None = None,
    progress: Callable[[int], object] | None = None,
) -> int:
    total = 0
    while True:
        shipped = ship_once(factory, lake)
        if not shipped:
            return total
        total += shipped
        if progress:
            progress(shipped)


def compact(
    factory: sessionmaker[Session] | None = None,
    lake: Lake | None = None,
    min_files: int | None = None,
    settled_seconds: float = 300,
) -> int:
    """Rewrite each date partition holding many small files as one file; returns files removed.

    Only files older than `settled_seconds` are taken: a second shipper (`siyu lake flush` beside
    `siyu serve`) may still be rewriting a batch's file under the same name, and compacting it
    away first would leave that late copy beside the compacted one.
    """
    factory, lake = factory or session_factory(), lake or open_lake()
    min_files = min_files or get_settings().compact_min_files
    removed = _finish_compactions(factory, lake)
    settled_before = time.time() - settled_seconds
    for partition in lake.event_partitions():
        inputs = [
            path
            for path in lake.files(posixpath.join(EVENTS, partition))
            if lake.fs.modified(path).timestamp() <= settled_before
        ]
        if len(inputs) >= min_files:
            removed += _compact_partition(factory, lake, partition, inputs)
    return removed


def _range_of(path: str) -> tuple[int, int]:
    stem = posixpath.basename(path).rsplit(".", 1)[0]
    first, last = stem.split("-")[1:3]
    return int(first), int(last)


def _compact_partition(
    factory: sessionmaker[Session], lake: Lake, partition: str, inputs: list[str]
) -> int:
    ranges = [_range_of(p) for p in inputs]
    stem = f"compact-{min(r[0] for r in ranges):012d}-{max(r[1] for r in ranges):012d}"
    relative = [p[len(lake.root) + 1 :] for p in inputs]
    output = posixpath.join(EVENTS, partition, f"{stem}.parquet")
    if output in relative or lake.fs.exists(lake.path(output)):
        # A late batch inside an earlier compacted range: the output must never carry an
        # input's name, or recovery would take that input for the finished output.
        output = posixpath.join(EVENTS, partition, f"{stem}-{uuid.uuid4().hex[:8]}.parquet")
    with factory() as session:
        record = LakeCompaction(partition=partition, inputs=relative, output=output)
        session.add(record)
        commit_progress(session, "a compaction begun")  # its recovery needs the record first
        tables = [pq.read_table(lake.fs.open(p, "rb")) for p in inputs]
        table = pa.concat_tables(tables, promote_options="default").sort_by("outbox_id")
        lake.write_atomic(table, output)
        return _drop_inputs(session, lake, record)


def _drop_inputs(session: Session, lake: Lake, record: LakeCompaction) -> int:
    removed = 0
    for relative in record.inputs:
        if relative != record.output and lake.fs.exists(lake.path(relative)):
            lake.fs.rm(lake.path(relative))
            removed += 1
    record.status, record.done_at = "done", utcnow()
    commit_progress(session, "a compaction done")
    return removed


def _finish_compactions(factory: sessionmaker[Session], lake: Lake) -> int:
    """After a crash: a compaction whose output exists drops its inputs; otherwise it is void."""
    removed = 0
    with factory() as session:
        for record in session.scalars(
            select(LakeCompaction).where(LakeCompaction.status == "writing")
        ):
            if record.output not in record.inputs and lake.fs.exists(lake.path(record.output)):
                removed += _drop_inputs(session, lake, record)
            else:
                record.status = "aborted"
                commit_progress(session, "a void compaction aborted")
    lake.remove_temps()
    return removed


def prune_outbox(session: Session) -> int:
    """Forget shipped outbox rows past the retention (the lake has them; dedup keys stay). A
    schedule's job (siyu.work); the caller commits."""
    cutoff = utcnow() - timedelta(days=get_settings().outbox_retention_days)
    gone = session.execute(delete(OutboxEvent).where(OutboxEvent.shipped_at < cutoff))
    return rowcount(gone) or 0


def counts(session: Session) -> dict[str, Any]:
    """Events received (not yet processed), kept as dead letters, waiting to ship and shipped,
    from the database alone (cheap enough for every page view)."""
    # Unclaimed rows (indexed) plus the rows of batches still being written.
    unclaimed = session.execute(
        select(func.count()).where(OutboxEvent.batch_id.is_(None))
    ).scalar_one()
    writing = session.execute(
        select(func.coalesce(func.sum(LakeBatch.rows), 0)).where(LakeBatch.status == "writing")
    ).scalar_one()
    shipped, last = session.execute(
        select(func.coalesce(func.sum(LakeBatch.rows), 0), func.max(LakeBatch.shipped_at)).where(
            LakeBatch.status == "shipped"
        )
    ).one()
    return {
        "received": inbox.waiting(session)["events"],
        "dead_letters": dead_letters.count(session),
        "waiting": unclaimed + int(writing),
        "shipped": int(shipped),
        "last_shipped_at": last.isoformat() if last else None,
    }


def status(session: Session, lake: Lake | None = None) -> dict[str, Any]:
    """`counts` plus what the lake's files hold (lists and sizes every file: for the CLI)."""
    lake = lake or open_lake()
    files = lake.files(EVENTS, "date=*/*.parquet")
    partitions = lake.event_partitions()
    return {
        "lake": lake.root,
        **counts(session),
        "files": len(files),
        "partitions": len(partitions),
        "first_date": partitions[0][5:] if partitions else None,
        "last_date": partitions[-1][5:] if partitions else None,
        "bytes": sum(lake.fs.size(f) for f in files),
    }


class Shipper(threading.Thread):
    """Ships, compacts and snapshots in the background of `siyu serve`."""

    def __init__(self, interval: float | None = None):
        super().__init__(name="siyu-shipper", daemon=True)
        self.interval = interval or get_settings().shipper_interval_seconds
        self.stopping = threading.Event()

    def run(self) -> None:
        # pyarrow imports pandas on the first snapshot, a pause of a second or more holding the
        # GIL: take it now, while the server starts, rather than in the middle of traffic.
        import pandas  # noqa: F401

        factory, lake = session_factory(), open_lake()
        size = get_settings().shipper_batch_size
        rounds, snapshot_due = 0, 0.0
        while not self.stopping.is_set():
            try:
                shipped = ship_once(factory, lake, size)
                for callback in after_shipping():
                    callback(factory, shipped)
                rounds += 1
                # Snapshots rewrite whole tables: while events stream in, at most every
                # SNAPSHOT_SECONDS, and never more than SNAPSHOT_SHARE of the time (a large
                # brand's snapshot takes seconds, and shares the process with the API).
                if time.monotonic() >= snapshot_due:
                    began = time.monotonic()
                    refresh_snapshots(factory, lake)
                    spent = time.monotonic() - began
                    snapshot_due = began + max(SNAPSHOT_SECONDS, spent / SNAPSHOT_SHARE)
                if rounds % 30 == 0:
                    compact(factory, lake)
            except Exception:
                log.exception("shipper error; retrying")
                shipped = 0
            if shipped < size:  # caught up: let the next batch fill instead of shipping dribbles
                self.stopping.wait(self.interval)

    def stop(self) -> None:
        self.stopping.set()
