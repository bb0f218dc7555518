"""The trait dictionary in Settings, and the names it gives on the customer 360 and the audit
log; events by their catalogue names."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from siyu.core.audit import AuditEntry
from siyu.core.db import get_engine, unit_of_work
from siyu.customers.service import find_customer
from siyu.settings.models import TraitLabel
from siyu.staff import service as staff
from siyu.touchpoints.service import register
from tests.console_support import csrf_of, error_beside
from tests.helpers import identify, post_batch, track


@pytest.fixture
def wang(client, write_key) -> int:
    """A customer with common traits, an order and a page view."""
    traits = {"name": "王芳", "gender": "female", "city": "武汉", "birthday": "1990-05-12"}
    events = [
        identify("u-1", traits),
        track("Order Completed", user_id="u-1", properties={"order_id": "o-1", "revenue": "9"}),
        {"type": "page", "userId": "u-1", "name": "首页", "messageId": "p-1"},
    ]
    assert post_batch(client, write_key, events).status_code == 200
    with unit_of_work() as s:
        return find_customer(s, "u-1").id


def name_it(client, **fields):
    token = csrf_of(client.get("/settings/traits").text)
    return client.post(
        "/settings/traits", data={"csrf_token": token, **fields}, follow_redirects=False
    )


def traits_card(html: str) -> str:
    return html.split('data-test="traits"', 1)[1].split("</section>", 1)[0]


def in_english(client) -> None:
    token = csrf_of(client.get("/").text)
    client.post("/lang", data={"locale": "en", "next": "/", "csrf_token": token})


def test_customer_360_shows_traits_and_values_by_name(signed_in, wang):
    card = traits_card(signed_in("admin").get(f"/customers/{wang}").text)
    for shown in ("性别", "女", "城市", "武汉", "生日", "1990-05-12", "姓名"):
        assert f">{shown}<" in card, shown
    assert ">gender<" not in card and ">female<" not in card


def test_customer_360_in_english_shows_english_names(signed_in, wang):
    client = signed_in("admin")
    in_english(client)
    card = traits_card(client.get(f"/customers/{wang}").text)
    assert ">Gender<" in card and ">Female<" in card and ">City<" in card


def test_the_timeline_names_events_as_the_catalogue_does(signed_in, wang):
    client = signed_in("admin")
    timeline = client.get(f"/customers/{wang}").text.split('data-test="timeline"', 1)[1]
    assert "完成订单" in timeline and "浏览页面: 首页" in timeline
    assert ">Order Completed<" not in timeline
    in_english(client)
    timeline = client.get(f"/customers/{wang}").text.split('data-test="timeline"', 1)[1]
    assert "Order completed" in timeline


def test_a_name_the_brand_gives_shows_on_every_customer(signed_in, wang, session):
    client = signed_in("operator")
    answer = name_it(client, trait="gender", value="female", zh="女士", en="Ms")
    assert answer.status_code == 303 and answer.headers["location"].endswith("done=named")
    card = traits_card(client.get(f"/customers/{wang}").text)
    assert ">女士<" in card
    page = client.get(answer.headers["location"]).text
    assert "女士" in page and "已保存" in page
    row = session.scalar(select(TraitLabel).where(TraitLabel.trait == "gender"))
    assert (row.value, row.zh, row.en) == ("female", "女士", "Ms")


def test_renaming_fills_the_form_and_forgetting_restores_the_built_in_name(signed_in, wang):
    client = signed_in("admin")
    form = client.get("/settings/traits", params={"trait": "city"}).text
    assert re.search(r'name="zh"[^>]*value="城市"', form)
    name_it(client, trait="city", zh="所在城市", en="Home city")
    assert ">所在城市<" in traits_card(client.get(f"/customers/{wang}").text)
    with unit_of_work() as s:
        label_id = s.scalar(select(TraitLabel.id).where(TraitLabel.trait == "city"))
    token = csrf_of(client.get("/settings/traits").text)
    client.post(f"/settings/traits/{label_id}/remove", data={"csrf_token": token})
    assert ">城市<" in traits_card(client.get(f"/customers/{wang}").text)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"trait": "gender", "value": "", "zh": " ", "en": "Sex"}, "zh"),
        ({"trait": "  ", "value": "", "zh": "性别", "en": ""}, "trait"),
        ({"trait": "gender", "value": "", "zh": "性" * 101, "en": ""}, "zh"),
        ({"trait": "g" * 65, "value": "", "zh": "性别", "en": ""}, "trait"),
    ],
)
def test_a_refused_name_says_which_field_is_wrong(signed_in, fields, field, session):
    answer = name_it(signed_in("admin"), **fields)
    assert answer.status_code == 400
    assert error_beside(answer.text, field), answer.text
    assert session.scalar(select(TraitLabel)) is None


def test_only_staff_who_edit_customers_open_the_dictionary(signed_in):
    assert signed_in("analyst").get("/settings/traits").status_code == 403
    assert signed_in("guide").get("/settings/traits").status_code == 403
    assert 'href="/settings/traits"' in signed_in("admin").get("/settings").text


def test_the_audit_log_names_fields_traits_and_stores(signed_in, wang, session):
    client = signed_in("admin")
    name_it(client, trait="gender", value="female", zh="女士", en="Ms")
    with unit_of_work() as s:
        s.info["actor"] = "user:admin@brand.cn"
        store = staff.create_store(s, "cs-a", "长沙五一店")
        customer = find_customer(s, "u-1")
        customer.traits = {**customer.traits, "gender": "male"}
        customer.store_id = store.id
        register(s, "qr-a", "柜台码", group="store", store_id=store.id)
    page = client.get("/settings/audit").text
    rows = page.split("<tbody>", 1)[1]
    assert "属性名称" in rows and "中文名" in rows and "女士" in rows  # the name just given
    assert "性别" in rows and ">女士<" in rows and ">男<" in rows  # the trait changed, by name
    assert "长沙五一店" in rows and ">store_id<" not in rows
    assert "trait_labels" not in rows
    assert "分组" in rows and ">门店<" in rows and ">store<" not in rows  # a coded value, named
    with unit_of_work() as s:
        assert s.scalar(select(AuditEntry).where(AuditEntry.entity == "trait_labels"))


@contextmanager
def label_reads() -> Iterator[list[str]]:
    """The statements that read the brand's trait names, while the block runs."""
    seen: list[str] = []

    def heard(conn, cursor, statement, *_) -> None:
        if "FROM trait_labels" in statement and statement.lstrip().startswith("SELECT"):
            seen.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", heard)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", heard)


@pytest.mark.parametrize(
    "path", ["/settings/traits?trait=gender", "/settings/audit", "/segments/new"]
)
def test_a_page_reads_the_brands_names_once(signed_in, wang, path):
    client = signed_in("admin")
    name_it(client, trait="gender", value="female", zh="女士", en="Ms")
    with label_reads() as reads:
        assert client.get(path).status_code == 200
    assert len(reads) == 1, reads
