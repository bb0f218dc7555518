"""The flash-sale bench's data (benchmarks/promotions.py): the databases, the sale and its mall
token, the crowd of customers, and the checks of what the database holds afterwards."""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

SALE = "bench-rush"
STOCK = 10_000_000  # far more than any run takes: nothing sells out
PER_CUSTOMER = 1


@dataclass
class Database:
    """Where both servers write: its URL, a folder for the lake and the logs, its version."""

    kind: str
    url: str
    folder: Path
    version: str


@contextmanager
def sqlite_database() -> Iterator[Database]:
    """A fresh SQLite file in a temporary folder, migrated."""
    from siyu.core import db

    with tempfile.TemporaryDirectory(prefix="siyu-bench-promotions-") as folder:
        url = f"sqlite:///{Path(folder) / 'siyu.db'}"
        db.upgrade(url)
        try:
            yield Database("SQLite", url, Path(folder), sqlite3.sqlite_version)
        finally:
            db.dispose_engines()


@contextmanager
def postgres_database(base_url: str) -> Iterator[Database]:
    """A schema of its own in the database named, migrated, and dropped afterwards (as the
    tests do), so a run neither meets nor leaves anything."""
    from sqlalchemy import create_engine, text

    from siyu.core import db

    schema = f"siyu_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
        version = conn.execute(text("SHOW server_version")).scalar_one().split()[0]
    url = f"{base_url}{'&' if '?' in base_url else '?'}options=-csearch_path%3D{schema}"
    try:
        db.upgrade(url)
        with tempfile.TemporaryDirectory(prefix="siyu-bench-promotions-") as folder:
            yield Database("PostgreSQL", url, Path(folder), version)
    finally:
        db.dispose_engines()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def open_sale(url: str) -> tuple[int, str]:
    """The live sale (through the product's own service) and a `mall` token's secret."""
    from siyu.core.auth import create_token
    from siyu.core.db import unit_of_work, utcnow
    from siyu.promotions import flash

    now = utcnow()
    with unit_of_work(url) as session:
        secret = create_token(session, "bench", "mall")[1]
        sale = flash.create_sale(
            session,
            SALE,
            "双十二 保温杯",
            "CUP-500",
            9900,
            STOCK,
            PER_CUSTOMER,
            now - timedelta(minutes=1),
            now + timedelta(days=1),
            list_price_fen=19900,
        )
        session.flush()
        return sale.id, secret


def add_customers(url: str, count: int) -> list[int]:
    """`count` new members in one multi-row insert (no Python object per customer); their ids."""
    from sqlalchemy import func, insert, select

    from siyu.core.db import table_of, unit_of_work, utcnow
    from siyu.customers.models import Customer

    table, now = table_of(Customer), utcnow()
    with unit_of_work(url) as session:
        since = session.scalar(select(func.max(table.c.id))) or 0
        rows = [
            {
                "traits": {"name": f"买家{since + n}"},
                "is_identified": True,
                "created_at": now,
                "updated_at": now,
            }
            for n in range(count)
        ]
        session.execute(insert(table), rows)
        return list(session.scalars(select(table.c.id).where(table.c.id > since).order_by("id")))


def wait_shipped(url: str, limit: float = 120.0) -> float:
    """Until Siyu's shipper has taken every outbox row to the lake; the seconds it took."""
    from sqlalchemy import text

    from siyu.core.db import get_engine

    started = time.monotonic()
    query = text("SELECT count(*) FROM outbox WHERE shipped_at IS NULL")
    with get_engine(url).connect() as conn:
        while conn.execute(query).scalar_one() and time.monotonic() - started < limit:
            conn.rollback()
            time.sleep(0.2)
    return time.monotonic() - started


CHECKS = {
    "held": "SELECT held FROM flash_sales WHERE id = :sale",
    "reservations": "SELECT count(*) FROM flash_reservations WHERE sale_id = :sale "
    "AND status = 'held'",
    "events": "SELECT count(*) FROM outbox WHERE event = 'Flash Sale Reserved'",
    "over_limit": "SELECT count(*) FROM (SELECT customer_id FROM flash_reservations "
    "WHERE sale_id = :sale GROUP BY customer_id HAVING sum(quantity) > :most) AS over",
    "counted_over": "SELECT count(*) FROM flash_buyers WHERE sale_id = :sale AND quantity > :most",
}


def sanity(url: str, sale_id: int, told: dict[str, int]) -> dict[str, Any]:
    """What the database holds against the 201s each side's client was given (`told`)."""
    from sqlalchemy import text

    from siyu.core.db import get_engine

    with get_engine(url).connect() as conn:
        found = {
            name: conn.execute(text(query), {"sale": sale_id, "most": PER_CUSTOMER}).scalar_one()
            for name, query in CHECKS.items()
        }
    checks = {
        "held = 201s of both": found["held"] == told["baseline"] + told["siyu"],
        "reservations = Siyu's 201s": found["reservations"] == told["siyu"],
        "events = Siyu's 201s": found["events"] == told["siyu"],
        "nobody over the limit": found["over_limit"] == found["counted_over"] == 0,
    }
    return {"told_201": told, "found": found, "checks": checks, "ok": all(checks.values())}
