"""Browser flow: an operator builds a three-step journey (send, wait, tag) with the step form in
Chinese, sees a mistake next to its field, and reads the per-step chart; then in English."""

from __future__ import annotations

import json

from playwright.sync_api import expect

DRAFT = {
    "key": "form-built",
    "name": "表单搭建的旅程",
    "entry": {"event": "Signed Up"},
    "steps": [
        {"id": "hello", "kind": "send", "channel": "wecom", "content": {"wecom": {"text": "你好"}}}
    ],
}


def _add(console, label: str, **fields: str) -> None:
    page = console.page
    page.select_option("[data-test=step-kind]", fields.pop("kind"))
    for name, value in fields.items():
        if name == "channel":
            page.select_option("[data-test=step-channel]", value)
        else:
            page.fill(f"[data-test=step-{name}]", value)
    console.submit("[data-test=add-step]", label)


def test_operator_builds_a_three_step_journey_with_the_form(console, brand):
    page = console.page
    console.sign_in(brand.admin)
    console.open("/journeys")
    page.fill("[data-test=definition]", json.dumps(DRAFT, ensure_ascii=False))
    console.submit("[data-test=create-from-json]", "journey-created")
    assert page.url.endswith("/journeys/form-built")

    _add(console, "wait-wrong", kind="wait", id="pause", duration="三天")
    expect(page.locator("[data-test=error-duration]")).to_be_visible()
    expect(page.locator("[data-test=step-duration]")).to_have_value("三天")
    page.fill("[data-test=step-duration]", "P3D")
    console.submit("[data-test=add-step]", "wait-added")
    _add(console, "tag-added", kind="tag", id="mark", tag="三天后")
    expect(page.locator("[data-test=done]")).to_be_visible()

    definition = json.loads(page.input_value("[data-test=definition]"))
    assert [(s["id"], s["kind"], s.get("next")) for s in definition["steps"]] == [
        ("hello", "send", "pause"),
        ("pause", "wait", "mark"),
        ("mark", "tag", None),
    ]
    expect(page.locator("[data-test=step-counts] tbody tr")).to_have_count(3)
    expect(page.locator("#chart-funnel canvas")).to_have_count(1)
    page.screenshot(path="/tmp/builder-zh.png", full_page=True)
    assert console.lang == "zh-CN"

    console.submit("[data-test=lang-switch]", "english")
    page.screenshot(path="/tmp/builder-en.png", full_page=True)
    expect(page.locator("[data-test=step-form]")).to_contain_text("Add a step")
