"""The flash-sale baseline: Siyu's reservation route doing only the stock's one UPDATE.

`POST /api/flash-sales/{key}/reservations` with the same body model as Siyu's, a bearer token
checked against the mall tokens' hashes read at start (one SHA-256 per request, no query), and
`UPDATE flash_sales SET held = held + 1 WHERE id = ? AND held + sold + 1 <= stock` on the same
database, in autocommit: no reservation, no per-customer count, no event, no idempotency key.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

import orjson
import uvicorn
from fastapi import FastAPI, Header, Response
from sqlalchemy.engine import make_url

from siyu.promotions.flash_api import ReservationIn

TAKE_ONE = "UPDATE flash_sales SET held = held + 1 WHERE id = {p} AND held + sold + 1 <= stock"


def _sqlite(url: str) -> tuple[Callable[[int], int], Any]:
    """One connection, writers taking turns on a lock (as Siyu's do), SQLite set up as Siyu's."""
    conn = sqlite3.connect(
        make_url(url).database or "", isolation_level=None, check_same_thread=False
    )
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
        conn.execute(f"PRAGMA {pragma}")
    statement, lock = TAKE_ONE.format(p="?"), threading.Lock()

    def take(sale_id: int) -> int:
        with lock:
            return conn.execute(statement, (sale_id,)).rowcount

    return take, conn


def _postgres(url: str) -> tuple[Callable[[int], int], Any]:
    """A connection per worker thread, in autocommit: the UPDATE is the whole transaction."""
    import psycopg

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    statement, local = TAKE_ONE.format(p="%s"), threading.local()

    def take(sale_id: int) -> int:
        if not hasattr(local, "conn"):
            local.conn = psycopg.connect(conninfo, autocommit=True)
        return local.conn.execute(statement, (sale_id,)).rowcount

    return take, psycopg.connect(conninfo, autocommit=True)


def create_app(url: str) -> FastAPI:
    """The route, with the sales' ids and the mall tokens' hashes read once at start."""
    take, conn = _sqlite(url) if url.startswith("sqlite") else _postgres(url)
    sales = dict(conn.execute("SELECT key, id FROM flash_sales").fetchall())
    hashes = {
        row[0]
        for row in conn.execute(
            "SELECT token_hash FROM api_tokens WHERE role = 'mall' AND revoked_at IS NULL"
        ).fetchall()
    }
    app = FastAPI()

    @app.post("/api/flash-sales/{sale_key}/reservations")
    def reserve(sale_key: str, body: ReservationIn, authorization: str = Header("")) -> Response:
        secret = authorization[7:].strip().encode()
        if hashlib.sha256(secret).hexdigest() not in hashes:
            return _answer(401, {"success": False, "error": {"code": "unauthorized"}})
        if sale_key not in sales:
            return _answer(404, {"success": False, "error": {"code": "not_found"}})
        if take(sales[sale_key]) != 1:
            return _answer(409, {"success": False, "error": {"code": "sold_out"}})
        held = {"sale": sale_key, "customer": body.customer, "quantity": 1, "status": "held"}
        return _answer(201, held)

    return app


def _answer(status: int, body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = create_app(os.environ["SIYU_DATABASE_URL"])  # Siyu's own setting: the same database
    print(f"flash baseline serving on 127.0.0.1:{args.port} (pid {os.getpid()})", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
