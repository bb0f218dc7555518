"""Every request leaves one access-log line with a request id, which the response carries too."""

from __future__ import annotations

import logging


def _access_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "siyu.access"]


def test_each_request_is_logged_once_with_the_id_its_response_carries(client, caplog):
    caplog.set_level(logging.INFO, logger="siyu.access")
    response = client.get("/login?next=/customers%3Fq%3D13800138000")

    request_id = response.headers["x-request-id"]
    (line,) = _access_lines(caplog)
    assert line.startswith(f"GET /login {response.status_code} ")
    assert line.endswith(f"id={request_id}")
    assert "13800138000" not in line  # searches stay out of the log


def test_a_callers_request_id_is_kept_and_a_strange_one_replaced(client, caplog):
    caplog.set_level(logging.INFO, logger="siyu.access")
    kept = client.get("/login", headers={"X-Request-ID": "lb-7f3a.1"})
    replaced = client.get("/login", headers={"X-Request-ID": "a b\tc" * 30})

    assert kept.headers["x-request-id"] == "lb-7f3a.1"
    assert " " not in replaced.headers["x-request-id"]
    assert [line.rsplit("id=", 1)[1] for line in _access_lines(caplog)] == [
        "lb-7f3a.1",
        replaced.headers["x-request-id"],
    ]


def test_an_answer_the_edge_refuses_is_logged_too(client, caplog):
    caplog.set_level(logging.INFO, logger="siyu.access")
    response = client.post("/v1/batch", content=b"x" * 10, headers={"Content-Length": str(10**9)})

    assert response.status_code == 413
    (line,) = _access_lines(caplog)
    assert line.startswith("POST /v1/batch 413 ")
