"""The journeys pages: list, start from an SOP template, edit the JSON with each problem shown by
its path, publish and pause, the per-step funnel."""

from __future__ import annotations

import json

from tests.console_support import csrf_of


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
    assert refused.status_code == 400 and "not JSON" in refused.text


def test_an_analyst_reads_but_cannot_change(signed_in, client):
    signed_in("analyst")
    page = client.get("/journeys")
    assert page.status_code == 200 and 'data-test="create-from-template"' not in page.text
    token = csrf_of(page.text)
    refused = client.post("/journeys", data={"template": "birthday", "csrf_token": token})
    assert refused.status_code == 403
