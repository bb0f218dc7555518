"""The guide's workbench: their own customers as cards with filters (stage, last order, tag),
their loss alerts and open tasks; phones masked; nobody else's customers; guides only."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from siyu.core.db import unit_of_work
from siyu.customers.models import Customer, Identity
from siyu.orders.models import Order
from siyu.tags import service as tags
from siyu.wecom.models import LossAlert

NOW = datetime.now(UTC)


def _customers(users) -> dict[str, int]:
    """Zhang's: 王芳 (ordered 10 days ago, VIP), 李娜 (ordered 120 days ago: silent), 赵磊 (never
    ordered, seen long ago); Li's: 陈静."""
    zhang, li = users["guide_staff_id"], users["other_staff_id"]
    with unit_of_work() as s:
        made = {
            "fang": Customer(
                traits={"name": "王芳"}, owner_id=zhang, first_seen_at=NOW - timedelta(400)
            ),
            "na": Customer(
                traits={"name": "李娜"}, owner_id=zhang, first_seen_at=NOW - timedelta(400)
            ),
            "lei": Customer(
                traits={"name": "赵磊"},
                owner_id=zhang,
                first_seen_at=NOW - timedelta(400),
                last_seen_at=NOW - timedelta(300),
            ),
            "jing": Customer(
                traits={"name": "陈静"}, owner_id=li, first_seen_at=NOW - timedelta(400)
            ),
        }
        s.add_all(made.values())
        s.flush()
        s.add(Identity(type="phone", value="13800008000", customer_id=made["fang"].id))
        for key, days in (("fang", 10), ("na", 120)):
            s.add(
                Order(
                    order_id=f"wb-{key}",
                    customer_id=made[key].id,
                    source="t",
                    status="completed",
                    amount_fen=9900,
                    paid_at=NOW - timedelta(days),
                )
            )
        tags.tag_customer(s, made["fang"].id, tags.ensure_tag(s, "VIP").id)
        s.add(
            LossAlert(
                kind="del_follow_user",
                external_userid="wm-lei",
                customer_id=made["lei"].id,
                staff_id=zhang,
                occurred_at=NOW,
            )
        )
        return {key: c.id for key, c in made.items()}


def shown(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'data-test="my-customer" data-customer="(\d+)"', html)}


def test_a_guide_filters_their_own_customers_by_stage_last_order_and_tag(signed_in, users):
    ids = _customers(users)
    guide = signed_in("guide")
    page = guide.get("/workbench")
    assert page.status_code == 200
    assert shown(page.text) == {ids["fang"], ids["na"], ids["lei"]}  # not Li's 陈静
    assert "138****8000" in page.text and "13800008000" not in page.text
    assert 'data-test="loss-row"' in page.text and "赵磊" in page.text
    assert 'data-test="silent-alert"' in page.text
    assert shown(guide.get("/workbench", params={"lifecycle": "silent"}).text) == {ids["na"]}
    by_order = {
        choice: shown(guide.get("/workbench", params={"last_order": choice}).text)
        for choice in ("30d", "180d", "over_180d", "never")
    }
    assert by_order == {
        "30d": {ids["fang"]},
        "180d": {ids["fang"], ids["na"]},
        "over_180d": set(),
        "never": {ids["lei"]},
    }
    vip = re.search(r'<option value="(\d+)">VIP<', page.text).group(1)
    assert shown(guide.get("/workbench", params={"tag": vip}).text) == {ids["fang"]}


def test_a_bad_filter_is_named_and_others_cannot_open_the_workbench(signed_in, users):
    _customers(users)
    guide = signed_in("guide")
    refused = guide.get("/workbench", params={"last_order": "yesterday"})
    assert refused.status_code == 400 and 'data-error-for="last_order"' in refused.text
    guide.cookies.set("siyu_locale", "en")
    english = guide.get("/workbench")
    assert "My workbench" in english.text and "Loss alerts" in english.text
    assert signed_in("operator").get("/workbench").status_code == 403
