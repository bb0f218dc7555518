"""The journeys pages: list, start from an SOP template, edit the JSON with each problem shown by
its path, publish and pause, the per-step funnel."""

from __future__ import annotations

import json

import pytest

from tests.console_support import csrf_of
from tests.journeys.test_flow import Clock, _now_message, _publish, _run_due
from tests.segments.brand import Brand


def test_an_operator_starts_from_a_template_edits_publishes_and_pauses(signed_in, client):
    signed_in("operator")
    listed = client.get("/journeys")
    assert listed.status_code == 200 and 'value="first-order"' in listed.text
    token = csrf_of(listed.text)
    made = client.post(
        "/journeys",
        data={"template": "first-order", "csrf_token": token},
        follow_redirects=False,
    )
    assert made.status_code == 303 and made.headers["location"] == "/journeys/first-order"
    page = client.get("/journeys/first-order")
    assert 'data-test="publish"' in page.text and "chart-funnel" in page.text

    broken = {"key": "first-order", "name": "x", "entry": {}, "steps": [{"id": "a"}]}
    refused = client.post(
        "/journeys/first-order/draft",
        data={"definition": json.dumps(broken), "csrf_token": token},
    )
    assert refused.status_code == 400
    assert "<code>$.entry</code>" in refused.text and "<code>$.steps[0]" in refused.text

    published = client.post(
        "/journeys/first-order/publish", data={"csrf_token": token}, follow_redirects=True
    )
    assert published.status_code == 200 and 'data-test="done"' in published.text
    assert 'data-test="pause"' in published.text
    paused = client.post(
        "/journeys/first-order/pause", data={"csrf_token": token}, follow_redirects=True
    )
    assert 'data-test="resume"' in paused.text
    assert "journey-first-order" in client.get("/journeys").text


def test_pasted_json_that_is_not_json_says_where(signed_in, client):
    signed_in("operator")
    token = csrf_of(client.get("/journeys").text)
    refused = client.post("/journeys", data={"definition": "{nope", "csrf_token": token})
    assert refused.status_code == 400 and "不是 JSON" in refused.text and "第 1 行" in refused.text


def _create_with_steps(client, steps: list[dict]):
    """Post a journey named 坏的 with these steps through the console's create form."""
    token = csrf_of(client.get("/journeys").text)
    broken = {"key": "broken", "name": "坏的", "entry": {"event": "Signed Up"}, "steps": steps}
    return client.post("/journeys", data={"definition": json.dumps(broken), "csrf_token": token})


def test_a_definition_error_reads_in_chinese_with_its_values_and_field(signed_in, client):
    signed_in("operator")
    steps = [{"id": "hi", "kind": "wait", "duration": "P1D", "next": "nowhere"}]
    refused = _create_with_steps(client, steps)
    assert refused.status_code == 400
    assert "<code>$.steps[0].next</code> 没有 id 为 &#39;nowhere&#39; 的步骤" in refused.text
    assert "no step has the id" not in refused.text

    client.cookies.set("siyu_locale", "en")
    refused = _create_with_steps(client, steps)
    assert "<code>$.steps[0].next</code> no step has the id &#39;nowhere&#39;" in refused.text


def test_a_broken_wait_reads_in_chinese(signed_in, client):
    signed_in("operator")
    refused = _create_with_steps(
        client, [{"id": "hi", "kind": "wait", "duration": "P1D", "until_time": "25:00"}]
    )
    assert "<code>$.steps[0].until_time</code> 须为时刻 HH:MM（00:00 至 23:59）" in refused.text


def test_an_analyst_reads_but_cannot_change(signed_in, client):
    signed_in("analyst")
    page = client.get("/journeys")
    assert page.status_code == 200 and 'data-test="create-from-template"' not in page.text
    token = csrf_of(page.text)
    refused = client.post("/journeys", data={"template": "birthday", "csrf_token": token})
    assert refused.status_code == 403


STEPPED = {
    "key": "stepped",
    "name": "Stepped",
    "entry": {"event": "Signed Up"},
    "steps": [
        {"id": "hello", "kind": "tag", "tag": "hello", "next": "pause"},
        {"id": "pause", "kind": "wait", "duration": "P1D", "next": "bye"},
        {"id": "bye", "kind": "exit"},
    ],
}


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return Clock(monkeypatch)


def _step_row(page: str, step: str) -> list[str]:
    row = page.split(f'<tr data-step="{step}">', 1)[1].split("</tr>", 1)[0]
    return [cell.split("</td>", 1)[0] for cell in row.split("<td>")[2:]]


def test_the_per_step_counts_come_from_the_lake_and_who_waits_now(signed_in, client, clock):
    clock.forward(days=-2)  # the events fall on days the page reads, up to today
    brand = Brand()
    _publish(STEPPED)
    brand.send(_now_message("ann", "Signed Up", "s1"))
    _run_due()
    clock.forward(days=1, minutes=1)
    brand.send(_now_message("bob", "Signed Up", "s2"))
    _run_due()  # ann leaves at the exit step; bob waits a day before it
    brand.ship()

    signed_in("analyst")
    page = client.get("/journeys/stepped").text
    # entered, completed, waiting, exited here
    assert _step_row(page, "hello") == ["2", "2", "0", "0"]
    assert _step_row(page, "pause") == ["2", "2", "0", "0"]
    assert _step_row(page, "bye") == ["2", "1", "1", "1"]


HELD_OUT = {
    "key": "held-out",
    "name": "Held out",
    "entry": {"event": "Signed Up"},
    "steps": [
        {"id": "half", "kind": "holdout", "percent": 50, "next": "hello"},
        {"id": "hello", "kind": "tag", "tag": "hello"},
    ],
}


def _results_rows(page: str) -> dict[str, list[str]]:
    table = page.split('data-test="results"', 1)[1].split("</tbody>", 1)[0]
    rows = [row.split("</tr>", 1)[0] for row in table.split("<tr>")[2:]]
    cells = [[c.split("</td>", 1)[0] for c in row.split("<td>")[1:]] for row in rows]
    return {row[0]: row[1:] for row in cells}


def test_a_journeys_results_compare_its_holdout_with_the_rest(signed_in, client, clock):
    clock.forward(days=-2)  # entered two days ago; the orders come today, within the window
    brand = Brand()
    _publish(HELD_OUT)
    people = [f"p{n}" for n in range(12)]
    for person in people:
        brand.send(_now_message(person, "Signed Up", f"s-{person}"))
    _run_due()
    held = {person for person in people if _arm_of(brand.customer_id(person)) == "holdout"}
    assert 0 < len(held) < len(people)
    buyers = [people[0], people[1], people[2]]
    for person in buyers:
        brand.send(
            _now_message(person, "Order Completed", f"o-{person}", order_id=person, revenue=10)
        )
    brand.ship()

    signed_in("analyst")
    page = client.get("/journeys/held-out").text
    rows = _results_rows(page)
    # customers, sent, clicked, buyers, conversion, GMV
    assert rows["对照组"][0] == str(len(held)) and rows["A"][0] == str(len(people) - len(held))
    assert rows["对照组"][3] == str(len(held & set(buyers)))
    assert rows["A"][3] == str(len(set(buyers) - held))
    assert 'data-test="lift"' in page and 'id="chart-arms"' in page


def _arm_of(customer_id: int) -> str | None:
    from sqlalchemy import select

    from siyu.core.db import unit_of_work
    from siyu.journeys.models import JourneyEntry

    with unit_of_work() as s:
        return s.scalar(select(JourneyEntry.arm).where(JourneyEntry.customer_id == customer_id))


def test_an_operator_adds_send_wait_and_tag_steps_with_the_form(signed_in, client):
    signed_in("operator")
    token = csrf_of(client.get("/journeys").text)
    first = {"key": "formed", "name": "Formed", "entry": {"event": "Signed Up"}}
    first["steps"] = [
        {"id": "hello", "kind": "send", "channel": "wecom", "content": {"wecom": {"text": "你好"}}}
    ]
    client.post("/journeys", data={"definition": json.dumps(first), "csrf_token": token})
    added = [
        {"kind": "wait", "step_id": "pause", "duration": "P3D"},
        {"kind": "tag", "step_id": "mark", "tag": "三天后"},
    ]
    for fields in added:
        done = client.post(
            "/journeys/formed/steps", data=fields | {"csrf_token": token}, follow_redirects=False
        )
        assert done.status_code == 303, done.text
    draft = _draft_of(client, "formed")
    assert [(s["id"], s.get("next")) for s in draft["steps"]] == [
        ("hello", "pause"),
        ("pause", "mark"),
        ("mark", None),
    ]
    assert draft["steps"][1]["duration"] == "P3D" and draft["steps"][2]["tag"] == "三天后"

    refused = client.post(
        "/journeys/formed/steps",
        data={"kind": "wait", "step_id": "later", "duration": "three days", "csrf_token": token},
    )
    assert refused.status_code == 400
    error = refused.text.split('data-test="error-duration">', 1)[1].split("</span>", 1)[0]
    assert "ISO 8601" in error or "duration" in error
    assert 'value="three days"' in refused.text  # what was typed stays in the field


def _draft_of(client, key: str) -> dict:
    page = client.get(f"/journeys/{key}").text
    text = page.split('data-test="definition">', 1)[1].split("</textarea>", 1)[0]
    return json.loads(text.replace("&#34;", '"').replace("&quot;", '"'))


def test_an_operator_adds_task_holdout_and_exit_then_reorders_and_removes(signed_in, client):
    signed_in("operator")
    token = csrf_of(client.get("/journeys").text)
    first = {"key": "built", "name": "Built", "entry": {"event": "Signed Up"}}
    first["steps"] = [{"id": "pause", "kind": "wait", "duration": "P1D"}]
    client.post("/journeys", data={"definition": json.dumps(first), "csrf_token": token})
    added = [
        {"kind": "holdout", "step_id": "half", "percent": "20"},
        {"kind": "task", "step_id": "call", "title": "回访", "due_days": "2", "text": "问问近况"},
        {"kind": "untag", "step_id": "unmark", "tag": "新客"},
        {"kind": "exit", "step_id": "bye"},
    ]
    for fields in added:
        done = client.post(
            "/journeys/built/steps", data=fields | {"csrf_token": token}, follow_redirects=False
        )
        assert done.status_code == 303, done.text
    steps = _draft_of(client, "built")["steps"]
    assert [(s["id"], s.get("next")) for s in steps] == [
        ("pause", "half"),
        ("half", "call"),
        ("call", "unmark"),
        ("unmark", "bye"),
        ("bye", None),
    ]
    assert steps[1]["percent"] == 20 and steps[2]["due_days"] == 2
    assert steps[2]["message"] == "问问近况" and steps[3]["tag"] == "新客"

    moved = client.post(
        "/journeys/built/steps/half/up", data={"csrf_token": token}, follow_redirects=False
    )
    assert moved.status_code == 303
    removed = client.post(
        "/journeys/built/steps/call/remove", data={"csrf_token": token}, follow_redirects=False
    )
    assert removed.status_code == 303
    steps = _draft_of(client, "built")["steps"]
    assert [(s["id"], s.get("next")) for s in steps] == [
        ("half", "pause"),
        ("pause", "unmark"),
        ("unmark", "bye"),
        ("bye", None),
    ]

    refused = client.post("/journeys/built/steps/bye/up", data={"csrf_token": token})
    assert refused.status_code == 400 and "分支、分流和退出步骤请在 JSON 中调整顺序" in refused.text
    unknown = client.post("/journeys/built/steps/pause/sideways", data={"csrf_token": token})
    assert unknown.status_code == 422 and "edit" in unknown.text


def test_an_analyst_cannot_edit_the_steps(signed_in, client):
    signed_in("operator")
    token = csrf_of(client.get("/journeys").text)
    first = {"key": "kept", "name": "Kept", "entry": {"event": "Signed Up"}}
    first["steps"] = [
        {"id": "pause", "kind": "wait", "duration": "P1D", "next": "bye"},
        {"id": "bye", "kind": "exit"},
    ]
    client.post("/journeys", data={"definition": json.dumps(first), "csrf_token": token})
    signed_in("analyst")
    token = csrf_of(client.get("/journeys/kept").text)
    assert 'data-test="step-remove"' not in client.get("/journeys/kept").text
    refused = client.post("/journeys/kept/steps/pause/remove", data={"csrf_token": token})
    assert refused.status_code == 403
    signed_in("operator")
    assert len(_draft_of(client, "kept")["steps"]) == 2
