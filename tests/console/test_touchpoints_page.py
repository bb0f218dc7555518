"""The touchpoints page: the registry with each touchpoint's numbers from the lake, and its CSV."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest

from siyu.console.numbers import numbers
from tests.console.test_dashboard import at, load_known_brand, to_lake
from tests.console_support import csrf_of
from tests.helpers import post_batch, track


@pytest.fixture
def brand(client, write_key, users):
    load_known_brand(client, write_key)
    to_lake()
    return users


def row_of(page: str, code: str) -> list[str]:
    """The cells of one touchpoint's row, tags stripped."""
    row = re.search(rf'<tr data-code="{re.escape(code)}".*?</tr>', page, re.S).group(0)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in cells]


def test_numbers_per_touchpoint_match_the_brand_counted_by_hand(brand):
    from siyu.console.dashboard import today
    from siyu.core.periods import Period

    found = numbers(Period.ending(today(), 30), by="touchpoint")
    numbers_of = {
        code: (n.new_customers, n.scans, n.orders, n.gmv_fen) for code, n in found.items()
    }
    # (new customers, scans, orders, GMV fen). store: u1 and the merged u8; ad: u2 (u8's ad scan
    # counts as a scan, not a customer); u3 came through the menu before the period, u9 inside it.
    assert numbers_of["store-sh-01"] == (2, 2, 1, 10000)
    assert numbers_of["ad-douyin"] == (1, 2, 1, 3000)
    assert numbers_of["oa-menu"] == (1, 1, 0, 0)
    assert numbers_of.get("poster-x", (0, 0, 0, 0)) == (0, 0, 0, 0)


def test_page_lists_the_registry_with_its_numbers(brand, signed_in):
    page = signed_in("analyst").get("/touchpoints?period=30")
    assert page.status_code == 200
    assert row_of(page.text, "store-sh-01") == [
        "store-sh-01",
        "Jing'an store counter",
        "门店",
        "自有",
        "–",
        "–",
        "2",
        "2",
        "0",
        "0.0%",
        "0",
        "1",
        "¥100.00",
    ]
    assert row_of(page.text, "ad-douyin")[6:] == ["1", "2", "0", "0.0%", "0", "1", "¥30.00"]
    assert re.search(r'data-test="total-new">4<', page.text)
    # Sorted by new customers: the store first.
    assert page.text.index('data-code="store-sh-01"') < page.text.index('data-code="oa-menu"')


def test_wecom_adds_and_deletions_count_under_the_touchpoint(client, write_key, signed_in):
    """u1 came through the store's code (scan T-3), added the guide (T-2) and deleted them
    (T-1): the store shows one new contact for its two scans, and one deletion."""
    load_known_brand(client, write_key)
    added = track("Contact Added", "u1", properties={"touchpoint": "store-sh-01"}, timestamp=at(2))
    deleted = track("Contact Deleted", "u1", timestamp=at(1))
    assert post_batch(client, write_key, [added, deleted]).status_code == 200
    to_lake()
    page = signed_in("analyst").get("/touchpoints?period=30")
    assert row_of(page.text, "store-sh-01")[6:11] == ["2", "2", "1", "50.0%", "1"]
    assert row_of(page.text, "ad-douyin")[8:11] == ["0", "0.0%", "0"]
    assert re.search(r'data-test="total-contacts">1<', page.text)
    rows = list(csv.reader(io.StringIO(client.get("/touchpoints.csv?period=30").text)))
    assert {row[0]: row[9:12] for row in rows[1:]}["store-sh-01"] == ["1", "50.0%", "1"]


def test_a_code_seen_in_events_but_not_registered_is_flagged(brand, signed_in):
    page = signed_in("admin").get("/touchpoints?period=90")
    poster = row_of(page.text, "poster-x")
    assert "未注册" in poster[1]
    assert poster[6:] == ["1", "1", "0", "0.0%", "0", "0", "¥0.00"]
    assert 'data-test="unregistered-notice"' in page.text


def test_a_group_filter_keeps_that_group(brand, signed_in):
    page = signed_in("admin").get("/touchpoints?period=30&group=paid_ad")
    assert 'data-code="ad-douyin"' in page.text
    assert 'data-code="store-sh-01"' not in page.text


def test_csv_export_has_every_row_and_yuan_amounts(brand, signed_in):
    client = signed_in("operator")
    response = client.get("/touchpoints.csv?period=30")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "编码" and rows[0][-1] == "成交额（元）"
    by_code = {row[0]: row for row in rows[1:]}
    assert set(by_code) == {"store-sh-01", "ad-douyin", "oa-menu", "poster-x"}
    assert by_code["store-sh-01"][7:] == ["2", "2", "0", "0.0%", "0", "1", "100.00"]
    assert by_code["poster-x"][6] == "否"


def test_csv_headers_follow_the_language(brand, signed_in):
    client = signed_in("analyst")
    page = client.get("/touchpoints")
    client.post("/lang", data={"locale": "en", "next": "/", "csrf_token": csrf_of(page.text)})
    text = client.get("/touchpoints.csv").content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Code,Touchpoint name,Group,Entry type")
    assert "Touchpoints" in client.get("/touchpoints").text


def test_no_touchpoints_shows_what_they_are_and_what_to_do(signed_in):
    page = signed_in("admin").get("/touchpoints")
    assert page.status_code == 200
    assert 'data-test="empty"' in page.text
    assert "siyu demo" in page.text


def test_touchpoints_before_the_lake_has_them_show_zeros(client, write_key, signed_in):
    post_batch(client, write_key, [track("QR Code Scanned", "u1", properties={"touchpoint": "t1"})])
    page = signed_in("admin").get("/touchpoints")
    assert row_of(page.text, "t1")[6:] == ["0", "0", "0", "–", "0", "0", "¥0.00"]


def test_guides_may_not_open_it_and_strangers_are_sent_to_login(brand, client, signed_in):
    assert signed_in("guide").get("/touchpoints").status_code == 403
    assert signed_in("guide").get("/touchpoints.csv").status_code == 403
    client.cookies.clear()
    response = client.get("/touchpoints.csv", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


@pytest.mark.parametrize(("path", "role", "words"), [("/segments", "guide", "客户列表")])
def test_section_pages_say_what_they_will_hold(signed_in, path, role, words):
    page = signed_in(role).get(path)
    assert page.status_code == 200
    assert 'data-test="section-empty"' in page.text and words in page.text


def test_section_pages_hide_links_a_role_cannot_follow(signed_in):
    assert 'href="/touchpoints"' not in signed_in("guide").get("/segments").text
    assert 'href="/touchpoints"' in signed_in("analyst").get("/segments").text
