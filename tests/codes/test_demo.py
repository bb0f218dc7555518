"""The demo brand's channel codes: one per scannable touchpoint, counted on their page."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from typer.testing import CliRunner

from siyu.cli import app
from siyu.codes.demo import seed_demo
from siyu.codes.models import ChannelCode, CodeGuide
from siyu.console.numbers import numbers
from siyu.core.periods import Period
from siyu.demo import service
from siyu.staff.models import Staff
from siyu.staff.routing import capacity_warnings
from tests.demo.test_demo import NOW, PLAN


def test_the_demo_gets_routed_codes_whose_scans_are_counted(session):
    service.build(PLAN, NOW)
    codes = {c.code: c for c in session.scalars(select(ChannelCode))}
    assert {"store-cs-wuyi", "poster-referral", "item-cup", "guide-persona"} <= set(codes)
    assert "mp-home" not in codes  # a mini-program page is no QR code
    store_routes = session.scalars(
        select(CodeGuide).where(CodeGuide.code_id == codes["store-cs-wuyi"].id)
    ).all()
    backups = [r for r in store_routes if r.is_backup]
    assert len(store_routes) == 4 and len(backups) == 1
    assert session.get(Staff, backups[0].staff_id).role == "manager"
    assert [w.name for w in capacity_warnings(session)] == ["山茶小茶"]
    assert seed_demo() == 0  # a second run makes nothing new
    found = numbers(Period.ending(date(2025, 11, 30), 60))
    assert found["store-cs-wuyi"].scans > 0 and found["store-cs-wuyi"].contacts > 0


def test_a_demo_store_code_scanned_shows_its_guide_and_store(session, client):
    service.build(PLAN, NOW)
    page = client.get("/q/store-cs-wuyi", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200 and 'data-test="store"' in page.text
    assert "你的导购是" in page.text
    # `make demo PORT=8100`: what the demo prints follows the port it is served on.
    printed = CliRunner().invoke(app, ["demo", "--if-empty", "--port", "8100"])
    assert printed.exit_code == 0 and "http://127.0.0.1:8100/" in printed.output
    assert ":8000" not in printed.output
