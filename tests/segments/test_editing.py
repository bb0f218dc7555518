"""Editing a stored segment: the builder filled in from the rule, the same checks as creating,
the key kept, and the members refreshed so entries and exits follow the new rule."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from sqlalchemy import select

from siyu import work
from siyu.console.pages import segment_builder as builder
from siyu.core.db import unit_of_work
from siyu.segments import service as segments
from siyu.segments.models import Segment, SegmentRefresh
from tests.console_support import csrf_of, error_beside
from tests.segments.brand import Brand, identify, order, track

# Every kind of row the builder offers, alone and combined, with the ops its menus hold.
ROUND_TRIPS = [
    {"event": "Order Completed", "within_days": 30, "count": {"gte": 2}},
    {"event": "Product Viewed", "count": {"lte": 3}},
    {"event": "Coupon Applied", "within_days": 7, "count": {"eq": 0}},
    {"event": "Order Completed", "within_days": 365, "sum": {"property": "revenue", "gte": 1000}},
    {"event": "Order Completed", "sum": {"property": "revenue", "lte": 99.5}},
    {"attribute": "city", "op": "in", "value": ["上海", "杭州"]},
    {"attribute": "age", "op": "gte", "value": 30},
    {"attribute": "name", "op": "contains", "value": "王"},
    {"attribute": "level", "op": "ne", "value": "gold"},
    {"attribute": "phone", "op": "exists", "value": True},
    {"tag": "VIP"},
    {"not": {"tag": "blocked"}},
    {"lifecycle": {"in": ["silent"]}},
    {"rfm": {"in": ["important_value"]}},
    {"first_touchpoint": {"in": ["poster-1", "store-qr-01"]}},
    {"last_touchpoint": {"in": ["poster-1"]}},
    {"first_touchpoint": {"in_group": ["store"]}},
    {"last_touchpoint": {"in_group": ["store", "mall"]}},
    {"store": {"in": [3]}},
    {"owner": {"in": [7, 8]}},
    {"sequence": ["Product Viewed", "Order Completed"], "within_days": 7},
    {"sequence": ["Product Viewed", "Product Added", "Order Completed"]},
    {"segment": "vip"},
    {"or": [{"tag": "VIP"}, {"event": "Order Completed", "within_days": 90, "count": {"gte": 1}}]},
    {"and": [{"lifecycle": {"in": ["active"]}}, {"not": {"tag": "x"}}, {"segment": "vip"}]},
]
# What the rows cannot say exactly: shown as JSON instead.
AS_JSON = [
    {"event": "Order Completed", "where": {"store": ["S01"]}},
    {"event": "Order Completed", "count": {"gt": 1}},
    {"sequence": ["Product Viewed", "Product Added", "Cart Viewed", "Order Completed"]},
    {"sequence": [{"event": "Product Viewed", "where": {"sku": "A1"}}, "Order Completed"]},
    {"lifecycle": {"in": ["silent", "churned"]}},
    {"attribute": "age", "op": "eq", "value": "30"},  # a string the row would read as a number
    {"and": [{"or": [{"tag": "a"}, {"tag": "b"}]}, {"tag": "c"}]},
    {"not": {"event": "Order Completed"}},
    {"and": [{"tag": str(n)} for n in range(builder.ROWS + 1)]},
]


@pytest.mark.parametrize("rule", ROUND_TRIPS, ids=lambda r: json.dumps(r)[:40])
def test_every_row_kind_round_trips_through_the_builder(rule):
    form = builder.form_from_rule(rule)

    assert form is not None
    assert builder.rule_from_form(form) == rule


@pytest.mark.parametrize("rule", AS_JSON, ids=lambda r: json.dumps(r)[:40])
def test_a_rule_the_rows_cannot_say_is_left_to_json(rule):
    assert builder.form_from_rule(rule) is None


def test_an_event_without_a_count_is_shown_with_the_default_written_out():
    form = builder.form_from_rule({"event": "Order Completed"})

    assert form["kind_0"] == "performed" and form["n_0"] == "1" and form["days_0"] == ""


def _brand() -> Brand:
    brand = Brand()
    brand.send(identify("ann", "2026-10-01"), order("ann", "2026-10-02", 30))
    brand.send(identify("bob", "2026-10-01"), track("bob", "Product Viewed", "2026-10-03"))
    brand.ship()
    return brand


def _run_jobs() -> None:
    while work.run_one():
        pass


def _members(key: str) -> list[int]:
    with unit_of_work() as s:
        return segments.member_ids(s, segments.find_segment(s, key))


def test_the_api_changes_the_rule_keeps_the_key_and_refreshes(client, admin_token):
    brand = _brand()
    auth = {"Authorization": f"Bearer {admin_token}"}
    client.post(
        "/api/segments",
        json={"key": "active", "name": "Buyers", "rule": {"event": "Order Completed"}},
        headers=auth,
    )
    _run_jobs()
    assert _members("active") == [brand.customer_id("ann")]

    changed = client.put(
        "/api/segments/active",
        json={"name": "Viewers", "rule": {"event": "Product Viewed"}},
        headers=auth,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["key"] == "active" and changed.json()["name"] == "Viewers"
    _run_jobs()

    assert _members("active") == [brand.customer_id("bob")]
    latest = client.get("/api/segments/active/refresh", headers=auth).json()
    assert (latest["entered"], latest["exited"]) == (1, 1)


def test_the_api_refuses_a_bad_rule_with_its_path_and_changes_nothing(client, admin_token):
    auth = {"Authorization": f"Bearer {admin_token}"}
    client.post(
        "/api/segments", json={"key": "v", "name": "V", "rule": {"tag": "VIP"}}, headers=auth
    )
    bad = {"and": [{"tag": "VIP"}, {"event": "X", "count": {"gte": -1}}]}

    answer = client.put("/api/segments/v", json={"name": "New", "rule": bad}, headers=auth)

    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == "$.and[1].count.gte"
    shown = client.get("/api/segments/v", headers=auth).json()
    assert (shown["name"], shown["rule"]) == ("V", {"tag": "VIP"})


def test_the_api_does_not_take_a_new_key(client, admin_token):
    auth = {"Authorization": f"Bearer {admin_token}"}
    client.post(
        "/api/segments", json={"key": "k", "name": "K", "rule": {"tag": "VIP"}}, headers=auth
    )

    answer = client.put("/api/segments/k", json={"key": "other"}, headers=auth)

    assert answer.status_code in (400, 422)
    assert client.get("/api/segments/other", headers=auth).status_code == 404


def test_an_edit_that_would_make_a_cycle_is_refused():
    with unit_of_work() as s:
        segments.create_segment(s, "a", "A", {"tag": "VIP"})
        segments.create_segment(s, "b", "B", {"segment": "a"})
    with pytest.raises(Exception, match="cycle"), unit_of_work() as s:
        segments.update_segment(s, "a", name=None, rule={"segment": "b"}, schedule=None)
    with unit_of_work() as s:
        assert segments.find_segment(s, "a").rule == {"tag": "VIP"}


def test_an_edit_refreshes_the_segments_that_name_it_and_queues_behind_a_running_refresh():
    with unit_of_work() as s:
        vip = segments.create_segment(s, "vip", "VIP", {"tag": "VIP"})
        segments.create_segment(s, "uses-vip", "Uses VIP", {"not": {"segment": "vip"}})
        segments.create_segment(s, "uses-that", "Uses that", {"segment": "uses-vip"})
        segments.create_segment(s, "other", "Other", {"tag": "x"})
        running = segments.request_refresh(s, vip)
        running.status = "running"
    with unit_of_work() as s:
        segment = segments.update_segment(s, "vip", name=None, rule={"tag": "Gold"}, schedule=None)
        run = segments.refresh_changed(s, segment)
        queued = s.scalars(select(SegmentRefresh).where(SegmentRefresh.status == "queued"))
        keys = sorted(s.get(Segment, r.segment_id).key for r in queued)

    assert run.reason == "edit" and run.id != running.id
    assert keys == ["uses-that", "uses-vip", "vip"]


def test_a_reports_rule_has_the_segments_it_names_written_in():
    with unit_of_work() as s:
        segments.create_segment(s, "vip", "VIP", {"tag": "VIP"})
        segments.create_segment(s, "mid", "Mid", {"and": [{"segment": "vip"}, {"tag": "x"}]})
        segments.create_segment(s, "top", "Top", {"not": {"segment": "mid"}})

        assert segments.standalone_rule(s, "top") == {
            "not": {"and": [{"tag": "VIP"}, {"tag": "x"}]}
        }


# The console


def test_the_edit_page_shows_the_builder_filled_in_from_the_rule(signed_in):
    rule = {
        "or": [{"tag": "VIP"}, {"event": "Contact Added", "within_days": 7, "count": {"gte": 2}}]
    }
    with unit_of_work() as s:
        segments.create_segment(s, "mixed", "Mixed", rule, "hourly")
    page = signed_in("operator")

    assert 'data-test="edit"' in page.get("/segments/mixed").text
    form = page.get("/segments/mixed/edit").text

    assert 'value="Mixed"' in form and 'data-test="key">mixed<' in form
    assert '<option value="or" selected>' in form and '<option value="hourly" selected>' in form
    assert '<option value="Contact Added" selected>' in form  # not in the menu: still offered
    assert 'name="days_1" value="7"' in form and 'name="n_1" value="2"' in form
    assert 'data-test="json-note"' not in form


def test_a_rule_the_builder_cannot_show_is_edited_as_json_with_a_note(signed_in):
    rule = {"sequence": [{"event": "Product Viewed", "where": {"sku": "A1"}}, "Order Completed"]}
    with unit_of_work() as s:
        segments.create_segment(s, "seq", "Seq", rule)
    page = signed_in("operator")

    form = page.get("/segments/seq/edit").text
    assert 'data-test="json-note"' in form
    shown = re.search(r'data-test="rule-json">(.*?)</textarea>', form, re.S).group(1)
    assert json.loads(unescape(shown)) == rule

    csrf = csrf_of(form)
    changed = {"sequence": ["Product Viewed", "Added to Cart"], "within_days": 3}
    saved = page.post(
        "/segments/seq/edit",
        data={"csrf_token": csrf, "name": "Seq", "mode": "json", "rule_json": json.dumps(changed)},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    with unit_of_work() as s:
        assert segments.find_segment(s, "seq").rule == changed


def test_a_bad_value_in_a_condition_is_shown_beside_it_in_both_languages(signed_in):
    page = signed_in("operator")
    csrf = csrf_of(page.get("/segments/new").text)
    fields = {"csrf_token": csrf, "key": "twice", "name": "Twice", "kind_0": "tag", "tag_0": "VIP"}
    fields |= {"kind_1": "performed", "event_1": "Order Completed", "op_1": "gte", "days_1": "30"}

    refused = page.post("/segments/new", data=fields | {"n_1": "2.5"})
    assert refused.status_code == 400
    assert error_beside(refused.text, "n_1") == "请输入整数"
    assert 'value="2.5"' in refused.text and 'class="cond bad"' in refused.text
    shown = page.post("/segments/preview", data=fields | {"n_1": "2.5"})
    assert "条件 2：" in shown.text and "请输入整数" in shown.text

    page.post("/lang", data={"locale": "en", "next": "/segments/new", "csrf_token": csrf})
    refused = page.post("/segments/new", data=fields | {"n_1": "2", "days_1": "0"})
    assert error_beside(refused.text, "days_1") == "must be at least 1"
    spent = fields | {"kind_1": "spent", "n_1": "ten yuan"}
    assert error_beside(page.post("/segments/new", data=spent).text, "n_1") == "enter a number"
    with unit_of_work() as s:
        assert s.scalar(select(Segment).where(Segment.key == "twice")) is None


def test_an_edit_without_a_name_is_refused_beside_it_and_nothing_is_written(signed_in):
    with unit_of_work() as s:
        segments.create_segment(s, "vip", "VIP", {"tag": "VIP"})
    page = signed_in("operator")
    csrf = csrf_of(page.get("/segments/vip/edit").text)

    fields = {"csrf_token": csrf, "name": " ", "kind_0": "tag", "tag_0": "Gold"}
    refused = page.post("/segments/vip/edit", data=fields | {"schedule": "weekly"})

    assert refused.status_code == 400
    assert error_beside(refused.text, "name") == "此项必填"
    assert error_beside(refused.text, "schedule") == "请从列出的选项中选择"
    with unit_of_work() as s:
        segment = segments.find_segment(s, "vip")
        assert (segment.name, segment.rule) == ("VIP", {"tag": "VIP"})


def test_bad_json_is_refused_on_the_page(signed_in):
    with unit_of_work() as s:
        segments.create_segment(s, "seq", "Seq", {"tag": "VIP"})
    page = signed_in("operator")
    csrf = csrf_of(page.get("/segments/seq/edit").text)

    answer = page.post(
        "/segments/seq/edit",
        data={"csrf_token": csrf, "name": "Seq", "mode": "json", "rule_json": '{"tag": '},
    )

    assert answer.status_code == 400 and "rule_json" in answer.text
    assert error_beside(answer.text, "rule_json").startswith("规则不是有效的 JSON：")


def test_saving_the_builder_changes_the_rule_and_the_members(signed_in):
    brand = _brand()
    with unit_of_work() as s:
        segments.refresh(s, segments.create_segment(s, "b", "Buyers", {"event": "Order Completed"}))
    page = signed_in("operator")
    csrf = csrf_of(page.get("/segments/b/edit").text)
    fields = {"kind_0": "performed", "event_0": "Product Viewed", "op_0": "gte", "n_0": "1"}

    counted = page.post("/segments/preview", data={"csrf_token": csrf, "editing": "b", **fields})
    assert 'data-test="preview-count">1<' in counted.text
    saved = page.post(
        "/segments/b/edit",
        data={"csrf_token": csrf, "name": "Viewers", "schedule": "manual", **fields},
        follow_redirects=False,
    )
    assert saved.headers["location"] == "/segments/b"
    _run_jobs()

    detail = page.get("/segments/b").text
    assert "Viewers" in detail and "Product Viewed" in detail
    assert _members("b") == [brand.customer_id("bob")]
    with unit_of_work() as s:
        assert segments.find_segment(s, "b").schedule == "manual"


def test_a_bad_condition_is_named_by_its_row_and_nothing_is_written(signed_in):
    with unit_of_work() as s:
        segments.create_segment(s, "vip", "VIP", {"tag": "VIP"})
        segments.create_segment(s, "fans", "Fans", {"segment": "vip"})
    page = signed_in("operator")
    csrf = csrf_of(page.get("/segments/vip/edit").text)
    fields = {"kind_0": "tag", "tag_0": "VIP", "kind_2": "segment", "segment_2": "fans"}

    answer = page.post("/segments/vip/edit", data={"csrf_token": csrf, "name": "Renamed", **fields})

    assert answer.status_code == 400
    error = re.search(r'data-test="error">(.*?)</p>', answer.text, re.S).group(1)
    assert re.match(r"(Condition 3:|条件 3：) ", error)  # the third row; the page's language
    assert "循环引用" in error and "$.and[1].segment" in error  # said in the page's language
    assert 'class="cond bad"' in answer.text
    with unit_of_work() as s:
        segment = segments.find_segment(s, "vip")
        assert (segment.name, segment.rule) == ("VIP", {"tag": "VIP"})


def test_the_progress_poll_reloads_the_page_when_the_refresh_ends(signed_in):
    with unit_of_work() as s:
        segments.request_refresh(s, segments.create_segment(s, "p", "P", {"tag": "VIP"}))
    page = signed_in("analyst")
    polling = page.get("/segments/p/progress", headers={"HX-Request": "true"})
    assert "HX-Refresh" not in polling.headers
    _run_jobs()

    ended = page.get("/segments/p/progress", headers={"HX-Request": "true"})

    assert ended.headers["HX-Refresh"] == "true"


def test_only_editors_see_the_edit_button(signed_in):
    with unit_of_work() as s:
        segments.create_segment(s, "v", "V", {"tag": "VIP"})

    assert 'data-test="edit"' not in signed_in("analyst").get("/segments/v").text


def test_a_description_says_what_a_segment_is_for_and_is_kept_across_edits(client, admin_token):
    auth = {"Authorization": f"Bearer {admin_token}"}
    why = "双十一召回：给沉睡的金卡会员发券"
    made = client.post(
        "/api/segments",
        json={"key": "winback", "name": "召回", "description": why, "rule": {"tag": "VIP"}},
        headers=auth,
    )
    assert made.json()["description"] == why
    renamed = client.put("/api/segments/winback", json={"name": "金卡召回"}, headers=auth)
    assert renamed.json()["description"] == why  # not given: kept

    too_long = client.put("/api/segments/winback", json={"description": "长" * 1001}, headers=auth)
    assert too_long.status_code == 400 and too_long.json()["error"]["field"] == "description"
    changed = client.put("/api/segments/winback", json={"description": " 发券 "}, headers=auth)
    assert changed.json()["description"] == "发券"
    shown = client.get("/api/segments/winback", headers=auth).json()
    assert (shown["name"], shown["description"], shown["rule"]) == (
        "金卡召回",
        "发券",
        {"tag": "VIP"},
    )


def test_the_pages_show_and_edit_the_description(signed_in):
    with unit_of_work() as s:
        segments.create_segment(s, "gold", "Gold", {"tag": "VIP"}, description="For the 618 push")
    page = signed_in("operator")
    assert "For the 618 push" in page.get("/segments/list").text
    assert "For the 618 push</p>" in page.get("/segments/gold").text
    form = page.get("/segments/gold/edit").text
    assert 'value="For the 618 push"' in form

    saved = page.post(
        "/segments/gold/edit",
        data={
            "csrf_token": csrf_of(form),
            "name": "Gold",
            "description": "Gold members, for Double 11",
            "mode": "json",
            "rule_json": '{"tag": "VIP"}',
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert "Gold members, for Double 11" in page.get("/segments/gold").text
