"""What each WeCom callback does once its job runs, against the fake WeCom server."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from siyu.codes.service import create_code
from siyu.core.db import unit_of_work
from siyu.customers.models import Customer
from siyu.customers.service import customer_of
from siyu.events.models import OutboxEvent
from siyu.staff.handover import hand_over
from siyu.staff.models import GuideDailyAdds, HandoverMove, Staff
from siyu.staff.service import create_staff, create_store
from siyu.tags.models import Tag
from siyu.tags.service import tags_of
from siyu.wecom.models import LossAlert, TagLink, WecomCallback
from tests.wecom.conftest import added, run_jobs


@pytest.fixture
def shop(fake_wecom) -> dict:
    """A store, its manager and guide Zhang, and a poster code with tags and a welcome."""
    with unit_of_work() as s:
        store = create_store(s, "sh-01", "Shanghai Xintiandi")
        manager = create_staff(s, "Manager Wang", "manager", store.id, "wang")
        guide = create_staff(s, "Guide Zhang", "guide", store.id, "zhang")
        guide.manager_id = manager.id
        create_code(
            s,
            "Counter poster",
            code="poster-sh01",
            kind="poster",
            store_id=store.id,
            staff_id=guide.id,
            target_kind="wecom_contact_way",
            tag_names=["New guest", "Xintiandi"],
            welcome_message="Welcome to Shancha!",
        )
        ids = {"store": store.id, "manager": manager.id, "guide": guide.id}
    fake_wecom.state.add_tag("Source", "et-new-guest", "New guest")
    fake_wecom.state.add_contact("wm-lin", "Lin", "zhang", unionid="union-lin")
    return ids


def events_named(session, name: str) -> list[OutboxEvent]:
    return list(session.scalars(select(OutboxEvent).where(OutboxEvent.event == name)))


def props(event: OutboxEvent) -> dict:
    return json.loads(event.properties) if isinstance(event.properties, str) else event.properties


def test_add_attributes_owns_welcomes_and_tags(post_callback, session, shop, fake_wecom):
    post_callback(added("wm-lin", "zhang", state="poster-sh01", welcome="WELCOME-1"))
    assert run_jobs() == 2  # the callback, then the tag push it asks for
    customer = customer_of(session, "wecom_external_userid", "wm-lin")
    assert customer.owner_id == shop["guide"] and customer.store_id == shop["store"]
    assert customer.first_touchpoint == "poster-sh01"
    assert customer.traits["name"] == "Lin"
    assert customer_of(session, "wechat_unionid", "union-lin").id == customer.id
    assert {t["name"] for t in tags_of(session, [customer.id])[customer.id]} == {
        "New guest",
        "Xintiandi",
    }
    welcome = fake_wecom.state.calls_to("send_welcome_msg")
    assert [c.body for c in welcome] == [
        {"welcome_code": "WELCOME-1", "text": {"content": "Welcome to Shancha!"}}
    ]
    # the code's tags are marked in WeCom; the one WeCom lacked is created there first
    _, xintiandi = fake_wecom.state.tag_named("Xintiandi")
    assert fake_wecom.state.tags_on("wm-lin", "zhang") == {"et-new-guest", xintiandi}
    added_event = events_named(session, "Contact Added")[0]
    assert added_event.touchpoint == "poster-sh01"
    assert session.scalar(select(GuideDailyAdds.adds)) == 1
    assert session.scalar(select(WecomCallback.status)) == "done"


def test_two_customers_added_in_one_second_are_two_customers(post_callback, session, shop):
    post_callback(added("wm-lin", "zhang", state="poster-sh01", at=1764400000))
    post_callback(added("wm-zhou", "zhang", state="poster-sh01", at=1764400000))
    run_jobs()
    lin = customer_of(session, "wecom_external_userid", "wm-lin")
    zhou = customer_of(session, "wecom_external_userid", "wm-zhou")
    assert lin.id != zhou.id
    assert lin.owner_id == zhou.owner_id == shop["guide"]
    assert len(events_named(session, "Contact Added")) == 2


def test_a_replayed_add_records_one_contact(post_callback, session, shop, fake_wecom):
    fields = added("wm-lin", "zhang", state="poster-sh01", welcome="WELCOME-1")
    post_callback(fields)
    run_jobs()
    post_callback(fields)
    assert run_jobs() == 0
    assert len(events_named(session, "Contact Added")) == 1
    assert len(fake_wecom.state.calls_to("send_welcome_msg")) == 1


def test_an_unknown_guide_is_created_rather_than_the_customer_dropped(post_callback, session, shop):
    post_callback(added("wm-lin", "newbie", state="poster-sh01"))
    run_jobs()
    guide = session.scalar(select(Staff).where(Staff.wecom_userid == "newbie"))
    assert guide is not None and guide.needs_sync
    assert customer_of(session, "wecom_external_userid", "wm-lin").owner_id == guide.id


def test_an_add_without_a_known_code_still_records_the_contact(post_callback, session, shop):
    post_callback(added("wm-lin", "zhang", state="no-such-code"))
    run_jobs()
    customer = customer_of(session, "wecom_external_userid", "wm-lin")
    assert customer.owner_id == shop["guide"] and customer.first_touchpoint is None


def test_losses_alert_the_owner_and_the_manager(post_callback, session, shop):
    post_callback(added("wm-lin", "zhang", state="poster-sh01"))
    post_callback(
        {
            "CreateTime": 1764409999,
            "Event": "change_external_contact",
            "ChangeType": "del_follow_user",
            "UserID": "zhang",
            "ExternalUserID": "wm-lin",
        }
    )
    run_jobs()
    alert = session.scalar(select(LossAlert))
    assert (alert.kind, alert.staff_id, alert.manager_id) == (
        "del_follow_user",
        shop["guide"],
        shop["manager"],
    )
    assert alert.customer_id == customer_of(session, "wecom_external_userid", "wm-lin").id
    deleted = events_named(session, "Contact Deleted")[0]
    assert props(deleted)["by"] == "customer"


def test_group_joins_and_leaves_are_recorded(post_callback, session, shop, fake_wecom):
    chat = {
        "chat_id": "wr-tea",
        "name": "Tea lovers",
        "owner": "zhang",
        "create_time": 1,
        "member_list": [
            {"userid": "zhang", "type": 1, "join_time": 1, "join_scene": 1},
            {"userid": "wm-lin", "type": 2, "join_time": 1, "join_scene": 3},
        ],
    }
    fake_wecom.state.groups["wr-tea"] = chat
    base = {"Event": "change_external_chat", "ChatId": "wr-tea", "CreateTime": 1764400000}
    post_callback({**base, "ChangeType": "update", "UpdateDetail": "add_member", "CurMemVer": "1"})
    run_jobs()
    chat["member_list"] = chat["member_list"][:1]
    post_callback({**base, "ChangeType": "update", "UpdateDetail": "del_member", "CurMemVer": "2"})
    run_jobs()
    joined, left = events_named(session, "Group Joined"), events_named(session, "Group Left")
    assert [props(e)["group_name"] for e in joined + left] == ["Tea lovers", "Tea lovers"]
    lin = customer_of(session, "wecom_external_userid", "wm-lin")
    assert joined[0].customer_id == left[0].customer_id == lin.id


def test_a_corp_tag_renamed_in_wecom_is_renamed_here(post_callback, session, shop, fake_wecom):
    base = {"Event": "change_external_tag", "Id": "et-new-guest", "TagType": "tag"}
    post_callback({**base, "ChangeType": "create", "CreateTime": 1764400000})
    run_jobs()
    fake_wecom.state.tag_groups[0]["tag"][0]["name"] = "First visit"
    post_callback({**base, "ChangeType": "update", "CreateTime": 1764400100})
    run_jobs()
    link = session.scalar(select(TagLink))
    assert session.get(Tag, link.tag_id).name == "First visit"


def test_a_refused_transfer_goes_back_to_the_pool(post_callback, session, shop):
    post_callback(added("wm-lin", "zhang", state="poster-sh01"))
    run_jobs()
    with unit_of_work() as s:
        taker = create_staff(s, "Guide Li", "guide", shop["store"], "li")
        hand_over(s, shop["guide"], taker.id, "moving", "test")
    post_callback(
        {
            "CreateTime": 1764401000,
            "Event": "change_external_contact",
            "ChangeType": "transfer_fail",
            "FailReason": "customer_refused",
            "UserID": "li",
            "ExternalUserID": "wm-lin",
        }
    )
    run_jobs()
    move = session.scalar(select(HandoverMove))
    assert move.status == "refused"
    assert session.get(Customer, move.customer_id).owner_id == shop["guide"]
