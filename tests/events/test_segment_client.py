"""A real Segment client library, pointed at a real `siyu serve`, delivers identify and track."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
import segment.analytics as analytics


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _siyu(*args: str, env: dict) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "siyu.cli", *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout


@pytest.fixture
def server(database_url, tmp_path):
    env = {
        **os.environ,
        "SIYU_DATABASE_URL": database_url,
        "SIYU_LAKE": str(tmp_path / "lake"),
        "SIYU_SHIPPER_INTERVAL_SECONDS": "0.2",
    }
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "siyu.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail(process.stderr.read().decode())
    yield base, env
    process.terminate()
    process.wait(timeout=10)


def test_segment_python_library_delivers_to_siyu(server):
    base, env = server
    key = _siyu("keys", "create", "--name", "mini-program", env=env).strip().splitlines()[-1]
    client = analytics.Client(
        write_key=key,
        host=base,
        gzip=True,
        sync_mode=True,
        max_retries=2,
        on_error=lambda e, batch: pytest.fail(str(e)),
    )
    client.identify(
        "member-8848",
        {"name": "陈静", "phone": "13812345678", "city": "上海"},
        anonymous_id="device-abc",
    )
    client.track(
        "member-8848",
        "Order Completed",
        {"order_id": "MP-1001", "revenue": 45.5, "touchpoint": "mp-home-banner"},
    )
    client.track(
        anonymous_id="device-abc", event="Product Viewed", properties={"product_id": "tea-7"}
    )
    client.flush()
    # Acknowledged events are applied by the server's inbox processor, a moment later: read the
    # customer once it has applied them (a `siyu` command now starts faster than that).
    deadline = time.monotonic() + 30
    while json.loads(_siyu("lake", "status", "--json", env=env))["received"]:
        assert time.monotonic() < deadline, "the inbox processor did not apply the events"
        time.sleep(0.2)

    view = json.loads(_siyu("customers", "show", "13812345678", "--json", env=env))
    assert view["traits"]["name"] == "陈静"
    assert {i["type"] for i in view["identities"]} == {"user_id", "anonymous_id", "phone"}
    assert view["order_summary"]["net_fen"] == 4550
    assert {e["event"] for e in view["latest_events"]} == {
        "Order Completed",
        "Product Viewed",
        None,
    }
    assert view["first_touchpoint"] == "mp-home-banner"
