"""The WeCom console page: configuration, callbacks, sync progress and loss alerts, by role."""

from __future__ import annotations

from sqlalchemy import select

from siyu.core.db import unit_of_work
from siyu.core.jobs import Job
from siyu.staff.models import Staff
from siyu.staff.service import create_staff
from tests.console_support import csrf_of
from tests.wecom.conftest import added, run_jobs


def lose(post_callback, external: str, userid: str) -> None:
    post_callback(
        {
            "CreateTime": 1764409999,
            "Event": "change_external_contact",
            "ChangeType": "del_follow_user",
            "UserID": userid,
            "ExternalUserID": external,
        }
    )


def test_operator_sees_configuration_callbacks_and_losses(signed_in, post_callback):
    post_callback(added("wm-lin", "zhang"))
    lose(post_callback, "wm-lin", "zhang")
    run_jobs()
    page = signed_in("operator").get("/wecom")
    assert page.status_code == 200
    assert 'data-test="callback-ok"' in page.text
    assert page.text.count('data-test="callback-row"') == 2
    assert page.text.count('data-test="loss-row"') == 1
    assert "/wecom/callback" in page.text


def test_page_in_chinese(signed_in, post_callback):
    lose(post_callback, "wm-lin", "zhang")
    run_jobs()
    client = signed_in("admin")
    client.post("/lang", data={"locale": "zh-CN", "next": "/wecom"})
    page = client.get("/wecom")
    assert "流失提醒" in page.text and "客户删除了导购" in page.text


def test_a_guide_sees_only_their_own_losses(signed_in, post_callback, users):
    with unit_of_work() as s:
        s.get(Staff, users["guide_staff_id"]).wecom_userid = "zhang"
        create_staff(s, "Guide Li", "guide", wecom_userid="li-wecom")
    lose(post_callback, "wm-lin", "zhang")
    lose(post_callback, "wm-zhou", "li-wecom")
    run_jobs()
    page = signed_in("guide").get("/wecom")
    assert page.text.count('data-test="loss-row"') == 1
    assert "wecom-config" not in page.text and "callback-row" not in page.text


def test_operator_starts_a_sync_as_a_job(signed_in, session, fake_wecom):
    client = signed_in("operator")
    page = client.get("/wecom")
    response = client.post(
        "/wecom/sync", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert response.status_code == 303
    assert session.scalar(select(Job.kind).where(Job.kind == "wecom.sync")) == "wecom.sync"
    fake_wecom.state.add_contact("wm-lin", "Lin", "zhang")
    run_jobs()
    card = client.get("/wecom/sync")
    assert "1 位导购中已完成 1 位 · 1 位客户" in card.text  # zh-CN, the default language


def test_a_callback_whose_work_fails_shows_why(signed_in, post_callback):
    # WeCom does not know this group: reading it fails, and the job will be retried.
    post_callback(
        {
            "Event": "change_external_chat",
            "ChangeType": "create",
            "ChatId": "wr-gone",
            "CreateTime": 1764400000,
        }
    )
    run_jobs()
    page = signed_in("operator").get("/wecom")
    assert 'data-test="callback-failed"' in page.text
    assert "40050" in page.text
