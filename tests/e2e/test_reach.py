"""Reach in a browser: an operator builds a broadcast to a segment, watches the live preview
count who gets it and who is left out, sends it and reads its counts; a guide on a phone
(390 px) sees the 群发 handed to them and confirms it, and the operator reads each guide's
status.

The live server's channels log only (no WeCom is connected), so the guide's share is written
as the dispatcher writes one when it hands a 群发 to WeCom (GroupSend and its pending
deliveries), and the guide confirms it on Siyu's page."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from playwright.sync_api import expect
from sqlalchemy import select

from siyu.core.db import unit_of_work
from siyu.messaging.models import Delivery, GroupSend
from siyu.messaging.service import set_consent
from siyu.segments.models import SegmentMember
from siyu.segments.service import create_segment
from tests.helpers import wecom_broadcast


def _segment(brand) -> str:
    """Every customer of the brand; the first three subscribed to SMS."""
    now = datetime.now(UTC)
    with unit_of_work(brand.database) as s:
        segment = create_segment(s, "e2e-reach", "E2E 触达", {"tag": "VIP"})
        s.add_all(
            SegmentMember(segment_id=segment.id, customer_id=c, entered_at=now)
            for c in brand.customers.values()
        )
        segment.refreshed_at, segment.member_count = now, len(brand.customers)
        for uid in ("c-wang", "c-li", "c-zhao"):
            set_consent(
                s,
                brand.customers[uid],
                "sms",
                "subscribed",
                method="import",
                source="门店",
                actor="e2e",
            )
        return segment.key


def _share(brand) -> int:
    """A WeCom broadcast whose messages to 张导购's two customers wait for them to confirm."""
    mine = [brand.customers["c-wang"], brand.customers["c-li"]]
    msgid = f"msg-{uuid4().hex[:8]}"
    with unit_of_work(brand.database) as s:
        guide = brand.staff["zhang"]
        text = "会员日到店有礼，凭此消息领取小样一份。"
        made = wecom_broadcast(s, mine, guide, text, status="pending", provider_id=msgid)
        s.add(
            GroupSend(
                origin="broadcast", origin_id=made.id, guide_id=guide, msgid=msgid, recipients=2
            )
        )
        return made.id


def test_an_operator_builds_previews_and_sends_a_broadcast(console, brand):
    key = _segment(brand)
    console.sign_in(brand.admin)
    console.open("/reach")
    page = console.page
    page.click("[data-test=reach-broadcasts]")
    page.click("[data-test=new-broadcast]")
    page.fill("#b-name", "双十二会员日")
    page.select_option("#b-segment", key)
    page.select_option("#b-ch1", "sms")
    page.fill("#b-text-a", "{{ name }}，双十二会员日全场满 300 减 50。")
    # The live count: four in the segment, three subscribed to SMS, one without consent.
    expect(page.locator("[data-test=preview-total]")).to_have_text("4")
    expect(page.locator("[data-test=preview-planned]")).to_have_text("3")
    expect(page.locator("[data-test=reason-no_consent]")).to_have_text("1")
    expect(page.locator("[data-test=templates-ok]")).to_be_visible()
    # At 23:00 the quiet hours defer the messages to the morning.
    page.fill("#b-preview-at", "2026-12-12T23:00")
    expect(page.locator("[data-test=reason-deferred]")).to_have_text("3")
    # A variable nobody has is named before anything is sent.
    page.fill("#b-text-a", "{{ traits.vip_level }} 会员专享")
    expect(page.locator("[data-test=template-problems]")).to_contain_text("vip_level")
    console.shot("builder-template-problem")
    page.fill("#b-text-a", "{{ name }}，双十二会员日全场满 300 减 50。")
    page.fill("#b-preview-at", "")
    expect(page.locator("[data-test=template-problems]")).to_have_count(0)
    console.shot("builder-preview")
    console.submit("[data-test=send-broadcast]", "broadcast-sent")
    expect(page.locator("[data-test=done]")).to_be_visible()
    expect(page.locator("[data-test=count-planned]")).to_have_text("3")
    with unit_of_work(brand.database) as s:
        statuses = s.scalars(select(Delivery.status).where(Delivery.channel == "sms")).all()
    assert sorted(statuses).count("left_out") == 1 and len(statuses) == 4
    console.open("/reach/broadcasts")
    expect(page.locator("[data-test=broadcasts]")).to_contain_text("双十二会员日")
    console.open("/reach/channels")
    expect(page.locator("[data-test=channel-email] [data-test=missing]")).to_contain_text(
        "SIYU_SMTP_URL"
    )


def test_a_guide_confirms_their_group_send_on_a_phone(console, brand):
    broadcast_id = _share(brand)
    console.sign_in(brand.guide)
    page = console.page
    page.set_viewport_size({"width": 390, "height": 800})
    console.open("/reach")
    expect(page.locator("[data-test=share-text]").first).to_contain_text("会员日到店有礼")
    button = page.locator(f"#share-{_share_id(brand, broadcast_id)} [data-test=confirm-share]")
    box = button.bounding_box()
    assert box["x"] + box["width"] <= 390
    wide = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert wide[0] <= wide[1]
    with page.expect_navigation():
        button.click()
    console.shot("guide-confirmed")
    expect(page.locator("[data-test=done]")).to_be_visible()
    page.set_viewport_size({"width": 1280, "height": 800})
    console.sign_out()

    console.sign_in(brand.admin)
    console.open(f"/reach/broadcasts/{broadcast_id}")
    expect(page.locator("[data-test=guide-row]")).to_contain_text("张导购")
    expect(page.locator("[data-test=guide-status]")).to_have_text("已发送")
    expect(page.locator("[data-test=count-sent]")).to_have_text("2")
    expect(page.locator("[data-test=status]")).to_have_text("已发送")  # nothing waits
    console.page.click("[data-test=lang-switch]")
    page.wait_for_load_state()
    console.shot("broadcast-en")
    expect(page.locator("[data-test=guide-status]")).to_have_text("Sent")


def _share_id(brand, broadcast_id: int) -> int:
    with unit_of_work(brand.database) as s:
        return s.scalars(select(GroupSend.id).where(GroupSend.origin_id == broadcast_id)).one()
