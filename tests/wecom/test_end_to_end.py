"""The issue's headline check, on the demo brand: an operator makes a code for a store poster
and prints it; a scan, then the WeCom add through the fake server and the callback, becomes a
customer owned by the routed guide, welcomed, tagged, and counted on the code's page."""

from __future__ import annotations

import json
import re
import time

from sqlalchemy import select
from typer.testing import CliRunner

from siyu.cli import app
from siyu.codes.landing import forget_cached
from siyu.codes.service import find_code
from siyu.console.dashboard import today
from siyu.console.numbers import numbers
from siyu.core.db import session_factory
from siyu.core.periods import Period
from siyu.customers.service import customer_of
from siyu.demo.brand import STORES, staff_of
from siyu.events.models import OutboxEvent
from siyu.events.shipper import ship_all
from siyu.staff.models import Staff
from siyu.tags.service import tags_of
from siyu.wecom.models import ContactWay
from tests.console_support import csrf_of
from tests.wecom.conftest import added, run_jobs

WECHAT_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0.50"


def demo_store() -> dict:
    """The demo brand (small), and its first store's first guide: the poster's guide."""
    loaded = CliRunner().invoke(app, ["demo", "--customers", "60", "--days", "14"])
    assert loaded.exit_code == 0, loaded.output
    store = STORES[0]
    guide_userid = next(s.wecom_userid for s in staff_of(store) if s.role == "guide")
    with session_factory()() as s:
        guide = s.scalar(select(Staff).where(Staff.wecom_userid == guide_userid))
        return {"store": guide.store_id, "guide": guide.id, "userid": guide_userid}


def test_a_poster_scan_becomes_a_welcomed_tagged_counted_customer(
    signed_in, post_callback, fake_wecom
):
    seeded = demo_store()
    fake_wecom.state.add_contact("wm-e2e", "Chen", seeded["userid"])
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
            "staff_id": str(seeded["guide"]),
            "target_kind": "wecom_contact_way",
            "tags": "New guest, Jing'an",
            "welcome": "Welcome to Shancha Jing'an!",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    # … and prints it: the QR code as PNG (for the print shop) and SVG.
    png = operator.get("/codes/poster-jingan/qr.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert operator.get("/codes/poster-jingan/qr.svg").text.lstrip().startswith("<")

    # 2. On the code's page, the operator makes its WeCom contact way (state = the code).
    page = operator.get("/codes/poster-jingan").text
    assert 'data-test="make-contact-way"' in page
    made_way = operator.post(
        "/codes/poster-jingan/contact-way",
        data={"csrf_token": csrf_of(page)},
        follow_redirects=False,
    )
    assert made_way.status_code == 303, made_way.text
    with session_factory()() as s:
        way = s.scalar(select(ContactWay).where(ContactWay.code == "poster-jingan"))
        qr_code = way.qr_code
    assert way.userids == [seeded["userid"]]
    assert way.config_id in operator.get("/codes/poster-jingan").text

    # 3. A phone scans the printed poster: counted, then sent on to the contact way.
    forget_cached()
    scan = operator.get(
        "/q/poster-jingan", headers={"User-Agent": WECHAT_UA}, follow_redirects=False
    )
    assert scan.status_code == 302 and scan.headers["location"] == qr_code
    with session_factory()() as s:
        scans = select(OutboxEvent).where(OutboxEvent.event == "QR Code Scanned")
        scanned = s.scalar(scans.order_by(OutboxEvent.id.desc()).limit(1))  # after the demo's
        routed = json.loads(scanned.properties)["guide"]
        routed_staff = s.scalar(select(Staff).where(Staff.wecom_userid == routed))
    assert routed_staff.id == seeded["guide"]

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
    counted = numbers(Period.ending(today(), 7), key="poster-jingan")["poster-jingan"]
    assert (counted.scans, counted.contacts) == (1, 1)
    page = operator.get("/codes/poster-jingan")
    assert page.status_code == 200
    kpis = re.findall(
        r'class="card kpi"[^>]*><div class="label">([^<]+)</div>'
        r'<div class="value">([^<]+)</div>',
        page.text,
    )
    assert dict(kpis)["扫码"] == "1" and dict(kpis)["新联系人"] == "1", kpis
