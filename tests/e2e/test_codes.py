"""A store poster's channel code in the browser: create it, print it, scan it, see it counted."""

from __future__ import annotations

import time

import httpx
from playwright.sync_api import expect

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0.44"


def test_an_operator_creates_a_poster_code_and_sees_a_scan_counted(console, brand):
    page = console.page
    console.sign_in(brand.admin)
    console.open("/codes")
    page.fill("#c-name", "静安店收银台海报")
    page.select_option("#c-kind", "poster")
    page.select_option("#c-staff", str(brand.staff["zhang"]))
    page.fill("#c-target", f"{brand.url}/healthz")
    page.fill("#c-tags", "门店海报")
    console.submit("[data-test=create-code]", "code-created")
    expect(page.locator("[data-test=done]")).to_be_visible()
    code = page.inner_text("[data-test=code]")
    # The QR image is drawn and can be downloaded for the printer.
    assert page.eval_on_selector("[data-test=qr] img", "img => img.naturalWidth") > 100
    png = httpx.get(
        f"{brand.url}/codes/{code}/qr.png?download=1",
        cookies={c["name"]: c["value"] for c in page.context.cookies()},
    )
    assert png.content.startswith(b"\x89PNG")

    # A phone scans the poster: the landing counts it and sends the phone on.
    scan = httpx.get(f"{brand.url}/q/{code}", headers={"User-Agent": IPHONE})
    assert scan.status_code == 302 and scan.headers["location"] == f"{brand.url}/healthz"

    # The scan reaches the lake within seconds (processor, then shipper).
    deadline = time.monotonic() + 40
    while True:
        console.open(f"/codes/{code}")
        scans = page.inner_text("[data-test=kpi-scans] .value")
        if scans == "1" or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert scans == "1"
    console.submit("[data-test=lang-switch]", "code-english")
    assert "Scans" in page.inner_text("[data-test=kpi-scans]")
    console.open("/codes")
    expect(page.locator(f"tr[data-code='{code}'] [data-test=scans]")).to_have_text("1")
    console.open("/staff")
    console.open("/staff/handovers")
