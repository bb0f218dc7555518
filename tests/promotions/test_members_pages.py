"""/promotions/members in the console: the tiers with their rules, benefits and members (a bar
chart), the tier form and the points setting, in Chinese and in English, refusals named beside
their fields; analysts read it, only staff change it."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from siyu.core.db import unit_of_work
from siyu.promotions import members, points
from tests.console_support import csrf_of, error_beside
from tests.promotions.test_members import NOW, brand, order, people


def test_the_page_shows_tiers_members_and_chart_in_chinese_and_english(signed_in):
    people(2)
    brand()
    order("Order Completed", "b0", "SO-1", "1200", NOW - timedelta(days=1))
    order("Order Completed", "b1", "SO-2", "60", NOW - timedelta(days=1))
    client = signed_in("analyst")
    page = client.get("/promotions/members")
    assert page.status_code == 200, page.text
    assert "会员等级与积分" in page.text and "各等级会员数" in page.text
    assert re.findall(r'data-test="tier-members">(\d+)<', page.text) == ["1", "1", "0"]
    chart = json.loads(re.search(r"var data = (\{.*?\});", page.text).group(1))
    assert chart == {"names": ["普通", "银卡", "金卡"], "members": [1, 1, 0]}
    assert "升级礼券：金卡礼券" in page.text and 'data-test="tier-form"' not in page.text
    client.cookies.set("siyu_locale", "en")
    english = client.get("/promotions/members")
    assert "Member tiers and points" in english.text and "Coupon on reaching it" in english.text
    assert "会员等级与积分" not in english.text


def test_an_operator_adds_a_tier_changes_it_and_sets_the_points(signed_in):
    client = signed_in("operator")
    empty = client.get("/promotions/members")
    assert 'data-test="no-tiers"' in empty.text
    csrf = csrf_of(empty.text)
    form = {
        "csrf_token": csrf,
        "key": "silver",
        "name": "银卡",
        "least": "1,000",
        "benefits": "95 折",
    }
    made = client.post("/promotions/members/tiers", data=form, follow_redirects=False)
    assert (made.status_code, made.headers["location"]) == (303, "/promotions/members?done=tier")
    edit = client.get("/promotions/members?edit=silver")
    assert 'value="1000.00"' in edit.text and "修改等级" in edit.text
    changed = client.post("/promotions/members/tiers", data={**form, "least": "2000"})
    assert changed.status_code == 200
    setting = {"csrf_token": csrf, "points_per_yuan": "2", "basis": "spend", "window_days": "180"}
    assert client.post("/promotions/members/settings", data=setting).status_code == 200
    with unit_of_work() as s:
        assert [(t.key, t.least) for t in members.tiers(s)] == [("silver", 200_000)]
        rules = points.settings_of(s)
        assert (rules.points_per_yuan, rules.window_days) == (2, 180)


def test_refusals_are_named_beside_their_fields(signed_in):
    client = signed_in("operator")
    csrf = csrf_of(client.get("/promotions/members").text)
    base = {"csrf_token": csrf, "key": "gold", "name": "金卡", "least": "5000"}
    money = client.post("/promotions/members/tiers", data={**base, "least": "五千"})
    assert money.status_code == 400
    assert error_beside(money.text, "least") == "请输入金额（元），如 99.90"
    key = client.post("/promotions/members/tiers", data={**base, "key": "Gold Card"})
    assert error_beside(key.text, "key") == "标识为 1-64 位小写字母、数字、“-”或“_”"
    coupon = client.post("/promotions/members/tiers", data={**base, "coupon_template": "nope"})
    assert coupon.status_code == 404 and error_beside(coupon.text, "coupon_template")
    bad = {"csrf_token": csrf, "points_per_yuan": "-1", "basis": "visits", "window_days": "0"}
    refused = client.post("/promotions/members/settings", data=bad)
    assert refused.status_code == 400
    assert all(error_beside(refused.text, f) for f in ("points_per_yuan", "basis", "window_days"))
    client.cookies.set("siyu_locale", "en")
    english = client.post("/promotions/members/tiers", data={**base, "least": "1.234"})
    assert error_beside(english.text, "least") == "enter yuan with at most two decimals"
    analyst = signed_in("analyst")
    assert analyst.post("/promotions/members/tiers", data=base).status_code == 403


def test_the_customer_360_shows_the_tier_and_points_to_those_who_read_promotions(signed_in):
    ids = people(1)
    brand()
    order("Order Completed", "b0", "SO-1", "1200", NOW - timedelta(days=1))
    client = signed_in("analyst")
    assert 'hx-get="/promotions/members/card/' in client.get(f"/customers/{ids[0]}").text
    card = client.get(f"/promotions/members/card/{ids[0]}")
    assert card.status_code == 200
    assert "银卡" in card.text and "1,200 积分" in card.text
    assert "再消费 ¥3,800.00 升级为金卡" in card.text
    guide = signed_in("guide")
    assert guide.get(f"/promotions/members/card/{ids[0]}").status_code == 403
