"""The QR landing: a scan is counted with its code, touchpoint and device, then redirected."""

from __future__ import annotations

import orjson
from sqlalchemy import select

from siyu.codes.service import create_code
from siyu.core.db import unit_of_work
from siyu.events.models import OutboxEvent
from siyu.staff.routing import Route
from siyu.staff.service import create_staff, update_staff

IPHONE_WECHAT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0.44"


def _scans(session) -> list[OutboxEvent]:
    return list(session.scalars(select(OutboxEvent).where(OutboxEvent.event == "QR Code Scanned")))


def test_a_scan_is_recorded_and_redirected_to_the_target(client, session):
    with unit_of_work() as s:
        create_code(
            s, "Spring poster", code="sp-1", touchpoint="spring", target="https://mall.example/x"
        )
    response = client.get("/q/sp-1", headers={"User-Agent": IPHONE_WECHAT}, follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == "https://mall.example/x"
    (scan,) = _scans(session)
    properties = orjson.loads(scan.properties)
    assert scan.touchpoint == "spring"
    assert (properties["code"], properties["device"], properties["in_wechat"]) == (
        "sp-1",
        "iOS",
        True,
    )
    assert orjson.loads(scan.context)["userAgent"] == IPHONE_WECHAT
    # The same phone scanning again is the same anonymous visitor.
    client.get("/q/sp-1", follow_redirects=False)
    first, second = _scans(session)
    assert first.anonymous_id == second.anonymous_id


def test_a_contact_way_code_sends_the_phone_to_the_routed_guide(client, session):
    with unit_of_work() as s:
        guide = create_staff(s, "王芳", wecom_userid="wangfang")
        update_staff(s, guide.id, contact_way_url="https://work.weixin.qq.com/ca/wangfang")
        create_code(
            s,
            "Store code",
            code="st-1",
            target_kind="wecom_contact_way",
            target="https://work.weixin.qq.com/ca/store",
            routes=[Route(guide.id)],
        )
    response = client.get("/q/st-1", follow_redirects=False)
    assert response.headers["location"] == "https://work.weixin.qq.com/ca/wangfang"
    assert orjson.loads(_scans(session)[0].properties)["guide"] == "wangfang"


def test_an_unknown_code_is_a_404_and_records_nothing(client, session):
    assert client.get("/q/nope", follow_redirects=False).status_code == 404
    assert _scans(session) == []


def test_a_mini_program_path_is_shown_not_redirected(client):
    with unit_of_work() as s:
        create_code(s, "Menu", code="mp-1", target_kind="mini_program", target="pages/menu/index")
    response = client.get("/q/mp-1", follow_redirects=False)
    assert response.status_code == 200 and "pages/menu/index" in response.text
