"""The ingest load: realistic Segment batches made ahead of time, and a lean keep-alive client."""

from __future__ import annotations

import asyncio
import base64
import gzip
import random
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

EVENTS_PER_REQUEST = 100
MAX_ATTEMPTS = 10
USERS = 3000  # distinct people across the whole run
TRACKED = ("Product Viewed", "Product Added", "Coupon Claimed", "Checkout Started", "Video Played")
PAGES = ("Home", "Category", "Product", "Cart", "Member Center")
_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)


def _context(rng: random.Random, user: int) -> dict:
    return {
        "library": {"name": "analytics.js", "version": "4.1.0"},
        "ip": f"10.{user % 250}.{user // 250 % 250}.{rng.randrange(1, 250)}",
        "locale": "zh-CN",
        "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) MicroMessenger/8.0.47",
        "page": {"path": f"/p/{rng.randrange(500)}", "referrer": "https://mp.weixin.qq.com/"},
    }


def _payload(rng: random.Random, kind: str, user: int, serial: str) -> dict:
    if kind == "identify":
        return {
            "traits": {
                "phone": f"139{user:08d}",
                "email": f"user{user}@example.cn",
                "level": rng.choice(("silver", "gold")),
            }
        }
    if kind == "page":
        return {"name": rng.choice(PAGES), "properties": {"title": "私域 Mall"}}
    if rng.random() < 0.02:
        order = {"order_id": f"o-{serial}", "revenue": f"{rng.randrange(20, 900)}.00"}
        return {"event": "Order Completed", "properties": {**order, "currency": "CNY"}}
    sku = f"sku-{rng.randrange(2000):04d}"
    return {
        "event": rng.choice(TRACKED),
        "properties": {"sku": sku, "price": rng.randrange(9, 999)},
    }


def make_event(rng: random.Random, message_id: str, now: datetime) -> dict:
    """One identify/track/page call; a quarter of the people browse without logging in."""
    user = rng.randrange(USERS)
    kind = rng.choices(("track", "page", "identify"), weights=(6, 3, 1))[0]
    event = {
        "type": kind,
        "messageId": message_id,
        "anonymousId": f"anon-{user:05d}",
        "originalTimestamp": (now - timedelta(seconds=rng.random() * 30)).isoformat(),
        "context": _context(rng, user),
        **_payload(rng, kind, user, message_id),
    }
    if kind == "identify" or user % 4:
        event["userId"] = f"user-{user:05d}"
    return event


def make_bodies(count: int, tag: str, seed: int = 7) -> list[bytes]:
    """`count` gzipped /v1/batch bodies; messageIds are unique per `tag`."""
    rng = random.Random(f"{seed}-{tag}")
    now = datetime.now(UTC)
    bodies = []
    for n in range(count):
        events = [make_event(rng, f"{tag}-{n}-{i}", now) for i in range(EVENTS_PER_REQUEST)]
        raw = orjson.dumps({"batch": events, "sentAt": now.isoformat()})
        bodies.append(gzip.compress(raw, compresslevel=6))
    return bodies


@dataclass
class LoadResult:
    """What one load run saw: acknowledged events, failures, and each request's latency."""

    connections: int
    accepted: int = 0
    requests: int = 0
    errors: int = 0  # answers other than 200, and dropped connections
    failed: int = 0  # batches given up after MAX_ATTEMPTS
    elapsed: float = 0.0
    exhausted: bool = False
    latencies: list[float] = field(default_factory=list)

    @property
    def events_per_second(self) -> float:
        return self.accepted / self.elapsed if self.elapsed else 0.0

    def latency_ms(self, quantile: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return 0.0
        return 1000 * ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]


def request_head(port: int, write_key: str, length: int) -> bytes:
    auth = base64.b64encode(f"{write_key}:".encode()).decode()
    return (
        f"POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Basic {auth}\r\n"
        f"Content-Type: application/json\r\nContent-Encoding: gzip\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


class _Connection:
    """One keep-alive connection, reopened after the server drops it."""

    def __init__(self, port: int):
        self.port = port
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, request: bytes) -> tuple[int, bytes]:
        if self.streams is None:
            self.streams = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self.streams
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = _LENGTH.search(head)
            if length is None:
                raise ConnectionError(f"a response without Content-Length: {head[:200]!r}")
            return int(head[9:12]), await reader.readexactly(int(length.group(1)))
        except (OSError, asyncio.IncompleteReadError):
            self.close()
            return 0, b""

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


async def _send(connection: _Connection, request: bytes, result: LoadResult) -> None:
    """Send one batch, retrying a dropped connection or a 5xx as Segment's libraries do."""
    for attempt in range(MAX_ATTEMPTS):
        began = time.perf_counter()
        status, answer = await connection.post(request)
        result.latencies.append(time.perf_counter() - began)
        result.requests += 1
        if status == 200:
            result.accepted += orjson.loads(answer)["accepted"]
            return
        result.errors += 1
        if 400 <= status < 500:
            return
        await asyncio.sleep(0.05 * (attempt + 1))
    result.failed += 1


async def _connection(port: int, requests, deadline: float, result: LoadResult) -> None:
    connection = _Connection(port)
    try:
        while time.perf_counter() < deadline:
            request = next(requests, None)
            if request is None:
                result.exhausted = True
                return
            await _send(connection, request, result)
    finally:
        connection.close()


async def _run(port: int, requests: list[bytes], connections: int, seconds: float) -> LoadResult:
    result = LoadResult(connections)
    shared = iter(requests)
    began = time.perf_counter()
    deadline = began + seconds
    await asyncio.gather(*(_connection(port, shared, deadline, result) for _ in range(connections)))
    result.elapsed = time.perf_counter() - began
    return result


def run_load(
    port: int, write_key: str, bodies: list[bytes], connections: int, seconds: float
) -> LoadResult:
    """Post `bodies` on keep-alive `connections` until `seconds` pass or none is left."""
    requests = [request_head(port, write_key, len(body)) + body for body in bodies]
    try:
        from uvloop import run
    except ImportError:  # uvicorn[standard] brings uvloop; plain asyncio also works
        run = asyncio.run
    return run(_run(port, requests, connections, seconds))
