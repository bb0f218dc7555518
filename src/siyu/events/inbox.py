"""The tracking inbox: a request is acknowledged once its valid messages are stored; a processor
then applies them (dedup, identity, customer state, orders, outbox) in the order received.

Acknowledging after one insert keeps the tracking API's cost near a plain validate-and-append;
the processor does the expensive part beside it, and gives way to requests while they arrive.
Processing deletes an inbox row in the same transaction that writes its results, so a crash at
any point processes the request again from the start and never twice. A message that cannot be
applied is kept in that transaction as a dead letter (see dead_letters.py), never dropped.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

import orjson
from anyio import to_thread
from sqlalchemy import delete, func, select
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from siyu.core.db import (
    get_engine,
    rowcount,
    session_factory,
    table_of,
    utcnow,
    write_lock,
    writer_is_taken,
)
from siyu.events.models import DeadLetter, InboxBatch
from siyu.events.schemas import IngestResult, Rejected
from siyu.events.service import (
    SEEN_SQL,
    Accepted,
    SourceRef,
    apply,
    check,
    first_unseen,
    screen,
    sort_out,
)

log = logging.getLogger("siyu.inbox")
# Rows processed per transaction: enough to amortise the commit, few enough that a request
# waiting for SQLite's one writer waits only a few milliseconds.
EVENTS_PER_TRANSACTION = 100
DRAINING_EVENTS_PER_TRANSACTION = 500  # nobody waits for the writer: amortise, but a burst
# that arrives meanwhile waits for at most one such transaction (~70 ms)
# While requests arrive, each of them may wait for the processor's transaction to end (SQLite has
# one writer): a few milliseconds at most.
BUSY_EVENTS_PER_TRANSACTION = 5


# A checked message, as the tracking API keeps it: (its index in the request, its messageId).
# A plain tuple: a request makes a hundred of them, and a named tuple costs five times as much.
Checked = tuple[int, str]
MESSAGE_ID = itemgetter(1)


@dataclass(frozen=True)
class Pending:
    id: int
    source_id: int
    source_name: str
    received_at: datetime
    sent_at: datetime | None
    forced_type: str | None
    payload: bytes
    encoding: str
    indices: str | None


def check_all(
    raws: list[Any],
    forced_type: str | None = None,
    received_at: datetime | None = None,
    sent_at: datetime | None = None,
) -> tuple[IngestResult, list[Any]]:
    """The answer for each message (no database): rejections by index, and the valid ones."""
    received_at = received_at or utcnow()
    return sort_out(raws, lambda i, raw: (i, check(raw, forced_type, received_at, sent_at)[1]))


@dataclass(frozen=True)
class Received:
    """A tracking request as received: its body (still compressed), and when it came."""

    body: bytes
    encoding: str  # "", "gzip" or "deflate"
    messages: int  # in the body
    received_at: datetime
    sent_at: datetime | None = None
    forced_type: str | None = None  # a single call (/v1/track …): the body is the message


_COLUMNS = "source_id, received_at, sent_at, forced_type, events, payload, encoding, indices"
_INSERT_SQL = {
    "sqlite": f"INSERT INTO tracking_inbox ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",
    "postgresql": f"INSERT INTO tracking_inbox ({_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
}


def receive(
    source: SourceRef, result: IngestResult, received: Received, checked: list[Any]
) -> None:
    """The tracking API's write: drop what was seen before, store the rest, commit.

    It runs for every request, right on the event loop (through receive_on_loop): handing it to
    another thread costs more than it does, in GIL hand-overs between that thread and the loop.
    And it speaks to the loop thread's own driver connection, kept between requests: SQLAlchemy's
    execution layer and a pool checkout cost more than these two statements.
    """
    engine = get_engine()
    raw, cursor = _held_connection(engine)
    try:
        _store(engine, raw, cursor, source, result, received, checked, _writer)
    except BaseException:
        _held.raw = _held.cursor = None
        raw.invalidate()  # whatever state it is in, the next request starts on a new one
        raise


def receive_waiting(
    source: SourceRef, result: IngestResult, received: Received, checked: list[Any]
) -> None:
    """`receive` in a worker thread, for a request that must wait for SQLite's writer. It waits
    holding no connection and borrows one from the pool only once it has the writer: the worker
    pool has 40 threads and the connection pool 15, so waiting requests that each held (or kept)
    a connection would starve the processor and every other request."""
    engine = get_engine()
    with _writer():
        raw = engine.raw_connection()
        try:
            _store(engine, raw, raw.cursor(), source, result, received, checked, nullcontext)
        except BaseException:
            raw.invalidate()
            raise
        finally:
            raw.close()


def _store(
    engine: Engine,
    raw: Any,
    cursor: Any,
    source: SourceRef,
    result: IngestResult,
    received: Received,
    checked: list[Any],
    writer: Callable[[], AbstractContextManager[object]],
) -> None:
    dialect = engine.dialect.name
    ids = list({message_id for _, message_id in checked})
    cursor.execute(
        SEEN_SQL[dialect], (source.id, orjson.dumps(ids).decode() if dialect == "sqlite" else ids)
    )
    seen = cursor.fetchall()
    if not seen and len(ids) == len(checked):  # the usual case: every message is new
        fresh = checked
    else:
        fresh = first_unseen(checked, {row[0] for row in seen}, MESSAGE_ID)
    raw.rollback()  # end the read before taking SQLite's one writer
    result.accepted, result.duplicates = len(fresh), len(checked) - len(fresh)
    if fresh:
        with writer():
            cursor.execute(_INSERT_SQL[dialect], _row(engine.dialect, source, received, fresh))
            raw.commit()
        note_arrival()


async def receive_on_loop(
    source: SourceRef, result: IngestResult, received: Received, checked: list[Any]
) -> None:
    """`receive` for a request on the event loop: right there as a rule, but in a worker thread
    when another transaction holds SQLite's writer, so that waiting for it (a processor's or a
    job's transaction may take seconds) holds this request only, not every one the loop serves."""
    if writer_is_taken():
        await to_thread.run_sync(receive_waiting, source, result, received, checked)
    else:
        receive(source, result, received, checked)


def _writer() -> AbstractContextManager[object]:
    """SQLite's one writer, for a request. If the processor's transaction holds it, the request
    says so, and the processor gives way from its next transaction on: counting the requests
    that got through is not enough, as a processor draining back to back lets through too few
    of them to count as busy (which kept it draining while the answers all but stopped)."""
    return write_lock(on_wait=writer_wanted.set)


class _Held(threading.local):
    engine: Any = None
    raw: Any = None
    cursor: Any = None


_held = _Held()


def _held_connection(engine: Engine) -> tuple[Any, Any]:
    """This thread's own driver connection and cursor, kept between requests: a checkout from
    the pool and its reset on return cost a third of what the two statements do."""
    if _held.engine is not engine or _held.raw is None:
        if _held.raw is not None:
            _held.raw.close()
        _held.engine, _held.raw = engine, engine.raw_connection()
        _held.cursor = _held.raw.cursor()
    return _held.raw, _held.cursor


_stamps: dict[str, Callable[[datetime], Any]] = {}


def _row(
    dialect: Dialect, source: SourceRef, received: Received, fresh: list[Any]
) -> tuple[Any, ...]:
    stamp = _stamps.get(dialect.name)
    if stamp is None:  # building it costs more than the insert: once per dialect
        processor = table_of(InboxBatch).c.received_at.type.bind_processor(dialect)
        assert processor is not None  # UTCDateTime converts every value it binds
        stamp = _stamps[dialect.name] = processor
    indices = None
    if len(fresh) != received.messages:
        indices = orjson.dumps([index for index, _ in fresh]).decode()
    return (
        source.id,
        stamp(received.received_at),
        stamp(received.sent_at) if received.sent_at else None,
        received.forced_type,
        len(fresh),
        received.body,
        received.encoding,
        indices,
    )


def messages_of(row: Pending) -> list[Any]:
    """The messages an inbox row asks to process, from the body as it was received."""
    body = row.payload
    if row.encoding in ("gzip", "deflate"):
        body = zlib.decompress(body, wbits=31 if row.encoding == "gzip" else 15)
    document = orjson.loads(body)
    if isinstance(document, list):
        messages = document
    elif row.forced_type:
        messages = [document]
    else:
        messages = document["batch"]
    if row.indices is None:
        return messages
    return [messages[i] for i in orjson.loads(row.indices)]


def _waiting(session: Session, limit_events: int) -> list[Pending]:
    from siyu.events.models import Source

    query = (
        select(
            InboxBatch.id,
            InboxBatch.source_id,
            Source.name,
            InboxBatch.received_at,
            InboxBatch.sent_at,
            InboxBatch.forced_type,
            InboxBatch.payload,
            InboxBatch.encoding,
            InboxBatch.indices,
            InboxBatch.events,
        )
        .join(Source, Source.id == InboxBatch.source_id)
        .order_by(InboxBatch.id)
        .limit(max(1, limit_events // 20))
    )
    rows: list[Pending] = []
    total = 0
    for row in session.execute(query):
        if rows and total + row.events > limit_events:
            break
        rows.append(Pending(*row[:9]))
        total += row.events
    return rows


def _claim(session: Session, row: Pending) -> bool:
    """Delete the row in the transaction that applies it; False if another processor did."""
    return rowcount(session.execute(delete(InboxBatch).where(InboxBatch.id == row.id))) == 1


def _apply(session: Session, rows: list[Pending]) -> int:
    """Claim and process rows in one transaction; returns the messages dealt with.

    The rows' messages go through ingest's apply together, per source: one identity lookup and
    one set of inserts for all of them rather than one per request.
    """
    by_source: dict[SourceRef, list[Accepted]] = {}
    handled = 0
    for row in rows:
        if not _claim(session, row):
            continue
        messages = messages_of(row)
        accepted = _screen(session, row, messages)
        by_source.setdefault(SourceRef(row.source_id, row.source_name), []).extend(accepted)
        handled += len(messages)
    for source, accepted in by_source.items():
        apply(session, source, accepted)
    return handled


def _screen(session: Session, row: Pending, messages: list[Any]) -> list[Accepted]:
    """The processor's own validation; what it refuses is kept as a dead letter, not dropped."""
    result, accepted = screen(messages, row.received_at, row.sent_at, row.forced_type)
    for problem in result.rejected:
        keep_dead_letter(session, row, messages[problem.index], _rejection(problem))
    return accepted


def apply_each(session: Session, row: Pending) -> tuple[int, list[DeadLetter]]:
    """Process one row message by message, each in a savepoint: what fails is a dead letter
    with its error, and the others are applied. The caller has claimed the row.
    Returns the messages dealt with and the dead letters kept."""
    try:
        messages = messages_of(row)
    except (ValueError, KeyError, TypeError, IndexError, zlib.error) as error:
        return 1, [keep_dead_letter(session, row, None, _reason(error))]
    source = SourceRef(row.source_id, row.source_name)
    kept: list[DeadLetter] = []
    for message in messages:
        reason = _apply_alone(session, row, source, message)
        if reason is not None:
            kept.append(keep_dead_letter(session, row, message, reason))
    return len(messages), kept


def _apply_alone(session: Session, row: Pending, source: SourceRef, message: Any) -> str | None:
    """Screen and apply one message in a savepoint; why, if it failed twice (the second try
    settles a unique-key race with another processor: the winner's row is then a duplicate)."""
    failure = None
    for _ in range(2):
        try:
            with session.begin_nested():
                result, accepted = screen([message], row.received_at, row.sent_at, row.forced_type)
                if result.rejected:
                    return _rejection(result.rejected[0])
                apply(session, source, accepted)
            return None
        except Exception as error:
            if _is_transient(error):
                raise
            failure = _reason(error)
    return failure


def _rejection(problem: Rejected) -> str:
    where = f"{problem.field}: " if problem.field else ""
    return f"Rejected: {where}{problem.reason}"


def keep_dead_letter(session: Session, row: Pending, message: Any, error: str) -> DeadLetter:
    """A message (None: the whole request, unreadable) the processor cannot apply, with why."""
    if message is None:
        payload, encoding, indices, message_id = row.payload, row.encoding, row.indices, None
    else:
        payload, encoding, indices = orjson.dumps([message]), "", None
        message_id = _message_id(message)
    log.warning("tracking message %s kept as a dead letter: %s", message_id, error)
    letter = DeadLetter(
        source_id=row.source_id,
        received_at=row.received_at,
        sent_at=row.sent_at,
        forced_type=row.forced_type,
        payload=payload,
        encoding=encoding,
        indices=indices,
        message_id=message_id.replace("\x00", "") if message_id else None,
        error=error.replace("\x00", ""),
        failed_at=utcnow(),
    )
    session.add(letter)
    return letter


def _message_id(message: Any) -> str | None:
    value = message.get("messageId") if isinstance(message, dict) else None
    return str(value)[:200] if value not in (None, "") else None


def _reason(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


def process_some(
    factory: sessionmaker[Session] | None = None, limit_events: int = EVENTS_PER_TRANSACTION
) -> int:
    """Process the oldest waiting requests (about `limit_events` events); returns the messages
    dealt with (applied, duplicates, or kept as dead letters)."""
    return _process(factory or session_factory(), limit_events)[0]


def _process(factory: sessionmaker[Session], limit_events: int) -> tuple[int, datetime | None]:
    """(messages dealt with, when the oldest of them was received)."""
    with factory() as session:
        rows = _waiting(session, limit_events)
        session.rollback()  # end the read, so the writes below start from a fresh snapshot
    if not rows:
        return 0, None
    return _process_rows(factory, rows), rows[0].received_at


def _process_rows(factory: sessionmaker[Session], rows: list[Pending]) -> int:
    """The rows in one transaction; if that fails, request by request, and a request that
    fails alone message by message: one bad row never holds back the others."""
    try:
        return _in_transaction(factory, lambda session: _apply(session, rows))
    except Exception as error:
        if _is_transient(error):
            return 0  # the rows wait for the next round
        log.warning("processing tracking requests %s failed (%s); splitting", _ids(rows), error)
    if len(rows) > 1:
        return sum(_process_rows(factory, [row]) for row in rows)
    row = rows[0]
    try:
        return _in_transaction(factory, lambda s: apply_each(s, row)[0] if _claim(s, row) else 0)
    except Exception as error:
        if _is_transient(error):
            return 0
        failure = _reason(error)
    log.error("tracking request %s failed message by message: kept whole", row.id)
    return _in_transaction(factory, lambda session: _keep_whole(session, row, failure))


def _keep_whole(session: Session, row: Pending, failure: str) -> int:
    """The last resort: the request as received becomes one dead letter, with why."""
    if not _claim(session, row):
        return 0
    keep_dead_letter(session, row, None, failure)
    return 1


def _ids(rows: list[Pending]) -> list[int]:
    return [row.id for row in rows]


def _in_transaction(factory: sessionmaker[Session], work: Callable[[Session], int]) -> int:
    with factory() as session, write_lock():
        try:
            done = work(session)
            session.commit()
            return done
        except BaseException:
            session.rollback()
            raise


def _is_transient(error: Exception) -> bool:
    """A deadlock victim, a serialization failure, a busy database: just try again later."""
    if isinstance(error, OperationalError):
        code = getattr(error.orig, "sqlstate", None)
        return code in ("40P01", "40001") or "locked" in str(error.orig)
    return False


def process_all(
    factory: sessionmaker[Session] | None = None, progress: Callable[[int], object] | None = None
) -> int:
    """Process everything waiting; returns the messages dealt with."""
    total = 0
    while True:
        done = process_some(factory)
        if not done:
            return total
        total += done
        if progress:
            progress(done)


def waiting(session: Session) -> dict[str, int]:
    """Requests and events received and not yet processed."""
    requests, events = session.execute(
        select(func.count(), func.coalesce(func.sum(InboxBatch.events), 0))
    ).one()
    return {"requests": requests, "events": int(events)}


# Set whenever a request is stored: wakes the processor.
arrivals = threading.Event()
writer_wanted = threading.Event()  # a request waited for SQLite's writer (see _writer)
# Requests stored per second, counted in whole seconds: [start of this second, count in it,
# count in the second before].
_counts = [float("-inf"), 0, 0]
BUSY_REQUESTS_PER_SECOND = 20  # below this, what arrives is processed at once, in full


def note_arrival() -> None:
    """A request was stored: wake the processor, and count it."""
    now = time.monotonic()
    if now - _counts[0] >= 1.0:
        previous = _counts[1] if now - _counts[0] < 2.0 else 0
        _counts[:] = [now, 0, previous]
    _counts[1] += 1
    arrivals.set()


def requests_arriving() -> bool:
    """Whether requests are coming in fast enough that the processor should give way: a rate
    over the last second or two, not whether one came during its last (short) transaction -
    a millisecond's gap between two requests must not start a drain that holds the writer."""
    elapsed = time.monotonic() - _counts[0]
    if elapsed >= 2.0:
        return False
    recent = _counts[1] if elapsed >= 1.0 else max(_counts[1], _counts[2])
    return recent >= BUSY_REQUESTS_PER_SECOND


class Processor(threading.Thread):
    """Applies the inbox in the background of `siyu serve`.

    While requests keep arriving it works at most `busy_share` of the time, so acknowledging
    comes first and a burst is absorbed; once what it processes is more than `max_lag_seconds`
    old, or requests stop, it works at full speed until it has caught up.
    """

    def __init__(
        self, idle_seconds: float = 0.5, busy_share: float = 0.02, max_lag_seconds: float = 60
    ):
        super().__init__(name="siyu-inbox", daemon=True)
        self.idle_seconds, self.busy_share = idle_seconds, busy_share
        self.max_lag = timedelta(seconds=max_lag_seconds)
        self.stopping = threading.Event()

    def run(self) -> None:
        factory = session_factory()
        lagging = False
        while not self.stopping.is_set():
            arrivals.clear()
            busy = self._busy(lagging)
            started = time.monotonic()
            size = BUSY_EVENTS_PER_TRANSACTION if busy else DRAINING_EVENTS_PER_TRANSACTION
            try:
                done, received_at = _process(factory, size)
            except Exception:  # the thread must outlive any one failure
                log.exception("inbox processor error; retrying")
                done, received_at = 0, None
            lagging = self._is_lagging(received_at)
            if not done:
                arrivals.wait(self.idle_seconds)
            elif busy and not lagging:
                spent = time.monotonic() - started  # requests are arriving: give them the time
                self.stopping.wait(spent * (1 / self.busy_share - 1))

    def _busy(self, lagging: bool) -> bool:
        """Give way to requests: they arrive steadily, or one waited for the writer since the
        last look - unless the processor is so far behind that it must catch up first."""
        wanted = writer_wanted.is_set()
        writer_wanted.clear()
        return (requests_arriving() or wanted) and not lagging

    def _is_lagging(self, received_at: datetime | None) -> bool:
        return received_at is not None and utcnow() - received_at > self.max_lag

    def stop(self) -> None:
        self.stopping.set()
        arrivals.set()
