"""Request bodies are held to a size while they are read, before anyone is signed in or anything
is parsed: a few requests can no longer make the server hold a gigabyte."""

from __future__ import annotations

import asyncio
import select
import socket
from collections.abc import Iterator

import pytest

from siyu.app import create_app
from siyu.core.settings import reset_settings
from siyu.events.api import MAX_REQUEST_BYTES
from tests.console_support import csrf_of
from tests.helpers import serving

MB = 1024 * 1024
CHUNK = 64 * 1024


# --- the edge, driven as the server drives it (ASGI), so what is read can be counted -------


class Upload:
    """A client sending `total` bytes in chunks, counting what the app took from it."""

    def __init__(self, total: int, declared: bool, content_type: str = "application/json"):
        self.total, self.declared, self.taken = total, declared, 0
        self.content_type = content_type.encode()
        self.status: int | None = None
        self.body = b""

    def scope(self, path: str) -> dict:
        headers = [(b"host", b"testserver"), (b"content-type", self.content_type)]
        if self.declared:
            headers.append((b"content-length", str(self.total).encode()))
        return {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }

    async def receive(self) -> dict:
        chunk = min(CHUNK, self.total - self.taken)
        self.taken += chunk
        return {"type": "http.request", "body": b"x" * chunk, "more_body": self.taken < self.total}

    async def send(self, message: dict) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")


def _post(path: str, total: int, declared: bool, content_type: str = "application/json") -> Upload:
    upload = Upload(total, declared, content_type)
    asyncio.run(create_app()(upload.scope(path), upload.receive, upload.send))
    return upload


def test_a_declared_length_over_the_limit_is_refused_before_anything_is_read():
    upload = _post("/v1/batch", 300 * MB, declared=True)
    assert upload.status == 413 and upload.taken == 0
    assert b'"field":"body"' in upload.body and b"500 KB" in upload.body


def test_a_streamed_body_is_cut_off_at_the_limit_not_buffered():
    upload = _post("/v1/batch", 300 * MB, declared=False)
    assert upload.status == 413
    assert upload.taken <= MAX_REQUEST_BYTES + CHUNK


FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/login", FORM),
        ("/lang", FORM),
        ("/customers/1/tags", FORM),
        ("/api/customers/merge", "application/json"),
    ],
)
def test_every_route_refuses_a_streamed_body_past_the_limit_before_signing_in(path, content_type):
    """A form or JSON route: 413 from the edge, not a login redirect, a 400 or a 401."""
    upload = _post(path, 300 * MB, declared=False, content_type=content_type)
    assert upload.status == 413
    assert upload.taken <= MB + CHUNK


def test_a_body_within_the_limit_reaches_the_route(write_key):
    upload = _post("/v1/batch", 100 * 1024, declared=True)
    assert upload.status == 400 and b"not JSON" in upload.body  # the route read and parsed it


# --- through the test client: the answers a user sees ----------------------------------------


@pytest.fixture
def limits(monkeypatch):
    def set_limits(body: int, upload: int) -> None:
        monkeypatch.setenv("SIYU_MAX_BODY_BYTES", str(body))
        monkeypatch.setenv("SIYU_IMPORT_MAX_BYTES", str(upload))
        reset_settings()

    return set_limits


def test_a_console_user_sees_the_limit_on_a_page_in_their_language(signed_in, limits):
    limits(body=MB, upload=MB)
    client = signed_in("operator")
    token = csrf_of(client.get("/imports").text)
    refused = client.post(
        "/imports",
        data={"kind": "customers", "csrf_token": token},
        files={"file": ("big.csv", b"a,b\n" * (MB // 3), "text/csv")},
    )
    assert refused.status_code == 413
    assert "text/html" in refused.headers["content-type"]
    assert "请求大于 1 MB" in refused.text


def test_the_import_limit_is_its_own_setting(signed_in, limits):
    limits(body=MB, upload=4 * MB)
    client = signed_in("operator")
    token = csrf_of(client.get("/imports").text)
    rows = b"customer_id,name\n" + b"c-1,Ann\n" * (2 * MB // 8)
    taken = client.post(
        "/imports",
        data={"kind": "customers", "csrf_token": token},
        files={"file": ("big.csv", rows, "text/csv")},
        follow_redirects=False,
    )
    assert taken.status_code == 303, taken.text  # 2 MB: over the body limit, within the import's
    refused = client.post("/lang", data={"locale": "en", "pad": "x" * (2 * MB)})
    assert refused.status_code == 413


def test_a_machine_gets_json_naming_the_field(client, write_key):
    answer = client.post(
        "/v1/batch", content=b"{" + b" " * MAX_REQUEST_BYTES + b"}", auth=(write_key, "")
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["field"] == "body"


# --- a real server on a socket: the client is stopped, not drained ---------------------------


@pytest.fixture
def server() -> Iterator[tuple[str, int]]:
    with serving(create_app()) as address:
        yield address


def _answer_status(conn: socket.socket) -> int:
    conn.settimeout(10)
    head = conn.recv(4096)
    return int(head.split(b" ", 2)[1])


def test_the_server_answers_a_huge_declared_body_at_once(server):
    with socket.create_connection(server) as conn:
        conn.sendall(
            b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 314572800\r\n\r\n"
        )
        assert _answer_status(conn) == 413  # not one body byte sent


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n" % len(data) + data + b"\r\n"


def test_the_server_stops_a_huge_chunked_upload_early(server, limits):
    limits(body=MB, upload=2 * MB)
    sent, total, chunk = 0, 300 * MB, _chunk(b"x" * CHUNK)
    part = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
    with socket.create_connection(server) as conn:
        conn.sendall(
            b"POST /imports HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\n\r\n" + _chunk(part)
        )
        conn.setblocking(False)
        while sent < total and not select.select([conn], [], [], 0)[0]:
            try:
                sent += conn.send(chunk)
            except BlockingIOError:
                select.select([conn], [conn], [], 1)
            except (BrokenPipeError, ConnectionResetError):
                break
        conn.setblocking(True)
        assert _answer_status(conn) == 413
    # The 2 MB limit plus what the sockets buffer on the way: never the 300 MB offered.
    assert sent < 32 * MB
