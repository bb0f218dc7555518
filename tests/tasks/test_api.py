"""The tasks API: headquarters hands a task out and follows it; a guide's token sees and marks
only their own customers; bad input names its field and writes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from siyu.core.auth import create_token
from siyu.core.db import unit_of_work
from siyu.tasks.models import GuideTask, TaskAssignment
from tests.tasks.test_service import _events, brand


def _token(role: str, staff_id: int | None = None) -> dict:
    with unit_of_work() as s:
        _, secret = create_token(s, f"{role}-{staff_id}", role, staff_id=staff_id)
    return {"Authorization": f"Bearer {secret}"}


def _hand_out(client, headers) -> dict:
    answer = client.post(
        "/api/tasks",
        json={
            "title": "双十二预热",
            "due_date": "2026-12-04",
            "segment": "vip",
            "message": "双十二会员券已到账。",
        },
        headers=headers,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_headquarters_hands_a_task_out_and_follows_each_guide(client):
    people = brand()
    admin = _token("admin")
    task = _hand_out(client, admin)
    assert (task["targeted"], task["unowned"], task["assigned"], task["done"]) == (5, 2, 3, 0)
    assert task["created_by"] == "token:admin-None" and task["status"] == "open"
    assert {g["guide_id"]: g["assigned"] for g in task["guides"]} == {
        people["zhang"]: 2,
        people["li"]: 1,
    }

    listed = client.get("/api/tasks", headers=admin).json()
    assert [t["id"] for t in listed] == [task["id"]]
    customers = client.get(f"/api/tasks/{task['id']}/assignments", headers=admin).json()
    assert sorted(a["customer_id"] for a in customers) == people["customers"][:3]

    done = client.post(
        f"/api/tasks/{task['id']}/done",
        json={"customer_id": people["customers"][2]},
        headers=admin,
    )
    assert done.status_code == 200 and done.json()["done_how"] == "api"
    shown = client.get(f"/api/tasks/{task['id']}", headers=admin).json()
    assert (shown["done"], shown["execution_rate"]) == (1, 1 / 3)
    assert shown["guides"][-1] == {  # the lowest rate first: 李 (1 of 1) comes last
        "guide_id": people["li"],
        "name": "导购李",
        "assigned": 1,
        "done": 1,
        "execution_rate": 1.0,
    }
    closed = client.post(f"/api/tasks/{task['id']}/close", headers=admin).json()
    assert closed["status"] == "closed" and closed["execution_rate"] == 1 / 3
    late = client.post(
        f"/api/tasks/{task['id']}/done",
        json={"customer_id": people["customers"][0]},
        headers=admin,
    )
    assert late.status_code == 409 and late.json()["error"]["field"] == "task_id"
    after = client.get(f"/api/tasks/{task['id']}", headers=admin).json()
    assert after["done"] == 1  # a closed task's rate stays what it was when it closed


def test_a_guides_token_sees_and_marks_only_their_own_customers(client):
    people = brand()
    task = _hand_out(client, _token("operator"))
    zhang = _token("guide", people["zhang"])

    listed = client.get("/api/tasks", headers=zhang).json()
    assert [(t["id"], t["assigned"]) for t in listed] == [(task["id"], 2)]
    mine = client.get(f"/api/tasks/{task['id']}/assignments", headers=zhang).json()
    assert sorted(a["customer_id"] for a in mine) == people["customers"][:2]
    shown = client.get(f"/api/tasks/{task['id']}", headers=zhang).json()
    assert [g["guide_id"] for g in shown["guides"]] == [people["zhang"]]

    others = client.post(
        f"/api/tasks/{task['id']}/done",
        json={"customer_id": people["customers"][2]},  # 李's customer
        headers=zhang,
    )
    assert others.status_code == 404 and others.json()["error"]["field"] == "customer"
    for _ in range(2):  # done twice, done once
        answer = client.post(
            f"/api/tasks/{task['id']}/done",
            json={"customer_id": people["customers"][0]},
            headers=zhang,
        )
        assert answer.status_code == 200
    completed = [(e["customer_id"], e["how"]) for e in _events("Task Completed")]
    assert completed == [(people["customers"][0], "api")]
    mine = client.get(f"/api/tasks/{task['id']}/assignments", headers=zhang).json()
    assert [(a["customer_id"], a["done_how"]) for a in mine][-1] == (people["customers"][0], "api")
    assert client.post(f"/api/tasks/{task['id']}/close", headers=zhang).status_code == 403

    li_only = _token("guide", people["li"])
    assert client.get("/api/tasks", headers=li_only).json()[0]["assigned"] == 1
    assert client.get(f"/api/tasks/{task['id']}", headers=_token("analyst")).status_code == 200
    refused = client.post("/api/tasks", json={"title": "x"}, headers=_token("analyst"))
    assert refused.status_code == 403


def test_bad_input_names_the_field_and_writes_nothing(client):
    brand()
    admin = _token("admin")
    base = {"title": "回访", "due_date": "2026-12-04", "segment": "vip"}
    cases = {
        "title": {**base, "title": "  "},
        "kind": {**base, "kind": "call"},
        "segment": {**base, "customer_ids": [1, 2]},  # both targets
        "due_date": {**base, "due_date": "next friday"},
        "colour": {**base, "colour": "red"},
    }
    for field, body in cases.items():
        answer = client.post("/api/tasks", json=body, headers=admin)
        assert answer.status_code in (400, 422), (field, answer.text)
        assert field in answer.text, (field, answer.text)
    unknown = client.post("/api/tasks", json={**base, "segment": "nope"}, headers=admin)
    assert unknown.status_code == 404
    # An empty segment key with no customers was read as "no segment" and then "no customers
    # either": a 500. It names a segment that does not exist.
    empty = client.post("/api/tasks", json={**base, "segment": ""}, headers=admin)
    assert empty.status_code == 404 and "segment" in empty.text, empty.text
    assert client.get("/api/tasks/999", headers=admin).status_code == 404
    with unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(GuideTask)) == 0
        assert s.scalar(select(func.count()).select_from(TaskAssignment)) == 0
