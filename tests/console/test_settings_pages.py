"""Settings pages: write keys, API tokens, users and the audit log, as an admin uses them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import func, select

from siyu.core.audit import AuditEntry, acting_as
from siyu.core.auth import ApiToken
from siyu.core.db import unit_of_work
from siyu.events.models import Source
from siyu.users.models import User
from tests.console_support import PASSWORD, csrf_of, error_beside, sign_in
from tests.helpers import identify, post_batch


def shown_secret(html: str) -> str:
    match = re.search(r'id="secret-value" readonly value="([^"]+)"', html)
    assert match, "the new secret is not on the page"
    return match.group(1)


def post_form(client, page: str, action: str, **fields):
    token = csrf_of(client.get(page).text)
    return client.post(action, data={"csrf_token": token, **fields}, follow_redirects=False)


def rows(html: str) -> str:
    """The table body of a page: what is listed, without the filters' choices."""
    return html.split("<tbody>", 1)[1] if "<tbody>" in html else ""


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


# --- the settings home --------------------------------------------------------------------


def test_settings_home_lists_only_what_the_role_may_open(signed_in):
    admin = signed_in("admin").get("/settings").text
    for path in ("/settings/keys", "/settings/tokens", "/settings/users", "/settings/audit"):
        assert f'href="{path}"' in admin
    operator = signed_in("operator").get("/settings").text
    assert 'href="/settings/audit"' in operator and 'href="/settings/keys"' not in operator
    analyst = signed_in("analyst").get("/settings").text
    assert 'href="/imports"' in analyst and 'href="/settings/audit"' not in analyst
    assert signed_in("guide").get("/settings").status_code == 403


def test_settings_pages_are_in_chinese_by_default(signed_in):
    page = signed_in("admin").get("/settings/keys").text
    assert "写入密钥" in page and "Write keys" not in page


# --- write keys ---------------------------------------------------------------------------


def test_new_write_key_is_shown_once_and_accepts_events(signed_in, client, session):
    page = post_form(signed_in("admin"), "/settings/keys", "/settings/keys", name="mini-program")
    assert page.status_code == 200
    key = shown_secret(page.text)
    assert post_batch(client, key, [identify("u1")]).status_code == 200
    again = client.get("/settings/keys").text
    assert key not in again and key[:10] in again and "mini-program" in again


def test_revoked_write_key_is_refused(signed_in, client, session):
    admin = signed_in("admin")
    key = shown_secret(post_form(admin, "/settings/keys", "/settings/keys", name="pos").text)
    source = session.scalar(select(Source).where(Source.name == "pos"))
    response = post_form(admin, "/settings/keys", f"/settings/keys/{source.id}/revoke")
    assert response.status_code == 303
    assert post_batch(client, key, [identify("u1")]).status_code == 401
    session.expire_all()
    assert session.get(Source, source.id).revoked_at is not None


def test_blank_or_taken_source_name_names_the_field_and_writes_nothing(signed_in, session):
    admin = signed_in("admin")
    blank = post_form(admin, "/settings/keys", "/settings/keys", name="  ")
    assert blank.status_code == 400 and 'data-test="form-error"' in blank.text
    assert "数据源名称：请填写名称" in blank.text
    assert count(session, Source) == 0
    post_form(admin, "/settings/keys", "/settings/keys", name="mall")
    taken = post_form(admin, "/settings/keys", "/settings/keys", name="mall")
    assert taken.status_code == 409 and "名称已被占用" in taken.text
    assert count(session, Source) == 1


# --- API tokens ---------------------------------------------------------------------------


def test_token_made_in_the_console_is_audited_under_the_users_email(signed_in, users):
    admin = signed_in("admin")
    made = post_form(admin, "/settings/tokens", "/settings/tokens", name="bi", role="analyst")
    bearer = {"Authorization": f"Bearer {shown_secret(made.text)}"}
    assert admin.get("/api/customers/1", headers=bearer).status_code == 404  # it works
    audit = admin.get("/settings/audit", params={"entity": "api_tokens"}).text
    row = rows(audit).split("</tr>")[0]
    assert users["admin"] in row and "<ins>bi</ins>" in row and "API 令牌 #1 · <strong>新建" in row


def test_guide_token_needs_a_staff_member_and_writes_nothing_without(signed_in, users, session):
    admin = signed_in("admin")
    refused = post_form(admin, "/settings/tokens", "/settings/tokens", name="g", role="guide")
    assert refused.status_code == 400 and "员工" in refused.text
    assert count(session, ApiToken) == 0
    staff = users["guide_staff_id"]
    made = post_form(
        admin, "/settings/tokens", "/settings/tokens", name="g", role="guide", staff_id=staff
    )
    assert made.status_code == 200
    assert session.scalar(select(ApiToken.staff_id).where(ApiToken.name == "g")) == staff


def test_revoked_token_is_refused_by_the_api(signed_in, session):
    admin = signed_in("admin")
    made = post_form(admin, "/settings/tokens", "/settings/tokens", name="crm", role="operator")
    bearer = {"Authorization": f"Bearer {shown_secret(made.text)}"}
    token = session.scalar(select(ApiToken).where(ApiToken.name == "crm"))
    post_form(admin, "/settings/tokens", f"/settings/tokens/{token.id}/revoke")
    assert admin.get("/api/customers/1", headers=bearer).status_code == 401
    assert "crm" in admin.get("/settings/tokens").text


def test_a_token_with_a_bad_staff_id_is_refused_beside_it_in_both_languages(signed_in, session):
    admin = signed_in("admin")
    fields = {"name": "g", "role": "guide", "staff_id": "张三"}
    refused = post_form(admin, "/settings/tokens", "/settings/tokens", **fields)
    assert refused.status_code == 400
    assert error_beside(refused.text, "staff_id") == "请输入整数"
    assert 'value="g"' in refused.text
    admin.cookies.set("siyu_locale", "en")
    refused = post_form(admin, "/settings/tokens", "/settings/tokens", **fields | {"staff_id": "0"})
    assert error_beside(refused.text, "staff_id") == "must be at least 1"
    assert count(session, ApiToken) == 0


# --- users --------------------------------------------------------------------------------


def test_admin_creates_a_guide_who_can_sign_in(signed_in, users, client):
    admin = signed_in("admin")
    fields = {
        "email": "Wang@Brand.cn",
        "name": "王导购",
        "role": "guide",
        "password": PASSWORD,
        "staff_id": users["guide_staff_id"],
    }
    created = post_form(admin, "/settings/users", "/settings/users", **fields)
    assert created.status_code == 303 and created.headers["location"].startswith("/settings/users/")
    listing = admin.get("/settings/users").text
    assert "wang@brand.cn" in listing and "Guide Zhang" in listing
    client.cookies.clear()
    assert sign_in(client, "wang@brand.cn").status_code == 303


def test_short_password_names_the_field_and_writes_nothing(signed_in, session):
    admin = signed_in("admin")
    before = count(session, User)
    fields = {"email": "new@brand.cn", "role": "operator", "password": "short"}
    refused = post_form(admin, "/settings/users", "/settings/users", **fields)
    assert refused.status_code == 400 and "密码" in refused.text and "8" in refused.text
    assert 'value="new@brand.cn"' in refused.text  # the input comes back
    assert count(session, User) == before


def test_role_change_is_audited_and_the_last_admin_stays(signed_in, users, session):
    admin = signed_in("admin")
    analyst = session.scalar(select(User).where(User.email == users["analyst"]))
    page = f"/settings/users/{analyst.id}"
    assert post_form(admin, page, f"{page}/role", role="operator").status_code == 303
    session.expire_all()
    assert session.get(User, analyst.id).role == "operator"
    me = session.scalar(select(User).where(User.email == users["admin"]))
    mine = f"/settings/users/{me.id}"
    refused = post_form(admin, mine, f"{mine}/role", role="analyst")
    assert refused.status_code == 409 and "至少保留一位" in refused.text
    session.expire_all()
    assert session.get(User, me.id).role == "admin"
    audit = admin.get("/settings/audit", params={"entity": "users"}).text
    assert "<del>分析师</del> → <ins>运营</ins>" in audit


def test_deactivated_user_cannot_sign_in_until_reactivated(signed_in, users, session, client):
    admin = signed_in("admin")
    operator = session.scalar(select(User).where(User.email == users["operator"]))
    page = f"/settings/users/{operator.id}"
    assert post_form(admin, page, f"{page}/active", active="0").status_code == 303
    assert "已停用" in admin.get(page).text
    post_form(admin, page, f"{page}/active", active="1")
    client.cookies.clear()
    assert sign_in(client, users["operator"]).status_code == 303


def test_deactivated_user_is_refused_at_sign_in(signed_in, users, session, client):
    admin = signed_in("admin")
    operator = session.scalar(select(User).where(User.email == users["operator"]))
    page = f"/settings/users/{operator.id}"
    post_form(admin, page, f"{page}/active", active="0")
    client.cookies.clear()
    assert sign_in(client, users["operator"]).status_code == 401


def test_a_tampered_activation_is_refused_on_the_page_and_changes_nothing(
    signed_in, users, session
):
    admin = signed_in("admin")
    operator = session.scalar(select(User).where(User.email == users["operator"]))
    page = f"/settings/users/{operator.id}"
    refused = post_form(admin, page, f"{page}/active", active="perhaps")
    assert refused.status_code == 400
    assert 'data-error-for="active">此值无效<' in refused.text
    session.expire_all()
    assert session.get(User, operator.id).is_active


def test_a_tampered_activation_of_an_unknown_user_is_not_found(signed_in, users, session):
    admin = signed_in("admin")
    operator = session.scalar(select(User).where(User.email == users["operator"]))
    page = f"/settings/users/{operator.id}"
    refused = post_form(admin, page, "/settings/users/999999/active", active="perhaps")
    assert refused.status_code == 404


def test_admin_cannot_deactivate_themselves(signed_in, users, session):
    admin = signed_in("admin")
    me = session.scalar(select(User).where(User.email == users["admin"]))
    page = f"/settings/users/{me.id}"
    refused = post_form(admin, page, f"{page}/active", active="0")
    assert refused.status_code == 409
    session.expire_all()
    assert session.get(User, me.id).is_active


def test_locked_user_is_shown_locked_and_can_be_unlocked(signed_in, users, client, session):
    for _ in range(6):  # five are free; the sixth makes the next try wait
        sign_in(client, users["analyst"], "wrong password")
    admin = signed_in("admin")
    assert "锁定至" in admin.get("/settings/users").text
    analyst = session.scalar(select(User).where(User.email == users["analyst"]))
    page = f"/settings/users/{analyst.id}"
    assert post_form(admin, page, f"{page}/unlock").status_code == 303
    client.cookies.clear()
    assert sign_in(client, users["analyst"]).status_code == 303


# --- the audit log ------------------------------------------------------------------------


def _tokens_by_cli(names: list[str]) -> None:
    from siyu.core.auth import create_token

    with acting_as("cli"), unit_of_work() as s:
        for name in names:
            create_token(s, name, "analyst")


def test_audit_pages_through_every_entry_once_newest_first(signed_in):
    _tokens_by_cli([f"t{i:03}" for i in range(120)])
    reader = signed_in("operator")
    seen, url = [], "/settings/audit?actor=cli"
    while url:
        page = reader.get(url).text
        seen += re.findall(r"<ins>(t\d{3})</ins>", page)
        older = re.search(r'data-test="audit-older" href="([^"]+)"', page)
        url = older.group(1).replace("&amp;", "&") if older else None
    assert seen == [f"t{i:03}" for i in reversed(range(120))]


def test_audit_filters_by_actor_entity_and_brand_date(signed_in, users):
    _tokens_by_cli(["nightly"])
    with unit_of_work() as s:
        # 23:30 in Shanghai on Nov 11 is 15:30 UTC: it belongs to the 11th, not the 12th.
        s.add(
            AuditEntry(
                at=datetime(2026, 11, 11, 15, 30, tzinfo=UTC),
                actor="user:old@brand.cn",
                action="update",
                entity="customers",
                entity_id="7",
                before={"traits": {"level": "silver"}},
                after={"traits": {"level": "gold"}},
            )
        )
    reader = signed_in("admin")
    day = rows(reader.get("/settings/audit?since=2026-11-11&until=2026-11-11").text)
    assert "old@brand.cn" in day and "nightly" not in day
    assert "2026-11-11 23:30" in day and "gold" in day
    assert "old@brand.cn" not in rows(reader.get("/settings/audit?since=2026-11-12").text)
    by_actor = rows(reader.get("/settings/audit", params={"actor": "cli"}).text)
    assert "nightly" in by_actor and "old@brand.cn" not in by_actor
    by_entity = rows(reader.get("/settings/audit", params={"entity": "customers"}).text)
    assert "old@brand.cn" in by_entity and "nightly" not in by_entity


def test_audit_bad_date_names_the_field(signed_in):
    page = signed_in("admin").get("/settings/audit", params={"since": "11/11/2026"})
    assert page.status_code == 400 and "开始日期" in page.text
    assert error_beside(page.text, "since") == "请按 YYYY-MM-DD 格式输入日期"
    assert 'value="11/11/2026"' in page.text and 'data-test="audit-row"' not in page.text
    english = signed_in("admin")
    english.cookies.set("siyu_locale", "en")
    page = english.get("/settings/audit", params={"until": "2300-01-01"})
    assert error_beside(page.text, "until") == "must be at most 2199-12-31"


def test_a_bad_staff_id_for_a_role_is_refused_beside_it_in_both_languages(
    signed_in, users, session
):
    admin = signed_in("admin")
    guide = session.scalar(select(User).where(User.email == users["guide"]))
    page = f"/settings/users/{guide.id}"
    refused = post_form(admin, page, f"{page}/role", role="guide", staff_id="x1")
    assert refused.status_code == 400
    assert error_beside(refused.text, "staff_id") == "请输入整数"
    admin.cookies.set("siyu_locale", "en")
    refused = post_form(admin, page, f"{page}/role", role="operator", staff_id="-2")
    assert error_beside(refused.text, "staff_id") == "must be at least 1"
    session.expire_all()
    assert session.get(User, guide.id).role == "guide"


def test_an_overlong_source_name_is_refused_beside_it_in_both_languages(signed_in, session):
    admin = signed_in("admin")
    refused = post_form(admin, "/settings/keys", "/settings/keys", name="商" * 201)
    assert refused.status_code == 400
    assert error_beside(refused.text, "name") == "最多 200 个字符"
    admin.cookies.set("siyu_locale", "en")
    refused = post_form(admin, "/settings/keys", "/settings/keys", name="m" * 201)
    assert error_beside(refused.text, "name") == "must be at most 200 characters"
    assert count(session, Source) == 0
