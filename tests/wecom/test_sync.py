"""The full re-sync: every guide's customers, paged, resumable, within WeCom's rate limits."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from siyu.core.db import session_factory
from siyu.customers.models import Customer
from siyu.customers.service import customer_of
from siyu.staff.models import Staff
from siyu.tags.service import tags_of
from siyu.wecom import sync as wecom_sync
from siyu.wecom.client import get_client
from siyu.wecom.models import SyncRun
from siyu.wecom.sync import Pacer, sync_customers


@pytest.fixture
def contacts(fake_wecom, monkeypatch):
    """Guide zhang with 5 customers, guide li with 2; pages of 2."""
    monkeypatch.setattr(wecom_sync, "PAGE_SIZE", 2)
    fake_wecom.state.add_tag("Source", "et-vip", "VIP")
    for n in range(5):
        fake_wecom.state.add_contact(f"wm-z{n}", f"Zhang's {n}", "zhang", tag_ids=["et-vip"])
    for n in range(2):
        fake_wecom.state.add_contact(f"wm-l{n}", f"Li's {n}", "li", unionid=f"union-l{n}")
    return fake_wecom


def quick_pacer(waits: list[float] | None = None) -> Pacer:
    return Pacer(per_minute=60_000, sleep=(waits.append if waits is not None else lambda _: None))


def test_sync_brings_every_guides_customers_with_owner_and_tags(contacts):
    with session_factory()() as session:
        run = sync_customers(session, get_client(), quick_pacer())
        assert (run.status, run.customers, run.user_index) == ("done", 7, 2)
        li = session.scalar(select(Staff).where(Staff.wecom_userid == "li"))
        customer = customer_of(session, "wecom_external_userid", "wm-l1")
        assert customer.owner_id == li.id and customer.traits["name"] == "Li's 1"
        assert customer_of(session, "wechat_unionid", "union-l1").id == customer.id
        zhang0 = customer_of(session, "wecom_external_userid", "wm-z0")
        assert [t["name"] for t in tags_of(session, [zhang0.id])[zhang0.id]] == ["VIP"]
    # 1 user list + 1 tag list + 3 pages for zhang + 1 for li
    assert len(contacts.state.calls_to("batch/get_by_user")) == 4


def test_a_stopped_sync_resumes_at_its_page(contacts):
    contacts.state.fail_next["externalcontact/batch/get_by_user"] = [0, 0, 60011]
    with session_factory()() as session, pytest.raises(Exception, match="60011"):
        sync_customers(session, get_client(), quick_pacer())
    # li's page and zhang's first page are kept; zhang's second page was refused
    with session_factory()() as session:
        stopped = session.scalar(select(SyncRun))
        assert (stopped.status, stopped.customers, stopped.user_index, stopped.cursor) == (
            "failed",
            4,
            1,
            "2",
        )
        run = sync_customers(session, get_client(), quick_pacer())
        assert (run.id, run.status, run.customers) == (stopped.id, "done", 7)
        assert session.scalar(select(func.count()).select_from(Customer)) == 7
    cursors = [c.body["cursor"] for c in contacts.state.calls_to("batch/get_by_user")]
    assert cursors == ["", "", "2", "2", "4"]  # the refused page is asked again, not the first


def test_rate_limited_calls_wait_and_retry(contacts):
    contacts.state.fail_next["externalcontact/batch/get_by_user"] = [45009]
    waits: list[float] = []
    with session_factory()() as session:
        run = sync_customers(session, get_client(), quick_pacer(waits))
    assert run.status == "done" and run.customers == 7
    assert wecom_sync.RATE_LIMIT_WAIT in waits


def test_a_second_sync_stores_no_new_events(contacts):
    from siyu.events.models import OutboxEvent

    with session_factory()() as session:
        sync_customers(session, get_client(), quick_pacer())
        first = session.scalar(select(func.count()).select_from(OutboxEvent))
        sync_customers(session, get_client(), quick_pacer())
        assert session.scalar(select(func.count()).select_from(OutboxEvent)) == first


def test_pacer_spaces_calls():
    waits: list[float] = []
    pacer = Pacer(per_minute=60, sleep=waits.append)
    pacer.wait()
    pacer.wait()
    assert waits and 0.9 < waits[-1] <= 1.0
