"""The tags page in the console: lifecycle days validated beside their fields."""

from __future__ import annotations

from sqlalchemy import func, select

from siyu.segments.models import LifecycleSettings
from siyu.tags.models import Tag, TagGroup
from tests.console_support import csrf_of, error_beside


def test_bad_lifecycle_days_are_refused_beside_their_fields_in_both_languages(signed_in, session):
    client = signed_in("operator")
    page = client.get("/tags")
    form = {"csrf_token": csrf_of(page.text), "new_days": "30"}

    refused = client.post(
        "/tags/lifecycle", data=form | {"active_days": "九十", "churned_days": "0"}
    )
    assert refused.status_code == 400
    assert error_beside(refused.text, "active_days") == "请输入整数"
    assert error_beside(refused.text, "churned_days") == "不能小于 1"
    assert 'value="九十"' in refused.text

    client.post("/lang", data={"locale": "en", "next": "/", "csrf_token": form["csrf_token"]})
    refused = client.post(
        "/tags/lifecycle", data=form | {"active_days": "90", "churned_days": "60"}
    )
    assert refused.status_code == 400
    assert error_beside(refused.text, "churned_days") == "must be more than the active days"
    assert session.get(LifecycleSettings, 1) is None


def test_a_bad_tag_or_group_is_refused_beside_its_field_in_both_languages(signed_in, session):
    client = signed_in("operator")
    token = csrf_of(client.get("/tags").text)

    refused = client.post("/tags", data={"csrf_token": token, "name": " ", "group": "life"})
    assert refused.status_code == 400
    assert error_beside(refused.text, "name") == "此项必填"
    refused = client.post("/tags/groups", data={"csrf_token": token, "key": "冬季!", "name": "冬"})
    assert refused.status_code == 400
    assert error_beside(refused.text, "key") == "分组标识为 1 到 16 个字母、数字或 _"
    assert 'value="冬季!"' in refused.text

    client.post("/lang", data={"locale": "en", "next": "/", "csrf_token": token})
    refused = client.post("/tags", data={"csrf_token": token, "name": "Gold", "group": "nope"})
    assert refused.status_code == 400
    assert error_beside(refused.text, "group") == "no such tag group"
    assert 'value="Gold"' in refused.text
    assert session.scalar(select(func.count(Tag.id))) == 0
    assert session.scalar(select(func.count()).select_from(TagGroup)) == 0


def test_bad_bulk_tagging_is_refused_beside_its_field_and_starts_nothing(signed_in, session):
    from siyu.core.jobs import Job
    from siyu.tags.service import ensure_tag

    gold = ensure_tag(session, "Gold", "other")
    session.commit()
    client = signed_in("operator")
    token = csrf_of(client.get("/tags").text)
    form = {"csrf_token": token, "tag": str(gold.id)}

    refused = client.post("/tags/bulk", data=form | {"action": "delete"})
    assert refused.status_code == 400
    assert error_beside(refused.text, "action") == "请从列出的选项中选择"
    refused = client.post("/tags/bulk", data=form)
    assert refused.status_code == 400
    assert error_beside(refused.text, "file") == "请选择人群包，或上传客户 ID / 手机号文件"

    client.post("/lang", data={"locale": "en", "next": "/", "csrf_token": token})
    refused = client.post("/tags/bulk", data=form | {"segment": "nobody", "action": "remove"})
    assert error_beside(refused.text, "segment") == "no such segment"
    assert 'value="remove" selected' in refused.text
    assert session.scalar(select(func.count(Job.id))) == 0
