"""A free event loop: while a slow segment preview runs, the tracking API and the WeCom callback
still answer at once. The real server (uvicorn on a loopback port, its own event loop) over a
lake on a far object store: every file opened waits, as an object store's first byte does."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import fsspec
import httpx
import pyarrow as pa
import pytest
import xmltodict
from fsspec.implementations.memory import MemoryFileSystem
from wechatpy.enterprise.crypto import WeChatCrypto

from siyu.app import create_app
from siyu.core.db import get_engine, write_lock
from siyu.core.lake import open_lake
from siyu.core.lake_schema import EVENTS_SCHEMA, SNAPSHOT_SCHEMAS
from siyu.core.settings import reset_settings
from siyu.events import inbox
from tests.conftest import PG_URL
from tests.console_support import csrf_of
from tests.helpers import serving, track
from tests.wecom.conftest import AES_KEY, CORP_ID, TOKEN, added, encrypted_post

FIRST_BYTE = 0.1  # seconds before a lake file opened gives its first byte
DAYS = 4  # daily event partitions, one file each: a preview opens each of them twice
PROMPT = 0.25  # an answer during the slow work comes within this share of the slow work's time
HOLD = 2.0  # seconds a long transaction holds SQLite's writer, or the store stalls
BURST = 16  # previews at once: more than SQLite's pool has connections (15)


class FarStore(MemoryFileSystem):
    """An object store far away (fsspec protocol farstore://): opening a file to read waits
    FIRST_BYTE. DuckDB reads the lake through it, as it reads s3:// through fsspec."""

    protocol = "farstore"
    store: dict = {}
    pseudo_dirs = [""]
    reading = threading.Event()  # set when a lake file is first opened to read
    first_byte = FIRST_BYTE
    reachable = threading.Event()  # cleared: the store stalls every read until it is set again
    reachable.set()

    @classmethod
    def _strip_protocol(cls, path):
        return super()._strip_protocol(path.removeprefix("farstore://"))

    def _open(self, path, mode="rb", **kwargs):
        if "r" in mode:
            FarStore.reading.set()
            time.sleep(FarStore.first_byte)
            FarStore.reachable.wait()
        return super()._open(path, mode, **kwargs)


fsspec.register_implementation(FarStore.protocol, FarStore, clobber=True)


@pytest.fixture
def far_lake(monkeypatch) -> Iterator[None]:
    """SIYU_LAKE on the far store: DAYS customers, each with an order on a day of their own."""
    folder = f"siyu-{uuid.uuid4().hex}"
    monkeypatch.setenv("SIYU_LAKE", f"farstore://{folder}/lake")
    reset_settings()
    lake, today = open_lake(), datetime.now(UTC)
    people = [{"customer_id": day + 1} for day in range(DAYS)]
    lake.write_atomic(
        pa.Table.from_pylist(people, SNAPSHOT_SCHEMAS["customers"]), "customers/1.parquet"
    )
    for day in range(DAYS):
        moment = today - timedelta(days=day + 1)
        row = dict.fromkeys(EVENTS_SCHEMA.names) | {"outbox_id": day + 1, "type": "track"}
        row |= {"event": "Order Completed", "customer_id": day + 1, "timestamp": moment}
        table = pa.Table.from_pylist([row], schema=EVENTS_SCHEMA)
        lake.write_atomic(table, f"events/date={moment.date().isoformat()}/part-{day}.parquet")
    FarStore.reading.clear()
    yield
    FarStore().rm(f"/{folder}", recursive=True)


@pytest.fixture
def wecom_settings(monkeypatch) -> None:
    for name, value in {
        "SIYU_WECOM_TOKEN": TOKEN,
        "SIYU_WECOM_AES_KEY": AES_KEY,
        "SIYU_WECOM_CORP_ID": CORP_ID,
    }.items():
        monkeypatch.setenv(name, value)
    reset_settings()


@pytest.fixture
def server(wecom_settings) -> Iterator[str]:
    with serving(create_app()) as (host, port):
        yield f"http://{host}:{port}"


def signed_in(server: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=server, timeout=60)
    page = client.get("/login")
    client.cookies.update(page.cookies)
    form = {"email": email, "password": "correct horse 42", "csrf_token": csrf_of(page.text)}
    answer = client.post("/login", data=form | {"next": "/"})
    assert answer.status_code == 303, answer.text
    client.cookies.update(answer.cookies)  # set by hand: a Secure cookie rides plain http too
    return client


def wecom_verify() -> dict:
    """The GET WeCom sends to check the callback URL: an encrypted echo string, signed."""
    crypto, nonce, timestamp = WeChatCrypto(TOKEN, AES_KEY, CORP_ID), "4242", str(int(time.time()))
    sealed = xmltodict.parse(crypto.encrypt_message("echo", nonce, timestamp))["xml"]
    return {
        "msg_signature": sealed["MsgSignature"],
        "timestamp": timestamp,
        "nonce": nonce,
        "echostr": sealed["Encrypt"],
    }


def calls(server: str, write_key: str) -> dict[str, Callable[[], httpx.Response]]:
    """What must answer during the preview, by name: each call sends something new."""
    client = httpx.Client(base_url=server, timeout=20)
    tracking = {"auth": (write_key, "")}
    serial = iter(range(1_000_000))

    def wecom_post() -> httpx.Response:
        query, body = encrypted_post(added(f"wm{next(serial)}", "zhang", at=int(time.time())))
        return client.post("/wecom/callback", params=query, content=body)

    return {
        "track": lambda: client.post("/v1/track", json=track("Product Viewed"), **tracking),
        "batch": lambda: client.post("/v1/batch", json={"batch": [track("X")]}, **tracking),
        "wecom GET": lambda: client.get("/wecom/callback", params=wecom_verify()),
        "wecom POST": wecom_post,
    }


def test_tracking_and_wecom_answer_while_a_slow_preview_runs(far_lake, server, users, write_key):
    reader = signed_in(server, users["analyst"])
    csrf = csrf_of(reader.get("/segments/new").text)
    rule = {"kind_0": "performed", "event_0": "Order Completed", "op_0": "gte", "n_0": "1"}
    previewed: dict = {}

    def preview() -> None:
        started = time.monotonic()
        previewed["answer"] = reader.post("/segments/preview", data={"csrf_token": csrf, **rule})
        previewed["seconds"], previewed["ended"] = time.monotonic() - started, time.monotonic()

    FarStore.reading.clear()
    running = threading.Thread(target=preview)
    running.start()
    assert FarStore.reading.wait(30), "the preview never read the lake"
    answered: list[tuple[str, float, float, int]] = []  # name, seconds, when, status
    sends = calls(server, write_key)
    while running.is_alive():
        for name, call in sends.items():
            started = time.monotonic()
            status = call().status_code
            answered.append((name, time.monotonic() - started, time.monotonic(), status))
    running.join()

    assert f'data-test="preview-count">{DAYS}<' in previewed["answer"].text
    seconds = previewed["seconds"]
    assert seconds >= 2, "the lake was not slow: this test shows nothing"
    during = [a for a in answered if a[2] < previewed["ended"]]
    assert {name for name, *_ in during} == {"track", "batch", "wecom GET", "wecom POST"}
    assert {status for *_, status in answered} == {200}
    slowest = max(answered, key=lambda a: a[1])
    assert slowest[1] < PROMPT * seconds, (slowest, seconds)


@pytest.mark.skipif(PG_URL is not None, reason="PostgreSQL has no one writer to wait for")
def test_a_request_waiting_for_sqlite_writer_holds_no_other(server, write_key):
    """A long transaction (the inbox processor's, a job's) holds SQLite's one writer: tracking
    requests wait for it, and meanwhile the WeCom callback's URL check still answers."""
    sends = calls(server, write_key)
    inbox.writer_wanted.clear()
    with ThreadPoolExecutor(1) as pool:
        with write_lock():
            held = time.monotonic()
            waiting = pool.submit(sends["track"])
            assert _wait_for(inbox.writer_wanted), "the request never asked for the writer"
            started = time.monotonic()
            checked = sends["wecom GET"]()
            took, released = time.monotonic() - started, time.monotonic()
            time.sleep(max(0.0, HOLD - (released - held)))
        assert waiting.result().status_code == 200
    assert checked.status_code == 200
    assert took < PROMPT * HOLD, took


@pytest.mark.skipif(PG_URL is not None, reason="PostgreSQL has no one writer to wait for")
def test_more_waiting_requests_than_pooled_connections_are_all_stored(server, write_key):
    """While a long transaction holds SQLite's writer, more tracking requests wait than the pool
    has connections (15): every one is answered and stored once the writer is free, and the
    waiting leaves no connection taken (before, each worker thread kept one for good, the pool
    ran dry, requests failed after 30 s and the processor could not get a connection)."""
    sends = calls(server, write_key)
    inbox.writer_wanted.clear()
    with ThreadPoolExecutor(BURST + 8) as pool:
        with write_lock():
            waiting = [pool.submit(sends["batch"]) for _ in range(BURST + 8)]
            assert _wait_for(inbox.writer_wanted), "no request asked for the writer"
            time.sleep(0.5)  # let the rest of the burst queue up behind the writer too
        answers = [future.result() for future in waiting]
    assert [a.status_code for a in answers] == [200] * len(answers)
    assert all(a.json()["accepted"] == 1 for a in answers)
    assert get_engine().pool.checkedout() <= 2  # the loop thread's own, the processor's


def _wait_for(event: threading.Event) -> bool:
    return event.wait(10)


def test_a_burst_of_previews_leaves_threads_for_the_wecom_callback(
    far_lake, server, users, monkeypatch
):
    """A preview on every keystroke, two analysts typing, while the lake's store stalls for HOLD
    seconds: more previews wait than there are database connections, and WeCom's callback (a
    plain `def` route) still gets a connection and a thread at once."""
    reader = signed_in(server, users["analyst"])
    csrf = csrf_of(reader.get("/segments/new").text)
    rule = {"kind_0": "performed", "event_0": "Order Completed", "op_0": "gte", "n_0": "1"}
    sends = calls(server, "unused")
    monkeypatch.setattr(FarStore, "first_byte", 0.0)

    def preview() -> httpx.Response:
        return reader.post("/segments/preview", data={"csrf_token": csrf, **rule})

    FarStore.reading.clear()
    FarStore.reachable.clear()
    try:
        with ThreadPoolExecutor(BURST) as pool:
            previews = [pool.submit(preview) for _ in range(BURST)]
            assert FarStore.reading.wait(30), "no preview read the lake"
            time.sleep(0.5)  # every preview has arrived, and waits for the store
            stall = threading.Timer(HOLD, FarStore.reachable.set)
            stall.start()
            started = time.monotonic()
            posted = sends["wecom POST"]()
            took = time.monotonic() - started
            stall.join()
            answers = [p.result() for p in previews]
    finally:
        FarStore.reachable.set()
    assert posted.status_code == 200
    assert took < PROMPT * HOLD, took
    assert all(f'data-test="preview-count">{DAYS}<' in a.text for a in answers)
