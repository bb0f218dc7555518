"""The customers list and the customer 360 in the console: search, filters, keyset pages, guides."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from siyu.core.auth import create_token
from siyu.core.db import unit_of_work
from siyu.customers.models import Customer, CustomerMerge
from siyu.customers.service import find_customer, merge_customers
from siyu.profiles import search
from siyu.profiles.search import CustomerFilter, Viewer
from siyu.staff import service as staff
from siyu.staff.models import Staff
from siyu.tags import service as tags
from siyu.tags.models import CustomerTag
from siyu.touchpoints.service import register
from tests.console_support import csrf_of, error_beside
from tests.helpers import identify, post_batch, track

NOW = datetime.now(UTC)


def _ago(days: float) -> str:
    return (NOW - timedelta(days=days)).isoformat()


def _order(user_id: str, order_id: str, revenue: str, days: float, touchpoint: str) -> dict:
    properties = {"order_id": order_id, "revenue": revenue, "touchpoint": touchpoint}
    return track("Order Completed", user_id=user_id, properties=properties, timestamp=_ago(days))


@pytest.fixture
def brand(client, write_key, users) -> dict[str, int]:
    """Four customers, one in each lifecycle stage; Wang Fang is Guide Zhang's, Wang Xiaoming
    Guide Li's; two stores, registered touchpoints and a VIP tag on Wang Fang."""
    people = [
        identify(
            "u-1",
            {"name": "王芳", "phone": "13800000001"},
            timestamp=_ago(200),
            context={"touchpoint": "qr-store-a"},
        ),
        _order("u-1", "o-1", "88.00", 10, "qr-store-a"),
        identify(
            "u-2",
            {"name": "王小明", "phone": "13900000002"},
            timestamp=_ago(300),
            context={"touchpoint": "poster-b"},
        ),
        identify("u-3", {"name": "Li Lei", "email": "Li@Example.com"}, timestamp=_ago(160)),
        _order("u-3", "o-3", "120.50", 120, "mall-home"),
        identify("u-4", {"name": "Zhao Xin", "wechat_unionid": "ox-union-4"}, timestamp=_ago(3)),
    ]
    assert post_batch(client, write_key, people).status_code == 200
    with unit_of_work() as s:
        register(s, "qr-store-a", "长沙五一店柜台码", group="store")
        register(s, "poster-b", "海报 B", group="poster")
        a, b = (
            staff.create_store(s, "cs-a", "长沙五一店"),
            staff.create_store(s, "wh-b", "武汉光谷店"),
        )
        s.get(Staff, users["guide_staff_id"]).store_id = a.id
        s.get(Staff, users["other_staff_id"]).store_id = b.id
        ids = {ref: find_customer(s, ref).id for ref in ("u-1", "u-2", "u-3", "u-4")}
        staff.assign_owner(s, ids["u-1"], users["guide_staff_id"])
        staff.assign_owner(s, ids["u-2"], users["other_staff_id"])
        vip = tags.ensure_tag(s, "VIP", "enterprise")
        tags.tag_customer(s, ids["u-1"], vip.id)
        ids.update(store_a=a.id, store_b=b.id, vip=vip.id)
    return ids


def shown(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'data-customer="(\d+)"', html)}


def test_search_finds_a_customer_by_phone_name_or_any_identity(signed_in, brand):
    client = signed_in("admin")
    for term, who in [
        ("+86 138-0000-0001", "u-1"),
        ("王芳", "u-1"),
        ("王小", "u-2"),
        ("li@example.com", "u-3"),
        ("ox-union-4", "u-4"),
        ("u-2", "u-2"),
        ("Li L", "u-3"),
    ]:
        page = client.get("/customers", params={"q": term})
        assert page.status_code == 200
        assert shown(page.text) == {brand[who]}, term
    assert shown(client.get("/customers", params={"q": "王"}).text) == set()


def test_filters_narrow_the_list(signed_in, brand, users):
    client = signed_in("admin")
    cases = [
        ({}, {"u-1", "u-2", "u-3", "u-4"}),
        ({"owner": users["guide_staff_id"]}, {"u-1"}),
        ({"store": brand["store_b"]}, {"u-2"}),
        ({"tag": brand["vip"]}, {"u-1"}),
        ({"touchpoint": "poster-b"}, {"u-2"}),
        ({"lifecycle": "new"}, {"u-4"}),
        ({"lifecycle": "active"}, {"u-1"}),
        ({"lifecycle": "silent"}, {"u-3"}),
        ({"lifecycle": "churned"}, {"u-2"}),
        ({"lifecycle": "active", "owner": users["other_staff_id"]}, set()),
    ]
    for params, expected in cases:
        page = client.get("/customers", params=params)
        assert shown(page.text) == {brand[ref] for ref in expected}, params


def test_the_list_shows_what_an_operator_needs_in_each_row(signed_in, brand):
    page = signed_in("operator").get("/customers", params={"q": "王芳"}).text
    for text in ("13800000001", "Guide Zhang", "长沙五一店", "长沙五一店柜台码", "¥88.00"):
        assert text in page


def _customers(session, count: int) -> list[int]:
    rows = [Customer(traits={"name": f"c{n}"}, first_seen_at=NOW) for n in range(count)]
    session.add_all(rows)
    session.flush()
    return [c.id for c in rows]


def _walk(session, filters: CustomerFilter, size: int) -> list[int]:
    seen, after = [], None
    while True:
        page = search.list_customers(session, filters, Viewer("admin"), after=after, size=size)
        seen += [row.id for row in page.rows]
        if page.next_after is None:
            return seen
        after = page.next_after


def test_keyset_pages_return_every_customer_exactly_once(session):
    made = _customers(session, 23)
    merged = session.get(Customer, made[5])
    merged.merged_into_id = made[6]
    session.flush()
    seen = _walk(session, CustomerFilter(), size=5)
    assert seen == sorted(set(made) - {made[5]}, reverse=True)


def test_narrow_filters_page_through_a_bounded_scan_without_losing_anyone(session, monkeypatch):
    made = _customers(session, 30)
    vip = tags.ensure_tag(session, "VIP")
    tagged = made[::4]
    for customer_id in tagged:
        tags.tag_customer(session, customer_id, vip.id)
    monkeypatch.setattr(search, "SCAN_BUDGET", 7)
    first = search.list_customers(session, CustomerFilter(tag_id=vip.id), Viewer("admin"), size=5)
    assert first.cut_short and first.next_after is not None
    assert _walk(session, CustomerFilter(tag_id=vip.id), size=3) == sorted(tagged, reverse=True)


def test_the_next_page_link_works_without_javascript(signed_in, brand):
    client = signed_in("admin")
    first = client.get("/customers", params={"q": "", "lifecycle": ""})
    assert 'data-test="next-page"' not in first.text
    with unit_of_work() as s:
        _customers(s, search.PAGE_SIZE)
    first = client.get("/customers").text
    link = re.search(r'rel="next" data-test="next-page" href="([^"]+)"', first).group(1)
    second = client.get(link.replace("&amp;", "&"))
    assert shown(second.text) and not shown(second.text) & shown(first)
    assert len(shown(first) | shown(second.text)) == search.PAGE_SIZE + 4


def test_filters_swap_only_the_results_with_htmx(signed_in, brand):
    headers = {"HX-Request": "true", "HX-Target": "customer-results"}
    page = signed_in("admin").get("/customers", params={"q": "王芳"}, headers=headers)
    assert "<html" not in page.text and shown(page.text) == {brand["u-1"]}
    assert page.headers["server-timing"].startswith("app;dur=")


def test_a_bad_filter_is_shown_beside_it_and_lists_nobody(signed_in, brand):
    client = signed_in("admin")
    page = client.get("/customers", params={"store": "HZ-01", "lifecycle": "dormant"})
    assert page.status_code == 400 and shown(page.text) == set()
    assert 'data-error-for="store">请输入整数<' in page.text
    assert 'data-error-for="lifecycle">请从列出的选项中选择<' in page.text
    assert 'data-test="empty"' not in page.text  # not "no customers yet": the filters are wrong

    client.cookies.set("siyu_locale", "en")
    headers = {"HX-Request": "true", "HX-Target": "customer-results"}
    swapped = client.get("/customers", params={"after": "-1"}, headers=headers)
    assert swapped.status_code == 200 and "<html" not in swapped.text  # htmx swaps a 2xx only
    assert 'data-error-for="after">must be at least 0<' in swapped.text


def test_customer_360_shows_traits_identities_tags_orders_timeline_and_merges(
    signed_in, brand, session
):
    merge_customers(session, "u-4", "u-1", actor="user:admin@brand.cn")
    session.commit()
    page = signed_in("admin").get(f"/customers/{brand['u-1']}")
    assert page.status_code == 200
    html = page.text
    for text in ("王芳", "13800000001", "ox-union-4", "VIP", "o-1", "¥88.00", "Guide Zhang"):
        assert text in html, text
    timeline = html.split('data-test="timeline"')[1].split("</section>")[0]
    assert "Order Completed" in timeline and "长沙五一店柜台码" in timeline
    merges = html.split('data-test="merges"')[1]
    assert f"#{brand['u-4']}" in merges and 'data-test="undo-merge"' in merges


def test_an_identity_value_leads_to_the_customer(signed_in, brand):
    answer = signed_in("analyst").get("/customers/13800000001", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/customers/{brand['u-1']}"


def test_a_guide_sees_only_their_own_customers(signed_in, brand):
    client = signed_in("guide")
    assert shown(client.get("/customers").text) == {brand["u-1"]}
    assert shown(client.get("/customers", params={"q": "13900000002"}).text) == set()
    assert client.get(f"/customers/{brand['u-1']}").status_code == 200
    assert client.get(f"/customers/{brand['u-2']}").status_code == 404
    assert client.get("/customers/13900000002").status_code == 404


def test_a_guide_token_gets_404_for_another_guides_customer(client, brand, users):
    with unit_of_work() as s:
        token, secret = create_token(s, "guide-app", "guide", users["guide_staff_id"])
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get(f"/api/customers/{brand['u-1']}", headers=headers).status_code == 200
    assert client.get(f"/api/customers/{brand['u-2']}", headers=headers).status_code == 404


def test_a_guide_never_sees_a_full_phone_not_even_of_their_own_customers(signed_in, brand, users):
    guide = Viewer("guide", users["guide_staff_id"])
    assert not guide.may_see_phone(users["guide_staff_id"]) and not guide.may_see_phone(None)
    assert Viewer("analyst").may_see_phone(users["other_staff_id"])
    client = signed_in("guide")
    page = client.get("/customers/13800000001").text
    assert "13800000001" not in page and "138****0001" in page
    listed = client.get("/customers").text
    assert "13800000001" not in listed and "138****0001" in listed
    # Searching by the full number finds the customer; the page does not write it back.
    for typed in ("13800000001", "+86 138-0000-0001"):
        found = client.get("/customers", params={"q": typed})
        assert shown(found.text) == {brand["u-1"]}
        assert "13800000001" not in found.text and "0000-0001" not in found.text
        swapped = client.get(
            "/customers",
            params={"q": typed},
            headers={"HX-Request": "true", "HX-Target": "customer-results"},
        )
        assert shown(swapped.text) == {brand["u-1"]} and "13800000001" not in swapped.text
    operator = signed_in("operator").get("/customers", params={"q": "13800000001"}).text
    assert 'value="13800000001"' in operator


def test_a_guide_token_gets_the_360_with_phones_masked(client, brand, users):
    with unit_of_work() as s:
        _, secret = create_token(s, "guide-phone", "guide", users["guide_staff_id"])
    answer = client.get(
        f"/api/customers/{brand['u-1']}", headers={"Authorization": f"Bearer {secret}"}
    )
    assert answer.status_code == 200
    assert "13800000001" not in answer.text and "138****0001" in answer.text


def test_phones_in_the_list_are_masked_for_guides_only(session, brand, users):
    found = session.execute(
        select(*search._ROW_COLUMNS, search.lifecycle_stage(NOW).label("lifecycle")).where(
            Customer.id.in_([brand["u-1"], brand["u-2"]])
        )
    ).all()
    guide = search._rows(session, found, Viewer("guide", users["guide_staff_id"]))
    assert all(row.phone_hidden for row in guide)
    assert not any(row.phone_hidden for row in search._rows(session, found, Viewer("admin")))


def test_an_analyst_cannot_undo_a_merge_and_an_operator_can(signed_in, brand, session):
    merge_customers(session, "u-4", "u-1", actor="user:admin@brand.cn")
    session.commit()
    merge_id = session.scalar(select(CustomerMerge.id))
    analyst = signed_in("analyst")
    token = csrf_of(analyst.get(f"/customers/{brand['u-1']}").text)
    denied = analyst.post(f"/customers/merges/{merge_id}/undo", data={"csrf_token": token})
    assert denied.status_code == 403
    operator = signed_in("operator")
    page = operator.get(f"/customers/{brand['u-1']}").text
    assert 'data-test="undo-merge"' in page
    done = operator.post(
        f"/customers/merges/{merge_id}/undo",
        data={"csrf_token": csrf_of(page)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    session.expire_all()
    assert session.get(CustomerMerge, merge_id).undone_at is not None
    assert session.get(Customer, brand["u-4"]).merged_into_id is None
    assert 'role="status"' in operator.get(done.headers["location"]).text


def test_an_operator_tags_a_customer_and_the_list_filters_by_it(signed_in, brand):
    operator = signed_in("operator")
    page = operator.get(f"/customers/{brand['u-3']}").text
    answer = operator.post(
        f"/customers/{brand['u-3']}/tags",
        data={"csrf_token": csrf_of(page), "name": "高潜", "group": "behaviour"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    tag_id = re.search(r'value="(\d+)">高潜<', operator.get("/customers").text).group(1)
    assert shown(operator.get("/customers", params={"tag": tag_id}).text) == {brand["u-3"]}
    analyst = signed_in("analyst")
    assert "Add tag" not in analyst.get(f"/customers/{brand['u-3']}").text


def test_both_languages_render(signed_in, brand):
    client = signed_in("admin")
    chinese = client.get("/customers").text
    assert "客户" in chinese and "首次触点" in chinese
    client.cookies.set("siyu_locale", "en")
    english = client.get("/customers").text
    assert "First touchpoint" in english
    assert "Merge history" in client.get(f"/customers/{brand['u-1']}").text


def test_an_empty_brand_says_what_to_do_next(signed_in):
    page = signed_in("admin").get("/customers").text
    assert "siyu demo" in page and "siyu import customers" in page and "/v1/batch" in page


def test_a_bad_tag_on_a_customer_is_refused_beside_its_field_in_both_languages(
    signed_in, brand, session
):
    operator = signed_in("operator")
    token = csrf_of(operator.get(f"/customers/{brand['u-3']}").text)
    before = session.scalar(select(func.count()).select_from(CustomerTag))
    refused = operator.post(
        f"/customers/{brand['u-3']}/tags", data={"csrf_token": token, "name": "x" * 65}
    )
    assert refused.status_code == 400
    assert error_beside(refused.text, "name") == "最多 64 个字符"
    operator.cookies.set("siyu_locale", "en")
    refused = operator.post(
        f"/customers/{brand['u-3']}/tags",
        data={"csrf_token": token, "name": "高潜", "group": "nope"},
    )
    assert refused.status_code == 400
    assert error_beside(refused.text, "group") == "no such tag group"
    assert 'value="高潜"' in refused.text
    assert session.scalar(select(func.count()).select_from(CustomerTag)) == before


def test_a_guide_notes_their_own_customer_on_the_360_and_nobody_elses(signed_in, brand):
    guide = signed_in("guide")
    page = guide.get(f"/customers/{brand['u-1']}").text
    added = guide.post(
        f"/customers/{brand['u-1']}/notes",
        data={"csrf_token": csrf_of(page), "body": "喜欢小包装"},
        follow_redirects=False,
    )
    assert added.status_code == 303 and added.headers["location"].endswith("#notes")
    assert (
        '<span data-test="note">喜欢小包装</span>' in guide.get(f"/customers/{brand['u-1']}").text
    )
    empty = guide.post(
        f"/customers/{brand['u-1']}/notes", data={"csrf_token": csrf_of(page), "body": "  "}
    )
    assert empty.status_code == 400 and 'data-error-for="body"' in empty.text
    others = guide.post(
        f"/customers/{brand['u-2']}/notes", data={"csrf_token": csrf_of(page), "body": "x"}
    )
    assert others.status_code == 404
    analyst = signed_in("analyst").get(f"/customers/{brand['u-1']}").text
    assert "喜欢小包装" in analyst and 'data-test="add-note"' not in analyst
