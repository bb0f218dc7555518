"""Signing in: argon2 passwords, CSRF, session expiry, language kept per user."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from typer.testing import CliRunner

from siyu.cli import app
from siyu.core.audit import AuditEntry
from siyu.core.db import unit_of_work, utcnow
from siyu.users.models import User, WebSession
from tests.console_support import PASSWORD, csrf_of, sign_in


def test_users_create_cli_stores_an_argon2_hash(session):
    result = CliRunner().invoke(
        app,
        [
            "users",
            "create",
            "--email",
            "Ops@Brand.cn",
            "--password",
            PASSWORD,
            "--role",
            "operator",
        ],
    )
    assert result.exit_code == 0, result.output
    user = session.scalar(select(User))
    assert user.email == "ops@brand.cn" and user.password_hash.startswith("$argon2")
    entry = session.scalar(select(AuditEntry).where(AuditEntry.entity == "users"))
    assert entry.actor == "cli" and "password_hash" not in entry.after


def test_users_create_rejects_a_short_password_naming_the_field(session):
    result = CliRunner().invoke(
        app, ["users", "create", "--email", "a@b.cn", "--password", "short", "--role", "admin"]
    )
    assert result.exit_code == 2 and "password" in result.output
    assert session.scalar(select(User)) is None


def test_unsigned_visitor_is_sent_to_the_login_page(client):
    response = client.get("/?period=30", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/%3Fperiod%3D30"


def test_sign_in_then_out(client, users):
    assert sign_in(client, users["operator"]).status_code == 303
    home = client.get("/")
    assert home.status_code == 200 and "operator@brand.cn" in home.text
    client.post("/logout", data={"csrf_token": csrf_of(home.text)})
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_without_the_form_token_is_refused(client, users):
    response = client.post("/login", data={"email": users["admin"], "password": PASSWORD})
    assert response.status_code == 403


def test_post_without_csrf_token_changes_nothing(client, users, session):
    sign_in(client, users["admin"])
    response = client.post("/lang", data={"locale": "en", "next": "/"}, follow_redirects=False)
    assert response.status_code == 303
    assert session.scalar(select(User.locale).where(User.email == users["admin"])) is None


def test_expired_session_must_sign_in_again(client, users):
    sign_in(client, users["analyst"])
    with unit_of_work() as s:
        for web in s.scalars(select(WebSession)):
            web.expires_at = utcnow() - timedelta(seconds=1)
    assert client.get("/", follow_redirects=False).status_code == 303


def test_language_switch_is_kept_by_the_user(client, users, session):
    sign_in(client, users["analyst"])
    home = client.get("/")
    assert "客户" in home.text
    client.post("/lang", data={"locale": "en", "next": "/", "csrf_token": csrf_of(home.text)})
    assert "Customers" in client.get("/").text
    client.cookies.clear()
    sign_in(client, users["analyst"])  # a new browser: the user's choice follows them
    assert "Customers" in client.get("/").text
