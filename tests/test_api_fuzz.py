"""Schemathesis over the whole OpenAPI: no input, valid or not, makes the server answer 5xx.

Each operation gets a bounded number of generated requests (both schema-conforming and
deliberately wrong ones) against a throwaway database and lake, signed with an admin token (the
tracking API with a write key) so that the requests reach the code behind authentication, and
what the tracking API accepts is processed; WeCom and the official account are
configured, so their callbacks check signatures instead of answering "not configured"."""

from __future__ import annotations

import base64

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from siyu.app import create_app
from siyu.core.settings import reset_settings
from siyu.events.inbox import process_all

EXAMPLES = 40
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())


@pytest.fixture
def platforms(monkeypatch) -> None:
    for name, value in {
        "SIYU_WECOM_TOKEN": "fuzz-token",
        "SIYU_WECOM_AES_KEY": "a" * 43,
        "SIYU_WECOM_CORP_ID": "ww0123456789abcdef",
        "SIYU_WECHAT_TOKEN": "fuzz-token",
        "SIYU_WECHAT_APP_ID": "wx0123456789abcdef",
    }.items():
        monkeypatch.setenv(name, value)
    reset_settings()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same requests on every run: a CI failure reproduces
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_is_answered_with_a_server_error(case, admin_token, write_key, platforms):
    tracking = case.path.startswith("/v1/")
    signature = _basic(write_key) if tracking else f"Bearer {admin_token}"
    case.headers = {**(case.headers or {}), "authorization": signature}
    response = case.call_and_validate(checks=[not_a_server_error])
    if tracking and response.status_code == 200:
        # What the edge accepted, the processor applies (or keeps as a dead letter): it never
        # raises.
        process_all()


def _basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()
