"""Enterprise tags out to WeCom: tag changes made here reach the contact in (fake) WeCom through
the real client, created there first when WeCom lacks the tag, never echoed, never lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from siyu.cli import app
from siyu.core.db import unit_of_work, utcnow
from siyu.core.jobs import Job
from siyu.customers.service import customer_of
from siyu.events.service import record_told
from siyu.tags.models import CustomerTag, Tag
from siyu.tags.service import bulk_tag, ensure_tag, find_tag, tag_customer, untag_customer
from siyu.wecom import sync as wecom_sync
from siyu.wecom import tag_push
from siyu.wecom.client import get_client
from siyu.wecom.jobs import request_tag_push
from siyu.wecom.models import TagLink
from siyu.wecom.sync import Pacer, sync_customers
from tests.wecom.conftest import book_tick, run_jobs

EXTERNAL = "wecom_external_userid"


def quick_pacer(waits: list[float] | None = None) -> Pacer:
    return Pacer(per_minute=60_000, sleep=(waits.append if waits is not None else lambda _: None))


@pytest.fixture
def contacts(fake_wecom) -> dict[str, int]:
    """Guide zhang's contacts wm-a (tagged VIP in WeCom) and wm-b, guide li's wm-c, synced in;
    and a walk-in customer who is no WeCom contact. Customer ids by name."""
    fake_wecom.state.add_tag("Source", "et-vip", "VIP")
    fake_wecom.state.add_contact("wm-a", "Ann", "zhang", tag_ids=["et-vip"])
    fake_wecom.state.add_contact("wm-b", "Bob", "zhang")
    fake_wecom.state.add_contact("wm-c", "Cai", "li")
    with unit_of_work() as s:
        sync_customers(s, get_client(), quick_pacer())
    with unit_of_work() as s:
        record_told(
            s, "pos", "pos-1", {"name": "Walk-in"}, [{"type": "identify", "userId": "w1"}], utcnow()
        )
        ids = {name: customer_of(s, EXTERNAL, f"wm-{name}").id for name in "abc"}
        ids["walk-in"] = customer_of(s, "user_id", "w1").id
    fake_wecom.state.calls.clear()
    return ids


def push(**kwargs) -> tag_push.Pushed:
    with unit_of_work() as s:
        return tag_push.push_tags(s, get_client(), pacer=quick_pacer(), **kwargs)


def tag(customer_id: int, name: str, group: str = "enterprise") -> None:
    with unit_of_work() as s:
        s.info["actor"] = "user:op@brand.cn"
        tag_customer(s, customer_id, ensure_tag(s, name, group).id)


def untag(customer_id: int, name: str) -> None:
    with unit_of_work() as s:
        untag_customer(s, customer_id, find_tag(s, name).id, actor="user:op@brand.cn")


def test_a_tag_added_here_is_marked_on_the_contact_by_its_guide(contacts, fake_wecom):
    tag(contacts["b"], "VIP")
    tag(contacts["walk-in"], "VIP")  # no WeCom contact: nothing to send
    tag(contacts["c"], "Likes tea", group="life")  # not an enterprise tag: stays here
    pushed = push()
    assert fake_wecom.state.tags_on("wm-b", "zhang") == {"et-vip"}
    marked = [c.body for c in fake_wecom.state.calls_to("mark_tag")]
    assert marked == [
        {"userid": "zhang", "external_userid": "wm-b", "add_tag": ["et-vip"], "remove_tag": []}
    ]
    assert (pushed.changes, pushed.contacts, pushed.not_contacts) == (1, 1, 1)
    assert all(c.query["access_token"].startswith("fake-token") for c in fake_wecom.state.calls)
    assert push().changes == 0 and len(fake_wecom.state.calls_to("mark_tag")) == 1


def test_a_tag_removed_here_is_removed_in_wecom(contacts, fake_wecom):
    untag(contacts["a"], "VIP")  # the tag came from WeCom; the removal is ours
    push()
    assert fake_wecom.state.tags_on("wm-a", "zhang") == set()
    assert fake_wecom.state.calls_to("mark_tag")[0].body["remove_tag"] == ["et-vip"]


def test_bulk_tagging_is_pushed_to_every_contact(contacts, fake_wecom):
    with unit_of_work() as s:
        vip = find_tag(s, "VIP")
        assert bulk_tag(s, vip, [contacts["b"], contacts["c"]], actor="user:op@brand.cn") == 2
    assert push().changes == 2
    assert fake_wecom.state.tags_on("wm-b", "zhang") == {"et-vip"}
    assert fake_wecom.state.tags_on("wm-c", "li") == {"et-vip"}


def test_a_tag_added_and_removed_before_a_push_ends_up_off(contacts, fake_wecom):
    tag(contacts["b"], "VIP")
    untag(contacts["b"], "VIP")
    push()
    assert fake_wecom.state.tags_on("wm-b", "zhang") == set()
    assert [c.body["add_tag"] for c in fake_wecom.state.calls_to("mark_tag")] == [[]]


def test_a_new_enterprise_tag_is_created_in_wecom_first(contacts, fake_wecom):
    tag(contacts["a"], "Gold")
    untag(contacts["walk-in"], "Gold")  # nothing: the walk-in never had it
    tag(contacts["c"], "Gold")
    pushed = push()
    assert pushed.created == 1
    group, gold = fake_wecom.state.tag_named("Gold")
    assert group == "Siyu"
    paths = [c.path.rsplit("/", 1)[-1] for c in fake_wecom.state.calls]
    assert paths.index("add_corp_tag") < paths.index("mark_tag")
    assert fake_wecom.state.calls_to("add_corp_tag")[0].body == {
        "group_name": "Siyu",
        "tag": [{"name": "Gold"}],
    }
    assert fake_wecom.state.tags_on("wm-a", "zhang") == {"et-vip", gold}
    assert fake_wecom.state.tags_on("wm-c", "li") == {gold}
    with unit_of_work() as s:  # linked as the sync links WeCom's tags
        link = s.scalar(select(TagLink).where(TagLink.wecom_tag_id == gold))
        assert s.get(Tag, link.tag_id).name == "Gold"
    tag(contacts["b"], "Gold")
    push()
    assert len(fake_wecom.state.calls_to("add_corp_tag")) == 1
    assert fake_wecom.state.tags_on("wm-b", "zhang") == {gold}


def test_a_tag_wecom_has_by_name_is_linked_not_created_again(contacts, fake_wecom):
    fake_wecom.state.add_tag("Campaigns", "et-gold", "Gold")
    tag(contacts["b"], "Gold")
    with unit_of_work() as s:
        tag_push.set_group(s, "Brand tags")
    push()
    assert not fake_wecom.state.calls_to("add_corp_tag")
    assert fake_wecom.state.tags_on("wm-b", "zhang") == {"et-gold"}
    tag(contacts["b"], "Silver")
    push()
    assert fake_wecom.state.tag_named("Silver")[0] == "Brand tags"  # the group it was given


def test_changes_that_came_from_wecom_are_not_sent_back(contacts, fake_wecom, post_callback):
    assert push().changes == 0  # wm-a's VIP came in with the sync
    fake_wecom.state.follow("wm-b", "zhang")["tag_id"] = ["et-vip"]  # a guide tags in WeCom
    fake_wecom.state.follow("wm-b", "zhang")["tags"] = [fake_wecom.state._tag("et-vip")]
    edited = {
        "FromUserName": "sys",
        "CreateTime": 1764400100,
        "Event": "change_external_contact",
        "ChangeType": "edit_external_contact",
        "UserID": "zhang",
        "ExternalUserID": "wm-b",
    }
    assert post_callback(edited).status_code == 200
    assert run_jobs() == 2  # the callback, and the tag push it asks for
    with unit_of_work() as s:
        assert find_tag(s, "VIP").id in {t.tag_id for t in _tags(s, contacts["b"])}
    assert not fake_wecom.state.calls_to("mark_tag")
    assert not fake_wecom.state.calls_to("add_corp_tag")


def _tags(session, customer_id: int):
    return session.scalars(select(CustomerTag).where(CustomerTag.customer_id == customer_id))


def test_a_crash_before_the_position_is_saved_loses_nothing(contacts, fake_wecom, monkeypatch):
    tag(contacts["b"], "VIP")
    saving = tag_push.save_state

    def crash(session, state):
        raise RuntimeError("killed between the push and saving the position")

    monkeypatch.setattr(tag_push, "save_state", crash)
    with pytest.raises(RuntimeError, match="killed"):
        push()
    monkeypatch.setattr(tag_push, "save_state", saving)
    untag(contacts["b"], "VIP")  # changed again while the push was down
    tag(contacts["c"], "VIP")
    pushed = push()
    assert pushed.changes == 3  # the batch that was not saved, and what came after
    assert fake_wecom.state.tags_on("wm-b", "zhang") == set()
    assert fake_wecom.state.tags_on("wm-c", "li") == {"et-vip"}
    assert push().changes == 0  # saved now: nothing goes twice


def test_a_refused_call_midway_is_retried_from_the_saved_position(contacts, fake_wecom):
    tag(contacts["b"], "VIP")
    tag(contacts["c"], "VIP")
    fake_wecom.state.fail_next["externalcontact/mark_tag"] = [0, -1]  # -1: system busy
    with pytest.raises(Exception, match="-1"):
        push()
    relations = [("wm-b", "zhang"), ("wm-c", "li")]
    assert sorted(len(fake_wecom.state.tags_on(*r)) for r in relations) == [0, 1]
    assert push().changes == 2  # the whole batch again: the first is marked again, unchanged
    assert all(fake_wecom.state.tags_on(*r) == {"et-vip"} for r in relations)


def test_a_contact_wecom_no_longer_has_is_recorded_and_skipped(contacts, fake_wecom):
    del fake_wecom.state.follows["wm-b"]  # the customer deleted guide zhang
    tag(contacts["b"], "VIP")
    tag(contacts["c"], "VIP")
    tag(contacts["c"], "A name far longer than WeCom's thirty characters")
    pushed = push()
    assert fake_wecom.state.tags_on("wm-c", "li") == {"et-vip"}
    refused = {f.get("external_userid") or f.get("tag"): f["errcode"] for f in pushed.failures}
    assert refused == {"wm-b": 84061, "A name far longer than WeCom's thirty characters": None}
    assert not fake_wecom.state.calls_to("add_corp_tag")
    calls = len(fake_wecom.state.calls_to("mark_tag"))
    assert push().changes == 0 and len(fake_wecom.state.calls_to("mark_tag")) == calls
    status = CliRunner().invoke(app, ["wecom", "status", "--json"])
    assert '"failed": 1' in status.output and '"errcode": 84061' in status.output


def test_rate_limited_marks_wait_and_retry(contacts, fake_wecom):
    tag(contacts["b"], "VIP")
    fake_wecom.state.fail_next["externalcontact/mark_tag"] = [45009]
    waits: list[float] = []
    with unit_of_work() as s:
        pushed = tag_push.push_tags(s, get_client(), pacer=quick_pacer(waits))
    assert pushed.changes == 1 and wecom_sync.RATE_LIMIT_WAIT in waits
    assert fake_wecom.state.tags_on("wm-b", "zhang") == {"et-vip"}


def test_a_push_over_budget_says_there_is_more(contacts, fake_wecom):
    tag(contacts["b"], "VIP")
    tag(contacts["c"], "VIP")
    first = push(batch=1, budget=0.0001)
    assert first.has_more and first.changes <= 1
    assert push().changes + first.changes == 2


def test_a_tag_push_asked_for_runs_now(contacts, fake_wecom):
    tag(contacts["b"], "VIP")
    with unit_of_work() as s:
        request_tag_push(s)
    assert run_jobs() == 1
    assert fake_wecom.state.tags_on("wm-b", "zhang") == {"et-vip"}


def test_the_schedule_pushes_tag_changes_every_minute(contacts, fake_wecom):
    now = utcnow()
    tag(contacts["b"], "VIP")
    assert book_tick("wecom-tag-push", now - timedelta(minutes=1)) == 1
    assert run_jobs() == 1
    assert fake_wecom.state.tags_on("wm-b", "zhang") == {"et-vip"}
    tag(contacts["c"], "VIP")
    assert book_tick("wecom-tag-push", now) == 1  # the next minute's tick
    assert run_jobs() == 1
    assert fake_wecom.state.tags_on("wm-c", "li") == {"et-vip"}
    with unit_of_work() as s:
        rounds = s.scalars(select(Job.status).where(Job.kind == "wecom.tags")).all()
        assert rounds == ["done", "done"]


def test_the_cli_pushes_and_says_how_many(contacts, fake_wecom):
    tag(contacts["b"], "VIP")
    tag(contacts["walk-in"], "VIP")
    result = CliRunner().invoke(app, ["wecom", "push-tags"])
    assert result.exit_code == 0, result.output
    assert "pushed 1 tag changes to 1 WeCom contacts" in result.output
    assert fake_wecom.state.tags_on("wm-b", "zhang") == {"et-vip"}
    again = CliRunner().invoke(app, ["wecom", "push-tags", "--json"])
    assert '"changes": 0' in again.output
