"""Browser flow: an operator starts a journey from an SOP template, edits its JSON (a problem is
shown with its JSON path), saves and publishes it, then pauses it; the per-step chart is drawn."""

from __future__ import annotations

import json

from playwright.sync_api import expect


def test_operator_builds_and_publishes_a_journey(console, brand):
    page = console.page
    console.sign_in(brand.admin)
    console.open("/journeys")
    page.select_option("[data-test=template]", "first-order")
    console.submit("[data-test=create-from-template]", "journey-created")
    assert page.url.endswith("/journeys/first-order")
    expect(page.locator("#chart-funnel canvas")).to_have_count(1)

    definition = json.loads(page.input_value("[data-test=definition]"))
    first_next = definition["steps"][0]["next"]
    definition["steps"][0]["next"] = "nowhere"
    page.fill("[data-test=definition]", json.dumps(definition, ensure_ascii=False))
    console.submit("[data-test=save]", "journey-problem")
    expect(page.locator("[data-test=problems]")).to_contain_text("$.steps[0].next")

    definition["steps"][0]["next"] = first_next
    definition["name"] = "首单感谢（测试）"
    page.fill("[data-test=definition]", json.dumps(definition, ensure_ascii=False))
    console.submit("[data-test=save]", "journey-saved")
    expect(page.locator("[data-test=done]")).to_be_visible()

    console.submit("[data-test=publish]", "journey-published")
    expect(page.locator("[data-test=pause]")).to_be_visible()
    console.submit("[data-test=pause]", "journey-paused")
    expect(page.locator("[data-test=resume]")).to_be_visible()
    console.open("/journeys")
    expect(page.locator("[data-test=journey-first-order]")).to_contain_text("首单感谢（测试）")
