"""What an attacker tries against the console and the APIs is refused, and tells them nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import siyu
from siyu.app import create_app
from siyu.codes.landing import forget_cached
from siyu.codes.service import create_code
from siyu.core.auth import create_token
from siyu.core.db import unit_of_work, utcnow
from siyu.core.settings import reset_settings
from siyu.customers.service import find_customer
from siyu.staff.service import assign_owner
from siyu.users import throttle
from siyu.users.models import SignInThrottle, User
from tests.console_support import sign_in
from tests.helpers import identify, post_batch


@pytest.fixture(autouse=True)
def _fresh_landing_cache():
    """The landing caches codes and its source for seconds; each test starts on empty tables."""
    forget_cached()
    yield
    forget_cached()


@pytest.fixture
def two_owned(client, write_key, users) -> dict[str, int]:
    """Customer 'mine' belongs to the signed-in guide, 'theirs' to the other guide."""
    people = [
        identify("mine", {"phone": "13800000001"}),
        identify("theirs", {"phone": "13900000002"}),
    ]
    assert post_batch(client, write_key, people).status_code == 200
    with unit_of_work() as s:
        ids = {ref: find_customer(s, ref).id for ref in ("mine", "theirs")}
        assign_owner(s, ids["mine"], users["guide_staff_id"])
        assign_owner(s, ids["theirs"], users["other_staff_id"])
    return ids


def _nowhere(customer_id: int) -> int:
    """An id of the same length that no customer has (so the two pages are the same size)."""
    return customer_id + 10 ** (len(str(customer_id)))


def _same_answer(first, second, first_ref: str, second_ref: str) -> None:
    assert first.status_code == second.status_code == 404
    # The page echoes the address it was asked for (the language switch comes back to it).
    asked = "/customers/{}"
    assert first.text.replace(asked.format(first_ref), "") == second.text.replace(
        asked.format(second_ref), ""
    )
    assert _headers(first) == _headers(second)


def _headers(response) -> dict[str, str]:
    """The headers but those that differ from one request to the next (the time, a nonce, the
    request id the access log gives every request)."""
    ignore = {"date", "content-length", "server-timing", "x-request-id"}
    return {
        name: re.sub(r"'nonce-[^']+'", "'nonce'", value)
        for name, value in response.headers.items()
        if name not in ignore
    }


def test_a_guide_gets_the_same_answer_for_someone_elses_customer_as_for_none(signed_in, two_owned):
    guide = signed_in("guide")
    theirs, missing = str(two_owned["theirs"]), str(_nowhere(two_owned["theirs"]))
    _same_answer(
        guide.get(f"/customers/{theirs}"), guide.get(f"/customers/{missing}"), theirs, missing
    )
    _same_answer(
        guide.get("/customers/13900000002"),
        guide.get("/customers/13700000003"),
        "13900000002",
        "13700000003",
    )
    assert guide.get(f"/customers/{two_owned['mine']}").status_code == 200


def test_a_guide_token_gets_the_same_answer_for_someone_elses_customer_as_for_none(
    client, two_owned, users
):
    with unit_of_work() as s:
        _, secret = create_token(s, "guide-app", "guide", users["guide_staff_id"])
    headers = {"Authorization": f"Bearer {secret}"}
    theirs, missing = str(two_owned["theirs"]), str(_nowhere(two_owned["theirs"]))
    first = client.get(f"/api/customers/{theirs}", headers=headers)
    second = client.get(f"/api/customers/{missing}", headers=headers)
    _same_answer(first, second, theirs, missing)
    assert first.json()["error"] == {
        "code": "not_found",
        "message": "no such customer among yours",
        "field": "id",
    }


# --- security headers -------------------------------------------------------------------------

TEMPLATES = sorted(Path(siyu.__file__).parent.glob("*/templates/*.html"))


def test_every_response_forbids_framing_sniffing_and_referrers(client, signed_in):
    for response in (
        client.get("/login"),
        client.get("/healthz"),
        client.get("/q/nothing-here"),
        client.post("/v1/batch", content=b"{}"),
        signed_in("operator").get("/"),
    ):
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split(";")[1]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "same-origin"


def test_pages_and_exports_with_personal_data_are_never_stored(signed_in, two_owned):
    client = signed_in("admin")
    for path in ("/", "/customers", f"/customers/{two_owned['mine']}", "/touchpoints.csv"):
        assert client.get(path).headers["cache-control"] == "no-store", path
    assert "no-store" not in client.get("/static/siyu.css").headers.get("cache-control", "")


def test_a_page_runs_only_the_scripts_it_names_with_this_requests_nonce(signed_in):
    client = signed_in("admin")
    first, second = client.get("/"), client.get("/")
    nonce = re.search(r"'nonce-([^']+)'", first.headers["content-security-policy"]).group(1)
    assert nonce not in second.headers["content-security-policy"]  # a new one every time
    for tag in re.findall(r"<script[^>]*>", first.text):
        assert 'src="/static/' in tag or f'nonce="{nonce}"' in tag, tag


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_no_template_has_an_inline_handler_or_a_script_without_the_nonce(template):
    html = template.read_text()
    assert not re.search(r"\son[a-z]+=", html), "move the handler into console/static/console.js"
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'nonce="{{ csp_nonce }}"' in tag, tag


# --- cookies and sessions ---------------------------------------------------------------------


def test_logout_ends_the_session_on_the_server_even_without_a_form_token(client, users):
    assert sign_in(client, users["operator"]).status_code == 303
    stolen = client.cookies["siyu_session"]
    out = client.post("/logout", follow_redirects=False)  # no csrf_token
    assert out.status_code == 303 and out.headers["location"] == "/login"
    client.cookies.clear()
    client.cookies.set("siyu_session", stolen)  # the old cookie, replayed
    assert client.get("/", follow_redirects=False).status_code == 303


def test_secure_cookies_are_marked_secure(users, monkeypatch, write_key):
    monkeypatch.setenv("SIYU_SECURE_COOKIES", "true")
    reset_settings()
    with unit_of_work() as s:
        create_code(s, "海报", code="p1", target="https://mall.example/")
    with TestClient(create_app(), base_url="https://testserver") as browser:
        with unit_of_work() as s:
            s.scalar(select(User).where(User.email == users["admin"])).locale = "en"
        signed = sign_in(browser, users["admin"])
        assert signed.status_code == 303
        landing = browser.get("/q/p1", follow_redirects=False)
        set_cookies = [
            *browser.get("/login").headers.get_list("set-cookie"),
            *signed.headers.get_list("set-cookie"),
            *landing.headers.get_list("set-cookie"),
        ]
    names = {cookie.split("=", 1)[0] for cookie in set_cookies}
    assert names >= {"siyu_pre_csrf", "siyu_session", "siyu_locale", "siyu_aid"}
    for cookie in set_cookies:
        assert "; secure" in cookie.lower(), cookie


def test_cookies_are_not_secure_unless_asked(client, users):
    cookie = sign_in(client, users["admin"]).headers["set-cookie"]
    assert "secure" not in cookie.lower() and "httponly" in cookie.lower()


# --- sign-in throttling -----------------------------------------------------------------------


def _browser(address: str) -> TestClient:
    return TestClient(create_app(), client=(address, 50000))


def _expire_delays() -> None:
    """As if the wait had passed."""
    with unit_of_work() as s:
        for row in s.scalars(select(SignInThrottle)):
            row.blocked_until = utcnow() - timedelta(seconds=1)


def _delay_of(email: str) -> timedelta:
    with unit_of_work() as s:
        row = s.get(SignInThrottle, throttle.account_key(email))
        return row.blocked_until - row.last_failure_at


def test_failed_sign_ins_make_the_next_try_wait_longer_each_time(users):
    with _browser("198.51.100.7") as browser:
        for _ in range(5):  # a few typos are free
            assert sign_in(browser, users["admin"], "wrong").status_code == 401
        assert sign_in(browser, users["admin"], "wrong").status_code == 401
        waiting = sign_in(browser, users["admin"])  # even the right password waits
        assert waiting.status_code == 429 and waiting.headers["retry-after"] == "1"
        assert "登录失败次数过多，请 1 秒后再试" in waiting.text
        _expire_delays()
        assert sign_in(browser, users["admin"], "wrong").status_code == 401
        assert _delay_of(users["admin"]) == timedelta(seconds=2)
        _expire_delays()
        assert sign_in(browser, users["admin"]).status_code == 303


def test_the_wait_never_passes_fifteen_minutes(users):
    with unit_of_work() as s:
        for _ in range(40):
            throttle.record_failure(s, throttle.account_key(users["admin"]), utcnow())
    assert _delay_of(users["admin"]) == throttle.MAX_DELAY == timedelta(minutes=15)


def test_an_account_that_does_not_exist_is_answered_as_one_that_does(users):
    answers = {}
    for email in (users["admin"], "nobody@brand.cn"):
        with _browser(f"198.51.100.{len(answers) + 1}") as browser:
            tries = [sign_in(browser, email, "wrong") for _ in range(7)]
            answers[email] = [
                (t.status_code, t.headers.get("retry-after"), _error_of(t.text)) for t in tries
            ]
    assert answers[users["admin"]] == answers["nobody@brand.cn"]
    assert answers["nobody@brand.cn"][-1][:2] == (429, "1")


def _error_of(html: str) -> str:
    return re.search(r'<p class="error" role="alert">([^<]*)</p>', html).group(1)


def test_guessing_at_the_admin_never_locks_the_admin_out(users, monkeypatch):
    # The clock stands still: the guesses' wait (a second or two by the end, since a refused
    # try is not counted) must not lapse before the stranger tries on a slow machine.
    frozen = utcnow()
    monkeypatch.setattr("siyu.users.service.utcnow", lambda: frozen)
    with _browser("192.0.2.10") as admins:
        assert sign_in(admins, users["admin"]).status_code == 303  # the admin's own browser
        admins.post("/logout")
        for attacker in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):
            with _browser(attacker) as guessing:
                for _ in range(8):
                    sign_in(guessing, users["admin"], "guess")
        with _browser("192.0.2.99") as stranger:  # a browser that never signed in here waits
            assert sign_in(stranger, users["admin"]).status_code == 429
        assert sign_in(admins, users["admin"]).status_code == 303


def test_one_address_guessing_at_many_accounts_is_slowed(users):
    with _browser("203.0.113.50") as guessing:
        for n in range(20):
            assert sign_in(guessing, f"user{n}@brand.cn", "guess").status_code == 401
        assert sign_in(guessing, "user21@brand.cn", "guess").status_code == 401
        assert sign_in(guessing, users["operator"]).status_code == 429
    with _browser("192.0.2.20") as elsewhere:
        assert sign_in(elsewhere, users["operator"]).status_code == 303
