"""The segments and tags pages: the builder's live count, saving a segment, bulk tagging."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime

from siyu import work
from siyu.core.db import unit_of_work
from siyu.core.settings import reset_settings
from siyu.tags.service import ensure_tag, history
from tests.console_support import csrf_of
from tests.segments.brand import Brand, identify, order


def _brand() -> Brand:
    brand = Brand()
    brand.send(identify("ann", "2026-10-01"), order("ann", "2026-10-02", 30))
    brand.send(identify("bob", "2026-10-01"))
    brand.ship()
    return brand


def test_builder_counts_saves_and_the_segment_fills(signed_in):
    _brand()
    page = signed_in("operator")
    form = page.get("/segments/new")
    assert form.status_code == 200
    csrf = csrf_of(form.text)
    fields = {"kind_0": "performed", "event_0": "Order Completed", "op_0": "gte", "n_0": "1"}
    counted = page.post("/segments/preview", data={"csrf_token": csrf, **fields})
    assert 'data-test="preview-count">1<' in counted.text
    fields["kind_1"], fields["tag_1"] = "no_tag", "VIP"
    saved = page.post(
        "/segments/new",
        data={"csrf_token": csrf, "key": "buyers", "name": "Buyers", **fields},
        follow_redirects=False,
    )
    assert saved.headers["location"] == "/segments/buyers"
    while work.run_one():
        pass
    detail = page.get("/segments/buyers")
    assert 'data-test="member-count">1<' in detail.text
    assert "&#34;not&#34;" in detail.text
    assert page.get("/segments/buyers/export.csv").text.count("\n") == 2


def test_a_save_without_conditions_is_refused_on_the_page(signed_in):
    page = signed_in("operator")
    csrf = csrf_of(page.get("/segments/new").text)
    answer = page.post("/segments/new", data={"csrf_token": csrf, "key": "x", "name": "X"})
    assert answer.status_code == 400
    assert 'data-test="error"' in answer.text


def test_bulk_tagging_a_segment_from_the_tags_page(signed_in):
    _brand()
    with unit_of_work() as s:
        ensure_tag(s, "618", "behaviour")
        from siyu.segments import service as segments

        segments.refresh(s, segments.create_segment(s, "all", "All", {"not": {"tag": "x"}}))
    page = signed_in("operator")
    csrf = csrf_of(page.get("/tags").text)
    done = page.post("/tags/bulk", data={"csrf_token": csrf, "tag": "618", "segment": "all"})
    assert done.status_code == 200
    while work.run_one():
        pass
    with unit_of_work() as s:
        assert len(history(s)) == 2
    assert "user:operator@brand.cn" in page.get("/tags").text


def test_the_preview_says_in_chinese_which_cost_limit_a_rule_passes(signed_in, monkeypatch):
    monkeypatch.setenv("SIYU_SEGMENT_MAX_EVENT_CONDITIONS", "1")
    reset_settings()
    page = signed_in("analyst")
    csrf = csrf_of(page.get("/segments/new").text)
    fields = {"kind_0": "performed", "event_0": "Order Completed", "op_0": "gte", "n_0": "1"}
    fields |= {"kind_1": "performed", "event_1": "Refund", "op_1": "gte", "n_1": "1"}
    shown = page.post("/segments/preview", data={"csrf_token": csrf, **fields})
    assert "这条规则的计算代价过高：SIYU_SEGMENT_MAX_EVENT_CONDITIONS 为 1" in shown.text


def test_the_preview_warns_of_what_the_rule_names_that_does_not_exist(signed_in):
    _brand()
    with unit_of_work() as s:
        ensure_tag(s, "VIP", "other")
    page = signed_in("analyst")
    csrf = csrf_of(page.get("/segments/new").text)
    rule = {
        "and": [
            {"tag": "VIP"},
            {"not": {"tag": "幽灵标签"}},
            {"event": "Order Completed"},  # in the catalogue and recorded
            {"event": "Signed Up Twice"},  # neither
            {"first_touchpoint": {"in": ["nowhere-qr"]}},
            {"store": {"in": [424242]}},
        ]
    }
    fields = {"csrf_token": csrf, "mode": "json", "rule_json": json.dumps(rule)}
    shown = page.post("/segments/preview", data=fields).text

    warnings = re.findall(r'data-test="preview-warning">(.*?)</p>', shown, re.S)
    assert len(warnings) == 4, warnings
    assert "没有标签「幽灵标签」" in warnings[0]
    assert "没有触点「nowhere-qr」" in warnings[1]
    assert "424242" in warnings[2]
    assert "没有记录过事件「Signed Up Twice」" in warnings[3]
    assert 'data-test="preview-count">0<' in shown  # still counted: a warning, not an error


def test_a_rule_error_in_the_preview_is_said_in_the_page_language(signed_in):
    page = signed_in("operator")
    csrf = csrf_of(page.get("/segments/new").text)
    fields = {"csrf_token": csrf, "mode": "json", "rule_json": '{"lifecycle": {"in": ["gold"]}}'}
    shown = page.post("/segments/preview", data=fields).text
    assert "必须是以下之一：new, active, silent, churned" in shown
    assert "$.lifecycle.in[0]" in shown


def test_the_members_csv_speaks_the_console_language_in_the_brand_zone(signed_in):
    _brand()
    with unit_of_work() as s:
        from siyu.segments import service as segments

        segment = segments.create_segment(s, "all", "All", {"not": {"tag": "x"}})
        segments.refresh(s, segment, as_of=datetime(2026, 11, 22, 2, 30, tzinfo=UTC))
    page = signed_in("operator")

    rows = list(csv.reader(io.StringIO(page.get("/segments/all/export.csv").text)))
    assert rows[0] == [
        "\ufeff客户 ID",
        "用户 ID",
        "姓名",
        "手机号",
        "导购",
        "进入时间（Asia/Shanghai）",
    ]
    assert {row[1] for row in rows[1:]} == {"ann", "bob"}
    assert {row[5] for row in rows[1:]} == {"2026-11-22 10:30:00"}  # 02:30 UTC in Shanghai
    detail = page.get("/segments/all").text
    assert 'data-test="member-name">ann<' in detail  # no name trait: the user id
