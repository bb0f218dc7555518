"""A channel code's target is checked for its kind: a scanning phone is only ever sent to an
http(s) address (or shown a mini-program path), never to `javascript:`, `data:` or `ftp:`."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from siyu.cli import app
from siyu.codes.batch import create_batch
from siyu.codes.models import ChannelCode
from siyu.codes.service import check_target, create_code
from siyu.core.db import unit_of_work
from siyu.core.errors import InvalidInput
from tests.console_support import csrf_of

REFUSED = [
    ("url", "javascript:alert(document.cookie)"),
    ("url", "javascript://%0aalert(1)"),
    ("url", "JavaScript:alert(1)"),
    ("url", "data:text/html,<script>alert(1)</script>"),
    ("url", "ftp://files.example/x"),
    ("url", "vbscript:msgbox(1)"),
    ("url", "//evil.example/"),
    ("url", "https://"),
    ("url", "https://mall.example/a b"),
    ("url", "https://mall.example/\x00"),
    ("url", "http://[::1"),
    ("url", "https://mall.example/" + "a" * 1000),
    ("official_account_qr", "data:image/png;base64,AAAA"),
    ("wecom_contact_way", "weixin://contacts/profile/x"),
    ("mini_program", "javascript:alert(1)"),
    ("mini_program", "https://mall.example/"),
    ("mini_program", "pages/index/index#x"),
]
ACCEPTED = [
    ("url", "https://mall.example/poster?from=qr"),
    ("url", "http://shop.example:8080/"),
    ("official_account_qr", "http://weixin.qq.com/q/02abcdEFG"),
    ("wecom_contact_way", "https://work.weixin.qq.com/ca/cawcde123"),
    ("mini_program", "pages/index/index?from=qr&id=7"),
    ("mini_program", "/pages/goods/detail"),
    ("url", ""),
]


@pytest.mark.parametrize(("kind", "target"), REFUSED)
def test_a_target_outside_its_kind_is_refused_naming_the_field(kind, target):
    with pytest.raises(InvalidInput) as refused:
        check_target(kind, target)
    assert refused.value.field == "target" and refused.value.status == 400


@pytest.mark.parametrize(("kind", "target"), ACCEPTED)
def test_a_target_of_its_kind_is_taken(kind, target):
    check_target(kind, target)


def test_an_unknown_target_kind_names_its_field():
    with pytest.raises(InvalidInput) as refused:
        check_target("telnet", "https://mall.example/")
    assert refused.value.field == "target_kind"


def test_the_console_refuses_a_javascript_target_and_keeps_nothing(signed_in, session):
    client = signed_in("operator")
    page = client.get("/codes")
    refused = client.post(
        "/codes",
        data={
            "csrf_token": csrf_of(page.text),
            "name": "海报",
            "code": "evil",
            "target_kind": "url",
            "target": "javascript:alert(document.cookie)",
        },
    )
    assert refused.status_code == 400 and 'data-test="form-error"' in refused.text
    assert "http(s)" in refused.text
    assert session.scalar(select(func.count()).select_from(ChannelCode)) == 0


def test_the_cli_refuses_a_data_target_naming_the_field(session):
    result = CliRunner().invoke(
        app,
        ["codes", "create", "--name", "x", "--code", "x1", "--target", "data:text/html,hi"],
    )
    assert result.exit_code == 2 and "target" in result.output
    assert session.scalar(select(func.count()).select_from(ChannelCode)) == 0


def test_a_batch_refuses_an_ftp_target():
    with pytest.raises(InvalidInput) as refused, unit_of_work() as s:
        create_batch(s, "杯套", "cup", 3, target="ftp://files.example/")
    assert refused.value.field == "target"


def test_the_landing_never_redirects_to_another_scheme_even_if_one_was_stored(client):
    with unit_of_work() as s:
        create_code(s, "旧码", code="old", target="https://mall.example/")
        s.scalar(select(ChannelCode).where(ChannelCode.code == "old")).target = "javascript://x"
    answer = client.get("/q/old", follow_redirects=False)
    assert answer.status_code == 200 and "location" not in answer.headers
