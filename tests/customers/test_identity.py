"""Identity resolution: who an event belongs to, and when two records become one."""

from __future__ import annotations

from sqlalchemy import func, select

from siyu.customers.identity import normalize
from siyu.customers.models import Customer, CustomerMerge, Identity
from siyu.customers.service import find_customer
from siyu.profiles.service import customer_360
from tests.helpers import identify, post_batch, track


def _live_customers(session) -> int:
    return session.scalar(select(func.count(Customer.id)).where(Customer.merged_into_id.is_(None)))


def test_anonymous_history_joins_the_customer_on_identify(client, write_key, session):
    post_batch(
        client,
        write_key,
        [
            track("Product Viewed", user_id=None, anonymousId="dev-1"),
            track("Product Added", user_id=None, anonymousId="dev-1"),
        ],
    )
    post_batch(client, write_key, [identify("u-9", {"phone": "13900001111"}, anonymousId="dev-1")])
    view = customer_360(session, "13900001111")
    assert {(i["type"], i["value"]) for i in view["identities"]} == {
        ("user_id", "u-9"),
        ("anonymous_id", "dev-1"),
        ("phone", "13900001111"),
    }
    assert {e["event"] for e in view["latest_events"]} >= {"Product Viewed", "Product Added"}
    assert _live_customers(session) == 1


def test_anonymous_customer_is_merged_when_identify_names_a_known_user(client, write_key, session):
    post_batch(client, write_key, [identify("u-1", {"email": "Li@Example.com"})])
    post_batch(client, write_key, [track("Product Viewed", user_id=None, anonymousId="dev-2")])
    post_batch(client, write_key, [identify("u-1", anonymousId="dev-2")])
    assert _live_customers(session) == 1
    merge = session.scalar(select(CustomerMerge))
    assert merge.reason == "identify"
    assert find_customer(session, "li@example.com").id == find_customer(session, "dev-2").id


def test_two_identified_customers_are_never_merged_implicitly(client, write_key, session):
    post_batch(
        client,
        write_key,
        [identify("u-1", {"phone": "13800000001"}), identify("u-2", {"phone": "13800000002"})],
    )
    # One message naming both people's ids: an error upstream, not a reason to merge them.
    post_batch(client, write_key, [identify("u-1", {"phone": "13800000002"})])
    assert _live_customers(session) == 2
    assert session.scalar(select(func.count(CustomerMerge.id))) == 0
    assert find_customer(session, "13800000002").id == find_customer(session, "u-2").id


def test_blocked_values_never_join_two_customers(client, write_key, session):
    post_batch(
        client,
        write_key,
        [
            identify("u-1", {"phone": "00000000000", "email": "null"}, anonymousId="anonymous"),
            identify("u-2", {"phone": "00000000000", "email": "null"}, anonymousId="anonymous"),
        ],
    )
    assert _live_customers(session) == 2
    assert session.scalar(select(func.count(Identity.id))) == 2


def test_per_type_limit_makes_a_second_user_on_one_device_a_new_customer(
    client, write_key, session
):
    post_batch(
        client,
        write_key,
        [identify("mum", anonymousId="family-ipad"), identify("son", anonymousId="family-ipad")],
    )
    assert _live_customers(session) == 2
    assert find_customer(session, "son").id != find_customer(session, "mum").id


def test_alias_moves_the_anonymous_history_to_the_user(client, write_key, session):
    post_batch(client, write_key, [track("Product Viewed", user_id=None, anonymousId="dev-7")])
    post_batch(client, write_key, [identify("u-7")])
    response = client.post(
        "/v1/alias", json={"userId": "u-7", "previousId": "dev-7"}, auth=(write_key, "")
    )
    assert response.status_code == 200
    assert _live_customers(session) == 1
    assert session.scalar(select(CustomerMerge.reason)) == "alias"


def test_phone_is_normalised_before_matching(client, write_key, session):
    post_batch(client, write_key, [identify("u-1", {"phone": "+86 138-0013-8000"})])
    post_batch(client, write_key, [identify(None, {"phone": "13800138000"}, anonymousId="x")])
    assert _live_customers(session) == 1


def test_normalise_rejects_what_cannot_identify():
    assert normalize("phone", "12345") is None
    assert normalize("email", "not-an-email") is None
    assert normalize("user_id", "-1") is None
    assert normalize("user_id", "0000000") is None
    assert normalize("email", " A@B.CN ") == "a@b.cn"
    assert normalize("phone", "008613912345678") == "13912345678"
