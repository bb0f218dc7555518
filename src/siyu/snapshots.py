"""The lake's snapshot tables written from the OLTP tables of the domains that own them
(customers, identities, orders, touchpoints, tags), so analytics never reads OLTP.

It reads four domains' tables, so it sits above the domains: the shipper thread and the work that
needs fresh snapshots reach it through `core.lake.refresh_snapshots`, which `siyu.subscribers.wire`
hands it to. The tables' schemas are declared in core/lake_schema.py."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pyarrow as pa
from sqlalchemy import Result, func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.core import meta
from siyu.core.db import unit_of_work
from siyu.core.lake import SNAPSHOT_GRACE_SECONDS, Lake, open_lake
from siyu.core.lake_schema import SNAPSHOT_SCHEMAS
from siyu.customers.models import Customer, Identity
from siyu.orders.models import Order
from siyu.tags.models import CustomerTag, Tag
from siyu.touchpoints.models import Touchpoint, TouchpointCost

CHUNK = 100_000


# A snapshot table's rows as Arrow record batches of its declared schema.
Snapshot = Iterator[pa.RecordBatch]


def _customers(session: Session, schema: pa.Schema) -> Snapshot:
    cols = [
        Customer.id,
        Customer.merged_into_id,
        Customer.created_at,
        Customer.first_seen_at,
        Customer.last_seen_at,
        Customer.first_touchpoint,
        Customer.last_touchpoint,
        Customer.owner_id,
        Customer.store_id,
        Customer.is_identified,
        Customer.traits,
    ]

    def convert(row: Any) -> tuple[Any, ...]:
        *rest, traits = row
        return (*rest, orjson.dumps(traits or {}).decode())

    return _batches(session.execute(select(*cols).order_by(Customer.id)), schema, convert)


def _customer_map(session: Session, schema: pa.Schema) -> Snapshot:
    """Every customer id ever issued → the customer it now belongs to (merges followed)."""
    parent = dict(session.execute(select(Customer.id, Customer.merged_into_id)).all())

    def canonical(cid: int) -> int:
        seen = 0
        while (merged_into := parent.get(cid)) is not None and seen < 100:
            cid, seen = merged_into, seen + 1
        return cid

    ids = sorted(parent)
    batches = (
        pa.record_batch(
            [pa.array(chunk, pa.int64()), pa.array([canonical(c) for c in chunk], pa.int64())],
            schema=schema,
        )
        for chunk in (ids[i : i + CHUNK] for i in range(0, max(len(ids), 1), CHUNK))
    )
    return batches


def _identities(session: Session, schema: pa.Schema) -> Snapshot:
    rows = session.execute(select(Identity.type, Identity.value, Identity.customer_id))
    return _batches(rows, schema)


def _orders(session: Session, schema: pa.Schema) -> Snapshot:
    cols = [
        Order.order_id,
        Order.customer_id,
        Order.status,
        Order.amount_fen,
        Order.refunded_fen,
        Order.paid_at,
        Order.refunded_at,
        Order.store,
        Order.touchpoint,
        Order.source,
        Order.products,
    ]

    def convert(row: Any) -> tuple[Any, ...]:
        *rest, products = row
        return (*rest, orjson.dumps(products or []).decode())

    return _batches(session.execute(select(*cols).order_by(Order.id)), schema, convert)


def _touchpoints(session: Session, schema: pa.Schema) -> Snapshot:
    rows = session.execute(
        select(
            Touchpoint.code,
            Touchpoint.name,
            Touchpoint.group,
            Touchpoint.entry_type,
            Touchpoint.store_id,
            Touchpoint.owner_id,
            Touchpoint.is_registered,
        )
    )
    return _batches(rows, schema)


def _touchpoint_costs(session: Session, schema: pa.Schema) -> Snapshot:
    """What each paid touchpoint cost in each period: attribution's ROI reads it."""
    rows = session.execute(
        select(
            Touchpoint.code,
            TouchpointCost.period_start,
            TouchpointCost.period_end,
            TouchpointCost.cost_fen,
        )
        .join(Touchpoint, Touchpoint.id == TouchpointCost.touchpoint_id)
        .order_by(TouchpointCost.id)
    )
    return _batches(rows, schema)


def _batches(
    rows: Result[*tuple[Any, ...]],
    schema: pa.Schema,
    convert: Callable[[Any], tuple[Any, ...]] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Rows as Arrow record batches of CHUNK rows: never the whole table in memory."""
    empty = True
    for chunk in rows.yield_per(CHUNK).partitions():
        data = [convert(r) for r in chunk] if convert else chunk
        columns = list(zip(*data, strict=True))
        yield pa.record_batch(
            [pa.array(list(c), f.type) for c, f in zip(columns, schema, strict=True)],
            schema=schema,
        )
        empty = False
    if empty:
        yield pa.record_batch([pa.array([], f.type) for f in schema], schema=schema)


def _customer_tags(session: Session, schema: pa.Schema) -> Snapshot:
    rows = session.execute(
        select(CustomerTag.customer_id, Tag.name)
        .join(Tag, Tag.id == CustomerTag.tag_id)
        .order_by(CustomerTag.customer_id)
    )
    return _batches(rows, schema)


BUILDERS = {
    "customers": _customers,
    "customer_map": _customer_map,
    "identities": _identities,
    "orders": _orders,
    "touchpoints": _touchpoints,
    "touchpoint_costs": _touchpoint_costs,
    "customer_tags": _customer_tags,
}


def fingerprint(session: Session) -> dict[str, Any]:
    return {
        "customers": [
            session.scalar(select(func.count(Customer.id))),
            str(session.scalar(select(func.max(Customer.updated_at)))),
        ],
        "identities": session.scalar(select(func.max(Identity.id))),
        "orders": [
            session.scalar(select(func.count(Order.id))),
            str(session.scalar(select(func.max(Order.updated_at)))),
        ],
        "touchpoints": session.scalar(select(func.count(Touchpoint.id))),
        "touchpoint_costs": [
            session.scalar(select(func.count(TouchpointCost.id))),
            session.scalar(select(func.sum(TouchpointCost.cost_fen))),
        ],
        "customer_tags": [
            session.scalar(select(func.count()).select_from(CustomerTag)),
            str(session.scalar(select(func.max(CustomerTag.added_at)))),
        ],
    }


def write_snapshots(
    factory: sessionmaker[Session] | None = None, lake: Lake | None = None
) -> dict[str, int]:
    """Every snapshot table written now; the rows written by table."""
    return refresh(factory, lake, always=True) or {}


def _remove_replaced(lake: Lake, name: str, keep: str) -> None:
    """Older files of a snapshot, once no reader can still be on them (see Lake.snapshot)."""
    cutoff = time.time() - SNAPSHOT_GRACE_SECONDS
    for path in lake.files(name):
        if path != keep and lake.modified(path) < cutoff:
            lake.fs.rm(path)


def refresh(
    factory: sessionmaker[Session] | None = None,
    lake: Lake | None = None,
    *,
    always: bool = False,
) -> dict[str, int] | None:
    """The snapshot tables written if the OLTP fingerprint changed since the last ones, or
    `always`: the rows written by table, or None when nothing changed. The fingerprint is read
    once, in the transaction that reads the rows, so the one stored is the one they match.
    What `core.lake.refresh_snapshots` runs once wired (core.lake.SnapshotWriter)."""
    with unit_of_work(factory=factory) as session:
        print_ = fingerprint(session)
        if not always and meta.read(session, "lake.snapshot") == print_:
            return None
        lake = lake or open_lake()
        stamp = f"{time.time_ns():020d}"
        written: dict[str, int] = {}
        for name, build in BUILDERS.items():
            relative = f"{name}/snapshot-{stamp}.parquet"
            schema = SNAPSHOT_SCHEMAS[name]
            written[name] = lake.write_batches_atomic(schema, build(session, schema), relative)
            _remove_replaced(lake, name, keep=lake.path(relative))
        meta.write(session, "lake.snapshot", print_)
    return written
