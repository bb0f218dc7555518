"""Customer imports: identify calls with identities, a name and every other column as a trait."""

from __future__ import annotations

from siyu.profiles.service import customer_360
from tests.imports.helpers import EXAMPLES, run, write_csv


def _identities(view: dict) -> set[tuple[str, str]]:
    return {(i["type"], i["value"]) for i in view["identities"]}


def test_customers_become_identified_with_their_traits(session):
    summary = run("customers", EXAMPLES / "customers.csv")
    assert (summary.rows, summary.imported, summary.customers_created) == (3, 3, 3)
    li = customer_360(session, "U-1001")
    assert _identities(li) >= {
        ("user_id", "U-1001"),
        ("phone", "13800138001"),
        ("email", "li.lei@example.com"),
        ("member_id", "M-0001"),
        ("wechat_unionid", "oUnion-li-lei"),
    }
    assert li["traits"]["name"] == "李雷"
    assert (li["traits"]["level"], li["traits"]["city"]) == ("金卡", "杭州")
    # a phone written as +86 139 0013 9002 is one identity, 13900139002
    assert customer_360(session, "13900139002")["traits"]["name"] == "韩梅梅"


def test_a_customer_known_only_by_phone_is_found_again_by_it(tmp_path, session):
    path = write_csv(tmp_path / "c.csv", ["phone", "name"], [["13700137003", "王小明"]])
    run("customers", path)
    again = write_csv(
        tmp_path / "c2.csv", ["phone", "name", "city"], [["13700137003", "王小明", "苏州"]]
    )
    summary = run("customers", again)
    assert (summary.stored, summary.customers_created) == (1, 0)
    view = customer_360(session, "13700137003")
    assert view["traits"]["city"] == "苏州"


def test_a_mapping_renames_columns_and_traits(tmp_path, session):
    path = write_csv(
        tmp_path / "会员.csv",
        ["会员号", "手机", "姓名", "等级", "备注"],
        [["V1", "13800138000", "李雷", "金卡", "x"]],
    )
    mapping = tmp_path / "m.json"
    mapping.write_text(
        '{"columns": {"user_id": "会员号", "phone": "手机", "name": "姓名",'
        ' "traits.level": "等级"}, "ignore": ["备注"]}',
        encoding="utf-8",
    )
    run("customers", path, mapping)
    view = customer_360(session, "V1")
    assert view["traits"] == {"phone": "13800138000", "name": "李雷", "level": "金卡"}


def test_a_row_without_any_identity_or_with_a_bad_email_is_bad(tmp_path, session):
    path = write_csv(
        tmp_path / "c.csv",
        ["user_id", "email", "name"],
        [["", "", "无名"], ["U1", "not-an-email", ""]],
    )
    summary = run("customers", path)
    assert summary.stopped
    assert summary.problems[0].startswith("row 2: nothing identifies the customer")
    assert summary.problems[1] == "row 3, email: 'not-an-email' is not an email address"
