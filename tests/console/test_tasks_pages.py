"""Guide tasks in the console: an operator hands one out, a guide marks their customers done."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from siyu.core.db import unit_of_work
from siyu.customers.models import Customer, Identity
from siyu.segments.models import SegmentMember
from siyu.segments.service import create_segment
from siyu.tasks.models import GuideTask
from siyu.tasks.service import close_task, create_task
from tests.console_support import csrf_of, error_beside

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def _segment(users) -> list[int]:
    """Segment `vip`: two customers of Guide Zhang, one of Guide Li, one of nobody."""
    with unit_of_work() as s:
        owners = (users["guide_staff_id"], users["guide_staff_id"], users["other_staff_id"], None)
        customers = [
            Customer(traits={"name": f"客户{n}"}, owner_id=o) for n, o in enumerate(owners)
        ]
        s.add_all(customers)
        s.flush()
        segment = create_segment(s, "vip", "VIP", {"tag": "VIP"})
        s.add_all(
            SegmentMember(segment_id=segment.id, customer_id=c.id, entered_at=NOW)
            for c in customers
        )
        segment.refreshed_at, segment.member_count = NOW, len(customers)
        return [c.id for c in customers]


def test_an_operator_hands_a_task_out_and_a_guide_marks_customers_done(signed_in, users):
    ids = _segment(users)
    operator = signed_in("operator")
    page = operator.get("/tasks")
    assert 'data-test="new-task"' in page.text
    created = operator.post(
        "/tasks",
        data={
            "csrf_token": csrf_of(page.text),
            "title": "双十二预热",
            "kind": "message",
            "segment": "vip",
            "due_date": "2026-12-10",
            "message": "双十二会员专享券已到账",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    detail = operator.get(created.headers["location"])
    assert 'data-test="guides-chart"' in detail.text and "Guide Zhang" in detail.text
    assert 'data-test="unowned">1<' in detail.text

    guide = signed_in("guide")
    mine = guide.get("/tasks")
    assert "双十二预热" in mine.text and 'data-test="new-task"' not in mine.text
    task_url = created.headers["location"].split("?")[0]
    own = guide.get(task_url)
    assert own.text.count('data-test="mark-done"') == 2  # Li's customer is not shown
    marked = guide.post(
        f"{task_url}/done",
        data={"csrf_token": csrf_of(own.text), "customer_id": str(ids[0])},
        follow_redirects=False,
    )
    assert marked.status_code == 303
    again = guide.get(task_url)
    assert again.text.count('data-test="mark-done"') == 1
    assert 'data-test="rate">50' in again.text
    refused = guide.post(
        f"{task_url}/done",
        data={"csrf_token": csrf_of(own.text), "customer_id": str(ids[2])},
        follow_redirects=False,
    )
    assert refused.status_code == 404  # Li's customer is not the guide's to mark
    tampered = guide.post(
        f"{task_url}/done",
        data={"csrf_token": csrf_of(own.text), "customer_id": "1; drop"},
        follow_redirects=False,
    )
    assert tampered.status_code == 400
    assert 'data-error-for="customer_id">请输入整数<' in tampered.text
    assert guide.get(task_url).text.count('data-test="mark-done"') == 1


def test_a_task_without_a_segment_is_refused_with_the_field_named(signed_in, users):
    operator = signed_in("operator")
    _segment(users)
    page = operator.get("/tasks")
    refused = operator.post(
        "/tasks",
        data={"csrf_token": csrf_of(page.text), "title": "t", "due_date": "2026-12-10"},
    )
    assert refused.status_code == 400 and 'data-test="form-error"' in refused.text


def test_a_bad_task_is_refused_beside_its_fields_in_both_languages(signed_in, users, session):
    operator = signed_in("operator")
    _segment(users)
    page = operator.get("/tasks")
    form = {"csrf_token": csrf_of(page.text), "segment": "vip", "instructions": "说明"}

    refused = operator.post("/tasks", data=form | {"due_date": "12/10/2026"})
    assert refused.status_code == 400
    assert error_beside(refused.text, "title") == "此项必填"
    assert error_beside(refused.text, "due_date") == "请按 YYYY-MM-DD 格式输入日期"
    assert '<option value="vip" selected>' in refused.text and ">说明</textarea>" in refused.text

    operator.post("/lang", data={"locale": "en", "next": "/", "csrf_token": form["csrf_token"]})
    bad = form | {"title": "t", "due_date": "1900-01-01", "kind": "call"}
    refused = operator.post("/tasks", data=bad)
    assert refused.status_code == 400
    assert error_beside(refused.text, "due_date") == "must be at least 1970-01-01"
    assert error_beside(refused.text, "kind") == "choose one of the listed values"
    assert session.scalar(select(func.count(GuideTask.id))) == 0


def _guide_task(users) -> tuple[int, list[int]]:
    """A message task over _segment's customers; the first one has a phone number."""
    ids = _segment(users)
    with unit_of_work() as s:
        s.add(Identity(type="phone", value="13800008000", customer_id=ids[0]))
        task = create_task(
            s, "会员回访", date(2026, 12, 10), "test", segment_key="vip", message="您好，会员日到了"
        )
        return task.id, ids


HTMX = {"HX-Request": "true"}


def test_a_guide_works_a_task_as_cards_that_swap_in_place(signed_in, users):
    task_id, ids = _guide_task(users)
    guide = signed_in("guide")
    page = guide.get(f"/tasks/{task_id}").text
    assert page.count('data-test="assignment"') == 2 and 'data-test="copy-message-top"' in page
    assert "138****8000" in page and "13800008000" not in page
    token = csrf_of(page)
    done = guide.post(
        f"/tasks/{task_id}/done",
        data={"csrf_token": token, "customer_id": str(ids[0])},
        headers=HTMX,
    )
    assert done.status_code == 200 and f'id="c{ids[0]}"' in done.text
    assert (
        "✓" in done.text
        and 'hx-swap-oob="true"' in done.text
        and 'data-test="rate">50' in done.text
    )
    assert json.loads(done.headers["HX-Trigger"])["siyu-toast"]["text"] == "已标记完成。"
    tagged = guide.post(
        f"/tasks/{task_id}/customers/{ids[0]}/tags",
        data={"csrf_token": token, "name": "高潜"},
        headers=HTMX,
    )
    assert tagged.status_code == 200 and '<span class="tag">高潜</span>' in tagged.text
    noted = guide.post(
        f"/tasks/{task_id}/customers/{ids[0]}/notes",
        data={"csrf_token": token, "body": "周末到店"},
        headers=HTMX,
    )
    assert noted.status_code == 200 and "周末到店" in noted.text
    assert "13800008000" not in tagged.text + noted.text
    empty = guide.post(
        f"/tasks/{task_id}/customers/{ids[0]}/notes",
        data={"csrf_token": token, "body": ""},
        headers=HTMX,
    )
    assert empty.status_code == 200 and 'data-test="card-error"' in empty.text
    assert json.loads(empty.headers["HX-Trigger"])["siyu-toast"]["error"] is True
    plain = guide.post(
        f"/tasks/{task_id}/customers/{ids[1]}/notes",
        data={"csrf_token": token, "body": "记一下"},
        follow_redirects=False,
    )
    assert plain.status_code == 303 and plain.headers["location"].endswith(f"#c{ids[1]}")
    for other in ("tags", "notes"):  # Li's customer is not Zhang's to write on
        refused = guide.post(
            f"/tasks/{task_id}/customers/{ids[2]}/{other}",
            data={"csrf_token": token, "name": "x", "body": "x"},
            headers=HTMX,
        )
        assert refused.status_code == 404


def test_a_closed_task_shows_no_done_button_and_refuses_marking(signed_in, users):
    task_id, ids = _guide_task(users)
    with unit_of_work() as s:
        close_task(s, task_id)
    guide = signed_in("guide")
    page = guide.get(f"/tasks/{task_id}").text
    assert 'data-test="mark-done"' not in page and 'data-test="closed-note"' in page
    form = {"csrf_token": csrf_of(page), "customer_id": str(ids[0])}
    assert guide.post(f"/tasks/{task_id}/done", data=form).status_code == 409
    swapped = guide.post(f"/tasks/{task_id}/done", data=form, headers=HTMX)
    assert swapped.status_code == 200 and 'data-test="card-error"' in swapped.text
    guide.cookies.set("siyu_locale", "en")
    english = guide.post(f"/tasks/{task_id}/done", data=form, headers=HTMX)
    assert "the task is closed" in english.headers["HX-Trigger"]


def test_an_operator_closes_a_task_from_its_page(signed_in, users):
    task_id, _ = _guide_task(users)
    operator = signed_in("operator")
    page = operator.get(f"/tasks/{task_id}").text
    assert f'action="/tasks/{task_id}/close"' in page  # the button posts to a route that exists
    closed = operator.post(
        f"/tasks/{task_id}/close", data={"csrf_token": csrf_of(page)}, follow_redirects=False
    )
    assert closed.status_code == 303 and closed.headers["location"].endswith("done=closed")
    after = operator.get(closed.headers["location"]).text
    assert 'data-test="close-task"' not in after
    with unit_of_work() as s:
        assert s.get(GuideTask, task_id).status == "closed"
