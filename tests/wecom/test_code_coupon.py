"""A coupon for scanning a channel code (扫码领券): a journey entered by `Contact Added` from the
code hands each new contact one coupon, through the real WeCom callback and its job."""

from __future__ import annotations

import time

from sqlalchemy import select

from siyu.core.db import unit_of_work
from siyu.customers.service import customer_of
from siyu.journeys import service as journeys
from siyu.promotions import service as promotions
from siyu.promotions.models import Coupon
from tests.wecom.conftest import added, run_jobs
from tests.wecom.test_flows import shop  # noqa: F401 - the fixture


def _journey() -> None:
    with unit_of_work() as s:
        promotions.create_template(
            s, "scan-10", "扫码立减 10 元", "amount", amount_fen=1000, valid_days=14
        )
        definition = {
            "key": "poster-coupon",
            "name": "扫码领券",
            "entry": {"event": "Contact Added", "where": {"code": "poster-sh01"}},
            "steps": [{"id": "gift", "kind": "coupon", "template": "scan-10"}],
        }
        journeys.create_journey(s, definition, "test")
        journeys.publish(s, "poster-coupon", "test")


def test_a_contact_added_through_the_code_gets_one_coupon(
    post_callback,
    session,
    shop,  # noqa: F811
    fake_wecom,
):
    _journey()
    fake_wecom.state.add_contact("wm-zhou", "Zhou", "zhang")
    now = int(time.time())
    post_callback(added("wm-lin", "zhang", state="poster-sh01", at=now))
    post_callback(added("wm-lin", "zhang", state="poster-sh01", at=now))  # WeCom retries
    post_callback(added("wm-zhou", "zhang", at=now + 1))  # added without the code
    run_jobs()
    lin = customer_of(session, "wecom_external_userid", "wm-lin")
    zhou = customer_of(session, "wecom_external_userid", "wm-zhou")
    with unit_of_work() as s:
        held = [(c.customer_id, c.via, c.via_ref) for c in s.scalars(select(Coupon))]
    assert held == [(lin.id, "journey", "poster-coupon")]
    assert zhou.id not in {customer for customer, _, _ in held}
