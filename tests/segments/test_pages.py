"""The segments and tags pages: the builder's live count, saving a segment, bulk tagging."""

from __future__ import annotations

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
