"""Reach in the console: an operator builds a broadcast with its live preview, sends it and
follows it; every page reads in Chinese and English."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from siyu.broadcasts.models import Broadcast
from siyu.core.db import unit_of_work
from siyu.customers.service import find_customer
from siyu.events.service import ingest
from siyu.events.sources import internal_source
from siyu.messaging.models import Channel, Delivery, GroupSend, Suppression
from siyu.messaging.policy import describe, load_policy
from siyu.messaging.service import consent_of, set_consent
from siyu.segments.models import SegmentMember
from siyu.segments.service import create_segment
from siyu.tags.service import ensure_tag, tag_customer
from tests.console_support import csrf_of, error_beside
from tests.helpers import identify, wecom_broadcast

MONDAY = datetime(2026, 11, 30, 2, tzinfo=UTC)


def people() -> list[int]:
    """Four customers with phones in segment `vip` (tagged 金卡); 1-3 subscribed to SMS, the
    first without a name."""
    with unit_of_work() as s:
        events = [
            identify(f"c{n}", {"phone": f"1380000000{n}", **({"name": f"客户{n}"} if n else {})})
            for n in range(4)
        ]
        ingest(s, internal_source(s, "mall"), events, MONDAY)
        ids = [find_customer(s, f"c{n}").id for n in range(4)]
        gold = ensure_tag(s, "金卡").id
        for c in ids:
            tag_customer(s, c, gold, actor="test")
        for c in ids[:3]:
            set_consent(s, c, "sms", "subscribed", method="import", source="门店", actor="test")
        segment = create_segment(s, "vip", "VIP", {"tag": "金卡"})
        s.add_all(
            SegmentMember(segment_id=segment.id, customer_id=c, entered_at=MONDAY) for c in ids
        )
        segment.refreshed_at, segment.member_count = MONDAY, len(ids)
        return ids


def _form(csrf: str, **fields) -> dict:
    return {
        "csrf_token": csrf,
        "name": "双十二预热",
        "audience": "segment",
        "segment": "vip",
        "channel_1": "sms",
        "purpose": "marketing",
        "text_a": "双十二会员日，全场满 300 减 50",
        "holdout": "0",
        **fields,
    }


def test_the_builder_previews_who_gets_it_and_who_is_left_out(signed_in):
    people()
    operator = signed_in("operator")
    page = operator.get("/reach/broadcasts/new")
    assert page.status_code == 200 and 'data-test="builder"' in page.text
    csrf = csrf_of(page.text)
    preview = operator.post("/reach/broadcasts/preview", data=_form(csrf))
    assert 'data-test="preview-total">4<' in preview.text
    assert 'data-test="preview-planned">3<' in preview.text
    assert 'data-test="reason-no_consent">1<' in preview.text
    # At 23:00 in Shanghai, inside the default quiet hours: deferred, still counted.
    night = operator.post(
        "/reach/broadcasts/preview", data=_form(csrf, preview_at="2026-12-06T23:00")
    )
    assert 'data-test="reason-deferred"' in night.text
    # A variable one customer lacks is named before anything is sent.
    named = operator.post("/reach/broadcasts/preview", data=_form(csrf, text_a="{{ name }}，您好"))
    assert 'data-test="template-problems"' in named.text and "name" in named.text
    # An incomplete form says what is missing; nothing was written by any preview.
    empty = operator.post("/reach/broadcasts/preview", data=_form(csrf, segment=""))
    assert "preview-incomplete" in empty.text or "error" in empty.text
    with unit_of_work() as s:
        assert s.scalars(select(Broadcast)).all() == []


def test_an_operator_saves_a_draft_then_sends_it_and_reads_its_counts(signed_in):
    people()
    operator = signed_in("operator")
    csrf = csrf_of(operator.get("/reach/broadcasts/new").text)
    made = operator.post(
        "/reach/broadcasts", data=_form(csrf, action="draft"), follow_redirects=False
    )
    assert made.status_code == 303, made.text
    draft = operator.get(made.headers["location"])
    assert (
        'data-test="draft-preview"' in draft.text and 'data-test="preview-planned">3<' in draft.text
    )
    url = made.headers["location"].split("?")[0]
    sent = operator.post(f"{url}/send", data={"csrf_token": csrf}, follow_redirects=False)
    assert sent.status_code == 303
    page = operator.get(sent.headers["location"])
    assert 'data-test="count-planned">3<' in page.text
    with unit_of_work() as s:
        assert len(s.scalars(select(Delivery).where(Delivery.status == "planned")).all()) == 3
    listed = operator.get("/reach/broadcasts")
    assert "双十二预热" in listed.text
    cancelled = operator.post(f"{url}/cancel", data={"csrf_token": csrf}, follow_redirects=False)
    assert cancelled.status_code == 303
    again = operator.post(f"{url}/cancel", data={"csrf_token": csrf})
    assert 'data-test="action-error"' in again.text


def test_the_builder_names_a_bad_field_beside_it(signed_in):
    people()
    operator = signed_in("operator")
    csrf = csrf_of(operator.get("/reach/broadcasts/new").text)
    refused = operator.post(
        "/reach/broadcasts", data=_form(csrf, holdout="80", action="send"), follow_redirects=False
    )
    assert refused.status_code == 400
    assert error_beside(refused.text, "holdout")
    unknown = operator.post(
        "/reach/broadcasts",
        data=_form(csrf, audience="tags", tags_any="没有这个标签", action="draft"),
        follow_redirects=False,
    )
    assert unknown.status_code == 400 and error_beside(unknown.text, "tags_any")


def test_reach_pages_read_in_both_languages_and_an_analyst_only_reads(signed_in):
    people()
    analyst = signed_in("analyst")
    home = analyst.get("/reach")
    assert home.status_code == 200 and "群发" in home.text
    assert 'href="/reach/broadcasts"' in home.text
    listed = analyst.get("/reach/broadcasts")
    assert 'data-test="new-broadcast"' not in listed.text
    assert analyst.get("/reach/broadcasts/new").status_code == 403
    assert signed_in("guide").get("/reach/broadcasts").status_code == 403


def test_channels_say_what_a_live_channel_needs_and_take_caps_and_quiet_hours(signed_in):
    admin = signed_in("admin")
    page = admin.get("/reach/channels")
    assert page.status_code == 200
    assert "SIYU_SMTP_URL" in page.text and "SIYU_WECOM_CORP_ID" in page.text
    csrf = csrf_of(page.text)
    saved = admin.post(
        "/reach/channels/sms",
        data={"csrf_token": csrf, "mode": "live", "provider": "aliyun", "sign_name": "思语"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    with unit_of_work() as s:
        row = s.get(Channel, "sms")
        assert (row.mode, row.provider, row.config["sign_name"]) == ("live", "aliyun", "思语")
    assert "SIYU_ALIYUN_ACCESS_KEY_ID" in admin.get("/reach/channels").text
    bad = admin.post("/reach/channels-caps", data={"csrf_token": csrf, "cap_all_day": "lots"})
    assert bad.status_code == 400 and error_beside(bad.text, "cap_all_day")
    caps = admin.post(
        "/reach/channels-caps",
        data={"csrf_token": csrf, "cap_all_day": "2", "cap_sms_month": "1"},
        follow_redirects=False,
    )
    assert caps.status_code == 303
    quiet = admin.post(
        "/reach/channels-quiet",
        data={"csrf_token": csrf, "quiet_all_start": "22:00", "quiet_all_end": "08:30"},
        follow_redirects=False,
    )
    assert quiet.status_code == 303
    with unit_of_work() as s:
        current = describe(load_policy(s))
    assert {"channel": "sms", "period": "month", "max": 1} in current["caps"]
    assert current["quiet_hours"] == [{"channel": None, "start": "22:00", "end": "08:30"}]
    wrong = admin.post(
        "/reach/channels-quiet", data={"csrf_token": csrf, "quiet_sms_start": "25:00"}
    )
    assert wrong.status_code == 400 and error_beside(wrong.text, "quiet_sms_start")
    assert signed_in("analyst").get("/reach/channels").status_code == 403


def test_consent_is_looked_up_set_imported_and_addresses_suppressed(signed_in):
    ids = people()
    operator = signed_in("operator")
    page = operator.get("/reach/consent", params={"q": "13800000000"})
    assert page.status_code == 200 and 'data-test="consent"' in page.text
    csrf = csrf_of(page.text)
    saved = operator.post(
        f"/reach/consent/{ids[0]}",
        data={
            "csrf_token": csrf,
            "channel": "email",
            "status": "subscribed",
            "source": "门店登记表",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    shown = operator.get(saved.headers["location"])
    assert 'data-test="consent-history"' in shown.text and "门店登记表" in shown.text
    missing = operator.post(
        f"/reach/consent/{ids[0]}",
        data={"csrf_token": csrf, "channel": "email", "status": "subscribed"},
    )
    assert missing.status_code == 400 and error_beside(missing.text, "source")
    imported = operator.post(
        "/reach/consent-import",
        data={"csrf_token": csrf, "channel": "email", "source": "会员活动"},
        files={"file": ("c.csv", b"phone\n13800000001\n13800000002\n19999999999\n", "text/csv")},
    )
    assert 'data-test="imported"' in imported.text and "19999999999" in imported.text
    with unit_of_work() as s:
        assert consent_of(s, ids[1])["email"].status == "subscribed"
    added = operator.post(
        "/reach/suppressions",
        data={"csrf_token": csrf, "channel": "sms", "address": "13800000003", "source": "投诉"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    listed = operator.get("/reach/consent")
    assert 'data-test="suppressions"' in listed.text and "投诉" in listed.text
    bad = operator.post(
        "/reach/suppressions", data={"csrf_token": csrf, "channel": "sms", "address": "不是号码"}
    )
    assert bad.status_code == 400 and error_beside(bad.text, "address")
    with unit_of_work() as s:
        row_id = s.scalars(select(Suppression.id)).one()
    lifted = operator.post(
        f"/reach/suppressions/{row_id}/remove", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert lifted.status_code == 303
    with unit_of_work() as s:
        assert s.scalars(select(Suppression)).all() == []
    analyst = signed_in("analyst")
    read_only = analyst.get("/reach/consent", params={"q": str(ids[0])})
    assert (
        'data-test="consent"' in read_only.text and 'data-test="set-consent"' not in read_only.text
    )


def _wecom_share(users) -> tuple[int, list[int]]:
    """A broadcast on WeCom whose two customers' messages wait for Guide Zhang's 群发."""
    ids = people()[:2]
    with unit_of_work() as s:
        guide = users["guide_staff_id"]
        made = wecom_broadcast(
            s, ids, guide, "会员日到店有礼", status="pending", provider_id="console-msg"
        )
        share = GroupSend(
            origin="broadcast", origin_id=made.id, guide_id=guide, msgid="console-msg", recipients=2
        )
        s.add(share)
        s.flush()
        return made.id, [share.id]


def test_a_guide_sees_their_group_send_and_confirms_it_without_wecom(signed_in, users):
    broadcast_id, (share_id,) = _wecom_share(users)
    operator = signed_in("operator")
    page = operator.get(f"/reach/broadcasts/{broadcast_id}")
    assert 'data-test="guide-status"' in page.text and "Guide Zhang" in page.text
    assert 'data-test="remind"' in page.text

    guide = signed_in("guide")
    assert guide.get("/reach", follow_redirects=False).headers["location"] == "/reach/my"
    mine = guide.get("/reach/my")
    assert "会员日到店有礼" in mine.text and 'data-test="confirm-share"' in mine.text
    done = guide.post(
        f"/reach/my/{share_id}/confirm",
        data={"csrf_token": csrf_of(mine.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    with unit_of_work() as s:
        statuses = s.scalars(
            select(Delivery.status).where(Delivery.origin_id == broadcast_id)
        ).all()
    assert statuses == ["sent", "sent"]
    after = guide.get("/reach/my")
    assert 'data-test="confirm-share"' not in after.text
    missing = guide.post("/reach/my/999999/confirm", data={"csrf_token": csrf_of(after.text)})
    assert missing.status_code == 404
    with unit_of_work() as s:
        assert s.get(GroupSend, share_id).status == "sent"
    followed = signed_in("operator").get(f"/reach/broadcasts/{broadcast_id}")
    assert 'data-test="guide-status">已发送<' in followed.text
    assert 'data-test="remind"' not in followed.text


def test_the_360_shows_a_customers_messages_and_consent(signed_in, users):
    broadcast_id, _ = _wecom_share(users)
    with unit_of_work() as s:
        customer_id = s.scalars(select(Delivery.customer_id).order_by(Delivery.id)).first()
    operator = signed_in("operator")
    page = operator.get(f"/customers/{customer_id}")
    assert f'hx-get="/reach/customers/{customer_id}"' in page.text
    card = operator.get(f"/reach/customers/{customer_id}", headers={"HX-Request": "true"})
    assert 'data-test="message-history"' in card.text
    assert f'href="/reach/broadcasts/{broadcast_id}"' in card.text
    assert 'data-test="customer-consent"' in card.text and "<!doctype" not in card.text
    whole = operator.get(f"/reach/customers/{customer_id}")
    assert "<!doctype" in whole.text and 'data-test="message-history"' in whole.text
    assert signed_in("guide").get(f"/reach/customers/{customer_id}").status_code == 403


def test_without_wecom_a_broadcast_waits_for_the_guide_who_confirms_it_on_their_page(
    signed_in, users
):
    from siyu.broadcasts import service as broadcasts

    broadcast_id = _console_broadcast(users, "会员日到店有礼")
    with unit_of_work() as s:
        assert broadcasts.finish_settled(s) == []  # the guide has not sent it yet
        share_id = s.scalars(select(GroupSend.id).where(GroupSend.origin_id == broadcast_id)).one()

    admin = signed_in("admin")
    page = admin.get(f"/reach/broadcasts/{broadcast_id}")
    reminded = admin.post(
        f"/reach/broadcasts/{broadcast_id}/remind", data={"csrf_token": csrf_of(page.text)}
    )
    assert "done=reminded" in str(reminded.url)  # no WeCom to ask: the guide's page says it

    guide = signed_in("guide")
    mine = guide.get("/reach/my")
    assert "会员日到店有礼" in mine.text and 'data-test="confirm-share"' in mine.text
    assert 'data-test="reminded"' in mine.text and "总部已于" in mine.text
    guide.post(f"/reach/my/{share_id}/confirm", data={"csrf_token": csrf_of(mine.text)})

    with unit_of_work() as s:
        statuses = s.scalars(select(Delivery.status).where(Delivery.origin_id == broadcast_id))
        assert list(statuses) == ["sent", "sent"]
        assert s.get_one(GroupSend, share_id).status == "sent"
        # The last guide's confirmation finished it: the minute job has nothing left to do.
        assert s.get_one(Broadcast, broadcast_id).status == "sent"
        assert broadcasts.finish_settled(s) == []


def test_a_guide_sends_each_customer_the_text_rendered_for_them_not_the_template(signed_in, users):

    _console_broadcast(users, "{{ name | default('您') }}，会员日到店有礼", names=("小林", "阿梅"))

    mine = signed_in("guide").get("/reach/my").text
    assert "{{" not in mine
    assert "小林，会员日到店有礼" in mine and "阿梅，会员日到店有礼" in mine
    assert mine.count('data-test="copy-share"') == 2  # one text each, each copied on its own


def test_a_broadcast_names_its_segment_and_its_tag_filter_in_the_readers_words(signed_in):
    from siyu.broadcasts import service as broadcasts

    people()
    with unit_of_work() as s:
        ensure_tag(s, "沉睡")
        create_segment(s, "high-value", "高价值会员", {"tag": "金卡"})
        by_segment = broadcasts.create(
            s,
            name="会员日",
            actor="test",
            channels=["sms"],
            variants=[broadcasts.VariantSpec(text="会员日")],
            segment_key="high-value",
        ).id
        by_tags = broadcasts.create(
            s,
            name="沉睡召回",
            actor="test",
            channels=["sms"],
            variants=[broadcasts.VariantSpec(text="回来看看")],
            tag_filter={"any": ["沉睡"], "none": ["金卡"]},
        ).id
    operator = signed_in("operator")
    listed = operator.get("/reach/broadcasts").text
    assert "高价值会员" in listed and "high-value" not in listed
    detail = operator.get(f"/reach/broadcasts/{by_segment}").text
    assert "高价值会员" in detail and "high-value" not in detail
    tags = operator.get(f"/reach/broadcasts/{by_tags}").text
    assert "含任一标签 沉睡" in tags and "不含标签 金卡" in tags


def _console_broadcast(users, text: str, names: tuple[str, ...] = ()) -> int:
    """A broadcast of `text` to two customers through the guide's WeCom share, dispatched with
    WeCom not connected (the channel in console mode); the customers named `names` if given."""
    from siyu.customers.models import Customer
    from siyu.messaging import dispatch
    from siyu.staff.models import Staff

    ids = people()[:2]
    with unit_of_work() as s:
        s.get_one(Staff, users["guide_staff_id"]).wecom_userid = "zhang"
        for cid, name in zip(ids, names, strict=False):
            customer = s.get_one(Customer, cid)
            customer.traits = {**(customer.traits or {}), "name": name}
        made = wecom_broadcast(s, ids, users["guide_staff_id"], text, send_at=MONDAY)
        dispatch.dispatch_channel(s, "wecom", dispatch.senders(s)["wecom"])
        return made.id


def test_a_broadcast_hands_out_the_coupon_chosen_in_the_builder(signed_in):
    from siyu.promotions import service as promotions
    from siyu.promotions.models import Coupon

    people()
    with unit_of_work() as s:
        promotions.create_template(
            s, "fans-20", "粉丝 20 元券", "amount", amount_fen=2000, valid_days=7
        )
    operator = signed_in("operator")
    builder = operator.get("/reach/broadcasts/new")
    assert 'value="fans-20"' in builder.text  # an active template is offered
    csrf = csrf_of(builder.text)
    refused = operator.post(
        "/reach/broadcasts", data=_form(csrf, coupon="gone", action="draft"), follow_redirects=False
    )
    assert refused.status_code == 400 and error_beside(refused.text, "coupon")
    made = operator.post(
        "/reach/broadcasts",
        data=_form(csrf, coupon="fans-20", action="send"),
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    page = operator.get(made.headers["location"])
    assert 'data-test="broadcast-coupon"' in page.text and "3 张已发放" in page.text
    with unit_of_work() as s:
        assert len(s.scalars(select(Coupon)).all()) == 3
