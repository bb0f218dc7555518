"""Ingest: validate, dedup, resolve identity, apply the customer's state, write the outbox (whose
subscribers apply the rest): one transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from siyu.core.db import utcnow
from siyu.core.errors import SiyuError
from siyu.core.settings import get_settings
from siyu.customers import identity as ids
from siyu.customers.models import Customer
from siyu.customers.resolver import Resolver, lock_identities
from siyu.events import outbox
from siyu.events.catalogue import is_customer_act

# Other domains reach SourceRef and event_row through this module, events' door.
from siyu.events.outbox import SourceRef as SourceRef
from siyu.events.outbox import event_row as event_row
from siyu.events.schemas import IngestResult, Message, Rejected, validate_message
from siyu.events.sources import internal_source

MAX_EVENT_BYTES = 32 * 1024
FUTURE_TOLERANCE = timedelta(minutes=5)
# What the stores can hold: orjson (the outbox's and the lake's JSON) writes at most 254 levels;
# the lake's date partitions and the analytics' date arithmetic want a four-digit year.
MAX_DEPTH = 254
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


@dataclass
class Accepted:
    index: int
    message: Message
    message_id: str
    timestamp: datetime
    raw_keys: list[tuple[str, str]]
    received_at: datetime


class Rejection(Exception):
    def __init__(self, field: str | None, reason: str):
        super().__init__(reason)
        self.field, self.reason = field, reason


def ingest(
    session: Session,
    source: SourceRef,
    raws: list[Any],
    received_at: datetime,
    sent_at: datetime | None = None,
    forced_type: str | None = None,
) -> IngestResult:
    """Store a list of Segment messages; the caller commits. Invalid ones are listed, not stored."""
    result, accepted = screen(raws, received_at, sent_at, forced_type)
    result.accepted, result.duplicates = apply(session, source, accepted)
    return result


def screen(
    raws: list[Any],
    received_at: datetime,
    sent_at: datetime | None = None,
    forced_type: str | None = None,
) -> tuple[IngestResult, list[Accepted]]:
    """Each message validated as received: rejections by index, and the accepted ones."""
    return sort_out(raws, lambda i, raw: validate(i, raw, received_at, sent_at, forced_type))


def sort_out(raws: list[Any], judge: Callable[[int, Any], Any]) -> tuple[IngestResult, list[Any]]:
    """`judge(index, raw)` for each message: the rejections by index, and what the rest became."""
    result, kept = IngestResult(), []
    for index, raw in enumerate(raws):
        try:
            kept.append(judge(index, raw))
        except Rejection as problem:
            result.rejected.append(
                Rejected(index=index, field=problem.field, reason=problem.reason)
            )
    result.success = not result.rejected or bool(kept)
    return result, kept


def apply(session: Session, source: SourceRef, accepted: list[Accepted]) -> tuple[int, int]:
    """Store accepted messages (of one or many requests, in order); (stored, duplicates)."""
    fresh = drop_duplicates(session.connection(), source, accepted)
    if fresh:
        _store(session, source, fresh)
    return len(fresh), len(accepted) - len(fresh)


def validate(
    index: int,
    raw: Any,
    received_at: datetime,
    batch_sent_at: datetime | None,
    forced_type: str | None,
) -> Accepted:
    """One message checked as ingest() checks it; raises Rejection naming the field."""
    message, message_id = check(raw, forced_type, received_at, batch_sent_at)
    timestamp = corrected_timestamp(message, received_at, batch_sent_at)
    keys = identity_keys(message)
    return Accepted(index, message, message_id, timestamp, keys, received_at)


def check(
    raw: Any,
    forced_type: str | None = None,
    received_at: datetime | None = None,
    batch_sent_at: datetime | None = None,
) -> tuple[Message, str]:
    """Whether ingest() will take this message: the message and its messageId, or Rejection.

    The tracking API answers from this alone, so it computes what the processor will (the
    corrected time, the amounts in fen, the JSON as stored): what it lets through, the
    processor can apply.
    """
    if not isinstance(raw, dict):
        raise Rejection(None, "an event must be a JSON object")
    try:  # size, nesting and text as the outbox and the lake store them
        encoded = orjson.dumps(raw)
    except orjson.JSONEncodeError:
        field = next((k for k, v in raw.items() if _too_deep(v)), None)
        raise Rejection(field, f"the event is nested deeper than {MAX_DEPTH} levels") from None
    if len(encoded) > MAX_EVENT_BYTES:
        raise Rejection(None, "the event is larger than 32 KB")
    # orjson writes NUL as \u0000; a backslash is rare, and one byte is found at memchr's speed.
    if b"\\" in encoded and b"\\u0000" in encoded:
        _check_nul(raw)  # find where (the escape may be a literal "\\u0000")
    if forced_type:
        raw = {**raw, "type": forced_type}
    try:
        message = validate_message(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or None
        raise Rejection(where, first["msg"]) from None
    missing = message.missing()
    if missing:
        raise Rejection(*missing)
    check_event_time(message, received_at or datetime.now(UTC), batch_sent_at)
    event_check = outbox.check_for(message.event) if message.type == "track" else None
    if event_check is not None:  # the event's own domain: can it apply this one?
        try:
            event_check(message.event, message.properties)
        except SiyuError as problem:
            raise Rejection(problem.field, problem.message) from None
    context_traits = message.context.get("traits")
    if context_traits and not isinstance(context_traits, dict):
        raise Rejection("context.traits", "context.traits must be an object")
    if not _identifies_someone(message):
        raise Rejection(
            "userId",
            "neither userId nor anonymousId can identify anyone "
            "(empty or a blocked value such as 'null')",
        )
    return message, message.message_id or content_id(raw)


def _check_nul(raw: dict[str, Any]) -> None:
    field = _nul_at(raw)
    if field is not None:  # PostgreSQL's text cannot hold one
        raise Rejection(field, "text may not contain NUL characters (\\u0000)")


def _too_deep(value: Any) -> bool:
    try:
        orjson.dumps([value])
    except orjson.JSONEncodeError:
        return True
    return False


def _nul_at(value: Any, path: str = "") -> str | None:
    """The dotted path of the first key or text holding a NUL character, if any."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if not isinstance(value, (dict, list)):
        return None
    for key, item in value.items() if isinstance(value, dict) else enumerate(value):
        where = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and "\x00" in key:
            return where.replace("\x00", "\\u0000")
        found = _nul_at(item, where)
        if found is not None:
            return found
    return None


def _identifies_someone(message: Message) -> bool:
    """identity_keys(message) is not empty; usually settled by userId or anonymousId alone.

    Message has already stripped both ids and refused long ones, so what normalize() would
    still ask of them is only whether they are blocked values."""
    user_id = message.user_id
    if user_id and not ids.is_blocked(user_id):
        return True
    anonymous_id = message.anonymous_id
    if anonymous_id and not ids.is_blocked(anonymous_id):
        return True
    return bool(identity_keys(message))


def identity_keys(message: Message) -> list[tuple[str, str]]:
    keys = []
    for kind, raw in (("user_id", message.user_id), ("anonymous_id", message.anonymous_id)):
        value = ids.normalize(kind, raw)
        if value:
            keys.append((kind, value))
    traits = message.traits if message.type == "identify" else {}
    keys += ids.from_traits({**(message.context.get("traits") or {}), **traits})
    return keys


def as_utc(value: datetime) -> datetime:
    """A time in UTC; a naive one is the brand's local time (OverflowError past year 1 or 9999)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=get_settings().zone)
    return value.astimezone(UTC)


def corrected_timestamp(
    message: Message, received_at: datetime, batch_sent_at: datetime | None
) -> datetime:
    """timestamp = receivedAt − (sentAt − originalTimestamp): the device clock's skew removed."""
    client = message.client_timestamp
    if client is None:
        return received_at
    sent = message.sent_at or batch_sent_at
    if sent is not None:  # aware times subtract across zones: no conversion needed
        return received_at - (_aware(sent) - _aware(client))
    client = as_utc(client)
    return received_at if client > received_at + FUTURE_TOLERANCE else client


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=get_settings().zone)


def check_event_time(
    message: Message, received_at: datetime, batch_sent_at: datetime | None
) -> None:
    """Rejection naming the time that puts corrected_timestamp() outside 1900-2199.

    Every tracked message asks, so the usual case is settled by years alone."""
    timestamp, original, sent = message.timestamp, message.original_timestamp, message.sent_at
    if timestamp is not None and not 1900 < timestamp.year < 2199:
        check_time(timestamp, "timestamp")
    if original is not None and not 1900 < original.year < 2199:
        check_time(original, "originalTimestamp")
    if sent is not None and not 1900 < sent.year < 2199:
        check_time(sent, "sentAt")
    client, sent = original or timestamp, sent or batch_sent_at
    if client is None or sent is None:
        return  # the time is the client's or the arrival's: both checked
    if abs(sent.year - client.year) < 50 and 1951 < received_at.year < 2148:
        return  # a correction of under 50 years from now stays within the years
    try:
        corrected = corrected_timestamp(message, received_at, batch_sent_at)
    except OverflowError:
        corrected = None
    if corrected is None or not EARLIEST <= corrected < LATEST:
        name = "originalTimestamp" if original else "timestamp"
        raise Rejection(
            name,
            f"{name} corrected by sentAt (timestamp = receivedAt - (sentAt - {name})) "
            "falls outside the years 1900-2199",
        )


def check_time(value: datetime, field: str) -> None:
    """Rejection when `value` is outside the years 1900-2199 (in UTC)."""
    # The year settles all but the two border years, whatever the zone; those are compared.
    if not 1900 < value.year < 2199 and not EARLIEST <= _aware(value) < LATEST:
        raise Rejection(field, f"{field} must be in the years 1900-2199")


def content_id(raw: dict[str, Any]) -> str:
    """A message without a messageId gets one from its content, so a resend is still a duplicate."""
    stable = {k: v for k, v in raw.items() if k not in ("sentAt", "writeKey")}
    digest = hashlib.sha256(orjson.dumps(stable, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"sha256-{digest[:40]}"


# The dedup lookup runs on every tracking request, so it is one statement with one parameter
# (the ids as a JSON array or a PostgreSQL array), sent as written: no per-id placeholders.
SEEN_SQL = {
    "sqlite": "SELECT message_id FROM received_messages WHERE source_id = ? "
    "AND message_id IN (SELECT value FROM json_each(?))",
    "postgresql": "SELECT message_id FROM received_messages WHERE source_id = %s "
    "AND message_id = ANY(%s)",
}


def seen_message_ids(connection: Connection, source_id: int, message_ids: list[str]) -> set[str]:
    """Which of these messageIds the source has sent before (and were processed)."""
    if not message_ids:
        return set()
    dialect = connection.dialect.name
    ids: Any = orjson.dumps(message_ids).decode() if dialect == "sqlite" else message_ids
    rows = connection.exec_driver_sql(SEEN_SQL[dialect], (source_id, ids))
    return {row[0] for row in rows}


def drop_duplicates(
    connection: Connection, source: SourceRef, accepted: list[Accepted]
) -> list[Accepted]:
    """The messages not seen before from this source, each messageId once."""
    seen = seen_message_ids(connection, source.id, list({a.message_id for a in accepted}))
    return first_unseen(accepted, seen)


def first_unseen(
    items: list[Any], seen: set[str], message_id: Callable[[Any], str] = attrgetter("message_id")
) -> list[Any]:
    """The items whose messageId is not in `seen`, each messageId once (the first copy)."""
    seen, fresh = set(seen), []
    for item in items:
        key = message_id(item)
        if key not in seen:
            seen.add(key)
            fresh.append(item)
    return fresh


def record_told(
    session: Session,
    source: str,
    anonymous_id: str,
    traits: dict[str, Any],
    messages: list[dict[str, Any]],
    at: datetime,
) -> None:
    """Store what a platform told (a WeCom or official-account callback) as `messages`
    (track/identify bodies) for the person these traits identify, through ingest."""
    ref = internal_source(session, source)
    stamped = [
        {"anonymousId": anonymous_id, "timestamp": at.isoformat(), "context": {"traits": traits}}
        | message
        for message in messages
    ]
    result = ingest(session, ref, stamped, utcnow())
    if result.rejected:
        problem = result.rejected[0]
        raise ValueError(f"{problem.field}: {problem.reason}")


def told_message_id(*parts: object) -> str:
    """A stable messageId from a callback's natural key: a reprocessed callback is a duplicate."""
    digest = hashlib.sha256("\0".join(str(p) for p in parts).encode()).hexdigest()
    return f"{parts[0]}-{digest[:40]}"


def told_at(create_time: object) -> datetime:
    """A platform's CreateTime (Unix seconds) in UTC; now when it is missing."""
    try:
        return datetime.fromtimestamp(int(str(create_time)), UTC)
    except (TypeError, ValueError):
        return utcnow()


def record(session: Session, source_name: str, rows: list[dict[str, Any]]) -> None:
    """Store events Siyu writes itself (a guide's task assigned or completed), built with
    event_row(), under an internal source of this name; the caller commits."""
    outbox.write(session, internal_source(session, source_name), rows)


def _store(session: Session, source: SourceRef, items: list[Accepted]) -> None:
    resolver = Resolver(session, actor=f"source:{source.name}")
    keys = [k for item in items for k in item.raw_keys + _alias_keys(item.message)]
    lock_identities(session, keys)
    resolver.preload(keys)
    rows = []
    # Every lookup this loop needs is preloaded or cached; flushing before each would only
    # slow the batch down.
    with session.no_autoflush:
        for item in items:
            customer = _resolve(resolver, item)
            touchpoint = _touchpoint(item.message)
            _apply(customer, item, touchpoint)
            rows.append(_outbox_row(source, item, customer.id, touchpoint))
    resolver.flush()
    outbox.write(session, source, rows)  # its subscribers keep orders and touchpoint codes


def _alias_keys(message: Message) -> list[tuple[str, str]]:
    if message.type != "alias" or not message.previous_id:
        return []
    return [(kind, message.previous_id) for kind in ("user_id", "anonymous_id")]


def _resolve(resolver: Resolver, item: Accepted) -> Customer:
    customer = resolver.resolve(item.raw_keys)
    if item.message.type == "alias" and item.message.previous_id:
        _alias(resolver, customer, item.message.previous_id)
    return customer


def _alias(resolver: Resolver, customer: Customer, previous_id: str) -> None:
    """alias(previousId → userId): the previous id's anonymous history joins this customer."""
    for kind in ("user_id", "anonymous_id"):
        owner = resolver.owner_of.get((kind, previous_id))
        if owner is not None:
            if owner != customer.id and not resolver.customer(owner).is_identified:
                resolver.merge(resolver.customer(owner), customer, "alias")
            return
    if ids.normalize("anonymous_id", previous_id):
        resolver._attach(customer, ("anonymous_id", previous_id))


def _touchpoint(message: Message) -> str | None:
    code = message.properties.get("touchpoint") or message.context.get("touchpoint")
    if code in (None, "") or isinstance(code, (dict, list)):
        return None
    return str(code).strip()[:128] or None


def _apply(customer: Customer, item: Accepted, touchpoint: str | None) -> None:
    ts, message = item.timestamp, item.message
    if message.type == "identify" and message.traits:
        customer.traits = {**(customer.traits or {}), **message.traits}
    # Only what the customer did moves their first and last seen and their touchpoints: a
    # message or a task the brand sends is not a visit (events/catalogue.py).
    if not is_customer_act(message.event, message.type):
        return
    if customer.first_seen_at is None or ts < customer.first_seen_at:
        customer.first_seen_at = ts
    if customer.last_seen_at is None or ts > customer.last_seen_at:
        customer.last_seen_at = ts
    if touchpoint:
        if customer.first_touch_at is None or ts < customer.first_touch_at:
            customer.first_touchpoint, customer.first_touch_at = touchpoint, ts
        if customer.last_touch_at is None or ts >= customer.last_touch_at:
            customer.last_touchpoint, customer.last_touch_at = touchpoint, ts


def _outbox_row(
    source: SourceRef, item: Accepted, customer_id: int, touchpoint: str | None
) -> dict[str, Any]:
    m = item.message
    return event_row(
        message_id=item.message_id,
        source=source.name,
        type=m.type,
        event=m.event,
        name=m.name,
        user_id=m.user_id,
        anonymous_id=m.anonymous_id,
        group_id=m.group_id,
        previous_id=m.previous_id,
        customer_id=customer_id,
        touchpoint=touchpoint,
        timestamp=item.timestamp,
        original_timestamp=as_utc(m.client_timestamp) if m.client_timestamp else None,
        sent_at=as_utc(m.sent_at) if m.sent_at else None,
        received_at=item.received_at,
        properties=m.properties,
        traits=m.traits,
        context=m.context,
    )
