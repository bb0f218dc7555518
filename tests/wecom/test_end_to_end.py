"""The issue's headline check: an operator makes a code for a store poster; a scan, then the
WeCom add through the fake server and the callback, becomes a customer owned by the routed
guide, welcomed, tagged, and counted on the code's numbers in the lake."""

from __future__ import annotations

import json
import time

from sqlalchemy import select
from typer.testing import CliRunner

from siyu.cli import app
from siyu.codes.landing import forget_cached
from siyu.codes.numbers import last_days, numbers
from siyu.codes.service import find_code
from siyu.console.dashboard import today
from siyu.core.db import session_factory, unit_of_work
from siyu.core.lake import duckdb_connection
from siyu.events.models import OutboxEvent
from siyu.events.shipper import ship_all
from siyu.staff.models import Staff
from siyu.staff.service import create_staff, create_store
from siyu.tags.service import tags_of
from siyu.wecom.records import customer_of
from tests.console_support import csrf_of
from tests.wecom.conftest import added, run_jobs

WECHAT_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0.50"


def seed_store() -> dict:
    with unit_of_work() as s:
        store = create_store(s, "sh-02", "Shanghai Jing'an")
        manager = create_staff(s, "Manager Wang", "manager", store.id, "wang")
        zhang = create_staff(s, "Guide Zhang", "guide", store.id, "zhang")
        zhang.manager_id = manager.id
        return {"store": store.id, "zhang": zhang.id}


def test_a_poster_scan_becomes_a_welcomed_tagged_counted_customer(
    signed_in, post_callback, fake_wecom
):
    seeded = seed_store()
    fake_wecom.state.add_contact("wm-e2e", "Chen", "zhang")
    operator = signed_in("operator")

    # 1. The operator creates the poster's code in the console.
    form = csrf_of(operator.get("/codes").text)
    made = operator.post(
        "/codes",
        data={
            "csrf_token": form,
            "name": "Jing'an counter poster",
            "code": "poster-jingan",
            "kind": "poster",
            "store_id": str(seeded["store"]),
            "staff_id": str(seeded["zhang"]),
            "target_kind": "wecom_contact_way",
            "tags": "New guest, Jing'an",
            "welcome": "Welcome to Shancha Jing'an!",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text

    # 2. Its WeCom contact way carries the code as `state`; the code now points at it.
    way = CliRunner().invoke(app, ["wecom", "contact-way", "poster-jingan", "--json"])
    assert way.exit_code == 0, way.output
    qr_code = json.loads(way.output)["qr_code"]

    # 3. A phone scans the printed poster: counted, then sent on to the contact way.
    forget_cached()
    scan = operator.get(
        "/q/poster-jingan", headers={"User-Agent": WECHAT_UA}, follow_redirects=False
    )
    assert scan.status_code == 302 and scan.headers["location"] == qr_code
    with session_factory()() as s:
        scanned = s.scalar(select(OutboxEvent).where(OutboxEvent.event == "QR Code Scanned"))
        routed = json.loads(scanned.properties)["guide"]
        routed_staff = s.scalar(select(Staff).where(Staff.wecom_userid == routed))
    assert routed_staff.id == seeded["zhang"]

    # 4. The customer adds the guide; WeCom calls back with the state and a WelcomeCode.
    answer = post_callback(
        added("wm-e2e", routed, state="poster-jingan", welcome="WC-e2e", at=int(time.time()))
    )
    assert answer.text == "success"
    assert run_jobs() >= 1

    with session_factory()() as s:
        customer = customer_of(s, "wecom_external_userid", "wm-e2e")
        assert customer.owner_id == routed_staff.id
        assert customer.first_touchpoint == find_code(s, "poster-jingan").code
        names = {t["name"] for t in tags_of(s, [customer.id])[customer.id]}
    assert names == {"New guest", "Jing'an"}
    welcome = fake_wecom.state.calls_to("send_welcome_msg")
    assert [c.body["welcome_code"] for c in welcome] == ["WC-e2e"]
    assert welcome[0].body["text"]["content"] == "Welcome to Shancha Jing'an!"

    # 5. Shipped to the lake, the code's numbers count the scan and the new contact.
    ship_all()
    with duckdb_connection() as conn:
        counted = numbers(conn, last_days(today(), 7), key="poster-jingan")["poster-jingan"]
    assert (counted.scans, counted.contacts) == (1, 1)
    page = operator.get("/codes/poster-jingan")
    assert page.status_code == 200
