"""The imports page: upload, map over a preview, check, import as a job, bad rows, permissions."""

from __future__ import annotations

import csv
import io
import re
from html import unescape
from pathlib import Path

from sqlalchemy import func, select

from siyu import work
from siyu.core import jobs
from siyu.core.meta import MetaEntry
from siyu.customers.models import Customer
from siyu.events.models import OutboxEvent
from siyu.imports.jobs import uploads_folder
from siyu.orders.models import Order
from tests.console_support import csrf_of, error_beside

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ORDERS = (
    "order_id,customer_id,paid_at,amount,refunded_at,product,category,store\n"
    "A-1,U-1,2026-01-11 10:00:00,199.00,,杨枝甘露,饮品,HZ-01\n"
    'A-2,U-2,2026-01-11 10:05:00,"¥1,299.00",,保温杯,周边,HZ-01\n'
    "A-3,U-1,2026-01-12 20:30:00,59.90,2026-01-13 09:00:00,芋泥波波,饮品,SH-02\n"
)
WITH_BAD_ROW = ORDERS + "A-4,U-3,2026-01-12 21:00:00,12.3x,,鲜果茶,饮品,\n"


def _token(client) -> str:
    return csrf_of(client.get("/imports").text)


def _upload(client, kind: str, name: str, content: bytes | str, token: str | None = None):
    body = content.encode() if isinstance(content, str) else content
    return client.post(
        "/imports",
        data={"kind": kind, "csrf_token": token or _token(client)},
        files={"file": (name, body, "application/octet-stream")},
        follow_redirects=False,
    )


def _uploaded(client, kind: str, name: str, content: bytes | str) -> str:
    response = _upload(client, kind, name, content)
    assert response.status_code == 303, response.text
    return response.headers["location"].rsplit("/", 1)[1]


def _form_of(html: str) -> dict[str, str]:
    """What the mapping form sends as the page shows it: each select's chosen option, inputs."""
    if 'id="mapping-form"' not in html:
        return {}
    form = html[html.index('id="mapping-form"') :]
    form = form[: form.index("</form>")]
    sent = {}
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', options)
        first = re.search(r'<option value="([^"]*)"', options)
        sent[name] = unescape((chosen or first).group(1))
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form):
        if name != "csrf_token":
            sent[name] = unescape(value)
    return sent


def _check(client, import_id: str, form: dict | None = None):
    page = client.get(f"/imports/{import_id}").text
    data = {**_form_of(page), **(form or {}), "csrf_token": csrf_of(page)}
    return client.post(f"/imports/{import_id}/check", data=data, follow_redirects=False)


def _run(client, import_id: str, skip_bad: bool):
    page = client.get(f"/imports/{import_id}").text
    data = {"skip_bad": "1" if skip_bad else "0", "csrf_token": csrf_of(page)}
    return client.post(f"/imports/{import_id}/run", data=data, follow_redirects=False)


def _work() -> int:
    ran = 0
    while work.run_one():
        ran += 1
    return ran


def _number(html: str, name: str) -> str:
    found = re.search(rf'data-test="summary-{name}">.*?class="value[^"]*">([^<]*)<', html, re.S)
    return found.group(1).strip()


def _orders(session) -> dict[str, Order]:
    session.expire_all()
    return {o.order_id: o for o in session.scalars(select(Order))}


def _stored(session) -> int:
    return session.scalar(select(func.count(OutboxEvent.id)))


def test_an_operator_uploads_maps_checks_and_imports_orders(signed_in, session):
    client = signed_in("operator")
    import_id = _uploaded(client, "orders", "orders.csv", ORDERS)
    page = client.get(f"/imports/{import_id}").text
    assert "杨枝甘露" in page and 'data-test="preview"' in page
    assert _form_of(page)["column.paid_at"] == "paid_at"

    assert _check(client, import_id).status_code == 303
    assert 'hx-trigger="every 1s"' in client.get(f"/imports/{import_id}").text
    assert _work() == 1
    checked = client.get(f"/imports/{import_id}").text
    assert 'data-test="check-good"' in checked and _stored(session) == 0

    assert _run(client, import_id, skip_bad=False).status_code == 303
    assert _work() == 1
    done = client.get(f"/imports/{import_id}").text
    assert (_number(done, "rows"), _number(done, "imported"), _number(done, "rejected")) == (
        "3",
        "3",
        "0",
    )
    assert _number(done, "customers-created") == "2"
    placed = _orders(session)
    assert set(placed) == {"A-1", "A-2", "A-3"}
    assert placed["A-2"].amount_fen == 129_900 and placed["A-3"].refunded_fen == 5_990
    listed = client.get("/imports").text
    assert "orders.csv" in listed and 'data-test="import-row"' in listed


def test_the_progress_card_polls_while_the_job_runs_and_reloads_when_it_ends(signed_in):
    client = signed_in("operator")
    import_id = _uploaded(client, "orders", "orders.csv", ORDERS)
    _check(client, import_id)
    polling = client.get(f"/imports/{import_id}/progress")
    assert 'hx-trigger="every 1s"' in polling.text and "HX-Refresh" not in polling.headers
    _work()
    ended = client.get(f"/imports/{import_id}/progress")
    assert ended.headers["HX-Refresh"] == "true"


def test_all_or_nothing_with_a_bad_row_writes_nothing_and_names_it(signed_in, session):
    client = signed_in("operator")
    import_id = _uploaded(client, "orders", "orders.csv", WITH_BAD_ROW)
    _check(client, import_id)
    _work()
    checked = client.get(f"/imports/{import_id}").text
    assert 'data-test="check-bad"' in checked
    row = re.search(
        r'data-test="bad-row"><td class="rownum">(\d+)</td><td><code>([^<]*)</code></td>', checked
    )
    assert row.groups() == ("5", "amount")
    assert "“12.3x”不是有效金额" in checked  # the service's reason, in the page's language

    _run(client, import_id, skip_bad=False)
    _work()
    stopped = client.get(f"/imports/{import_id}").text
    assert 'data-test="stopped"' in stopped and _number(stopped, "imported") == "0"
    assert _orders(session) == {} and _stored(session) == 0


def test_skip_bad_imports_the_rest_and_the_rejected_rows_download(signed_in, session):
    client = signed_in("operator")
    import_id = _uploaded(client, "orders", "orders.csv", WITH_BAD_ROW)
    _check(client, import_id)
    _work()
    _run(client, import_id, skip_bad=True)
    _work()
    done = client.get(f"/imports/{import_id}").text
    assert (_number(done, "imported"), _number(done, "rejected")) == ("3", "1")
    assert set(_orders(session)) == {"A-1", "A-2", "A-3"}

    download = client.get(f"/imports/{import_id}/rejected")
    assert download.status_code == 200
    assert "orders.rejected.csv" in download.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert [(r["_row"], r["order_id"], r["_reason"]) for r in rows] == [
        ("5", "A-4", "amount: '12.3x' is not an amount")
    ]


def test_a_youzan_export_with_chinese_headers_maps_itself(signed_in, session):
    client = signed_in("operator")
    content = (EXAMPLES / "youzan-orders.csv").read_bytes()
    import_id = _uploaded(client, "orders", "youzan-orders.csv", content)
    form = _form_of(client.get(f"/imports/{import_id}").text)
    assert {k: v for k, v in form.items() if k.startswith("column.") and v} == {
        "column.order_id": "订单编号",
        "column.customer_id": "买家手机号",
        "column.paid_at": "付款时间",
        "column.amount": "实付金额",
        "column.refunded_at": "退款时间",
        "column.refund_amount": "退款金额",
        "column.product": "商品名称",
        "column.category": "商品分类",
        "column.store": "门店",
    }
    assert form["customer_id_type"] == "phone" and form["skip_column"] == "订单状态"

    _check(client, import_id)
    _work()
    _run(client, import_id, skip_bad=False)
    _work()
    done = client.get(f"/imports/{import_id}").text
    assert (_number(done, "rows"), _number(done, "rejected")) == ("4", "0")
    stored = _orders(session)
    assert set(stored) == {f"E2026111110000000000{n}" for n in (1, 2, 3, 4)}  # 5 is unpaid
    assert stored["E20261111100000000004"].refunded_fen == 2000


def test_an_analyst_cannot_upload(signed_in, users, client):
    from siyu.core.permissions import can

    analyst = signed_in("analyst")
    token = csrf_of(analyst.get("/").text)
    response = _upload(analyst, "orders", "orders.csv", ORDERS, token=token)
    assert response.status_code == 403
    assert not uploads_folder().exists() or not any(uploads_folder().iterdir())
    # Viewing follows the permission table (imports.view).
    viewing = analyst.get("/imports")
    assert viewing.status_code == (200 if can("analyst", "imports.view") else 403)
    if viewing.status_code == 200:
        assert 'data-test="upload-form"' not in viewing.text


def test_bad_input_names_the_field_and_keeps_nothing(signed_in, session):
    client = signed_in("operator")
    token = _token(client)
    no_file = client.post("/imports", data={"kind": "orders", "csrf_token": token})
    assert no_file.status_code == 400 and 'data-test="form-error"' in no_file.text
    cases = [
        ("refunds", "orders.csv", ORDERS),
        ("orders", "orders.csv", ""),
        ("orders", "orders.csv", "order_id,customer_id,paid_at,amount\n"),
        ("orders", "orders.jsonl", ORDERS),
        ("events", "events.csv", ORDERS),
    ]
    for kind, name, content in cases:
        response = _upload(client, kind, name, content, token)
        assert response.status_code == 400, (kind, name)
        assert 'data-test="form-error"' in response.text
    assert session.scalar(select(func.count()).select_from(MetaEntry)) == 0
    assert not uploads_folder().exists() or not any(uploads_folder().iterdir())


def test_a_mapping_without_a_required_field_is_refused_naming_it(signed_in, session):
    client = signed_in("operator")
    import_id = _uploaded(client, "orders", "orders.csv", ORDERS)
    response = _check(client, import_id, {"column.amount": ""})
    assert response.status_code == 400
    assert error_beside(response.text, "column.amount") == "请为该字段选择文件中的列"
    assert 'data-test="column-amount" aria-invalid="true"' in response.text
    assert work.run_one() is False
    assert 'data-test="status"' in response.text and _stored(session) == 0


def test_bad_mapping_values_are_shown_beside_their_fields_in_both_languages(signed_in, session):
    client = signed_in("operator")
    import_id = _uploaded(client, "orders", "orders.csv", ORDERS)

    bad = {"customer_id_type": "shoe size", "skip_column": "paid_at"}
    response = _check(client, import_id, bad)
    assert response.status_code == 400
    assert error_beside(response.text, "customer_id_type") == "请从列出的选项中选择"
    skip_column = response.text.split('name="skip_column"')[1].split("</select>")[0]
    assert 'value="paid_at" selected' in skip_column  # the posted choice comes back

    client.post("/lang", data={"locale": "en", "next": "/imports", "csrf_token": _token(client)})
    response = _check(client, import_id, {"column.store": "branch"})
    assert response.status_code == 400
    assert error_beside(response.text, "column.store") == "the file has no such column"
    assert work.run_one() is False and _stored(session) == 0


def test_an_upload_of_an_unknown_kind_is_refused_beside_the_choice(signed_in):
    client = signed_in("operator")
    response = _upload(client, "refunds", "orders.csv", ORDERS)
    assert response.status_code == 400
    assert 'data-error-for="kind">请从列出的选项中选择<' in response.text
    no_file = client.post("/imports", data={"kind": "events", "csrf_token": _token(client)})
    assert error_beside(no_file.text, "file") == "请选择要上传的文件"
    assert 'value="events" checked' in no_file.text
    assert not uploads_folder().exists() or not any(uploads_folder().iterdir())


def test_a_run_form_with_a_bad_choice_runs_nothing(signed_in, session):
    client = signed_in("operator")
    import_id = _uploaded(client, "orders", "orders.csv", ORDERS)
    _check(client, import_id)
    _work()
    page = client.get(f"/imports/{import_id}").text
    data = {"skip_bad": "maybe", "csrf_token": csrf_of(page)}
    response = client.post(f"/imports/{import_id}/run", data=data, follow_redirects=False)
    assert response.status_code == 400
    assert 'data-error-for="skip_bad">此值无效<' in response.text
    assert _work() == 0 and _stored(session) == 0


def test_events_import_from_jsonl(signed_in, session):
    client = signed_in("operator")
    content = (EXAMPLES / "events.jsonl").read_bytes()
    import_id = _uploaded(client, "events", "events.jsonl", content)
    assert "Code Scanned" in client.get(f"/imports/{import_id}").text
    _check(client, import_id)
    _work()
    _run(client, import_id, skip_bad=False)
    _work()
    done = client.get(f"/imports/{import_id}").text
    assert _number(done, "imported") == "4" and _stored(session) == 4


def test_customers_with_chinese_headers_map_and_a_left_out_column_is_no_trait(signed_in, session):
    client = signed_in("operator")
    content = (
        "会员号,手机号,姓名,会员等级,城市\n"
        "M-1,13800138001,李雷,金卡,杭州\n"
        "M-2,13900139002,韩梅梅,银卡,上海\n"
    )
    import_id = _uploaded(client, "customers", "members.csv", content)
    page = client.get(f"/imports/{import_id}").text
    form = _form_of(page)
    assert (form["column.member_id"], form["column.phone"], form["column.name"]) == (
        "会员号",
        "手机号",
        "姓名",
    )
    assert 'name="ignore" value="会员等级"' in page and 'name="ignore" value="城市"' in page
    _check(client, import_id, {"ignore": "城市"})
    _work()
    _run(client, import_id, skip_bad=False)
    _work()
    done = client.get(f"/imports/{import_id}").text
    assert _number(done, "customers-created") == "2"
    session.expire_all()
    traits = sorted(session.scalars(select(Customer.traits)), key=lambda t: t.get("name"))
    assert [(t["name"], t.get("会员等级"), t.get("城市")) for t in traits] == [
        ("李雷", "金卡", None),
        ("韩梅梅", "银卡", None),
    ]


def test_a_check_that_cannot_read_its_file_fails_and_says_why(signed_in, session):
    client = signed_in("operator")
    import_id = _uploaded(client, "orders", "orders.csv", ORDERS)
    for upload in (uploads_folder() / import_id).iterdir():
        upload.unlink()
    _check(client, import_id)
    assert _work() == 1
    page = client.get(f"/imports/{import_id}").text
    assert 'data-test="import-error"' in page and "state-failed" in page
    assert _stored(session) == 0


def test_a_long_import_keeps_its_job_lease_while_it_reports_progress(signed_in, session):
    from siyu.core.db import unit_of_work, utcnow
    from siyu.imports.jobs import _reporter

    client = signed_in("operator")
    import_id = _uploaded(client, "orders", "orders.csv", ORDERS)
    _check(client, import_id)
    with unit_of_work() as s:
        job = jobs.claim(s)
        first_lease = job.lease_until
    _reporter(import_id, None)("checking", 2, None)
    session.expire_all()
    renewed = session.get(jobs.Job, job.id)
    assert renewed.lease_until > first_lease and renewed.lease_until > utcnow()
    assert 'data-test="progress-rows"' in client.get(f"/imports/{import_id}/progress").text


def test_a_customer_mapping_without_an_identity_says_so_inside_the_mapping(signed_in, session):
    client = signed_in("operator")
    import_id = _uploaded(
        client, "customers", "members.csv", "user_id,phone,city\nU-1,13800000001,杭州\n"
    )
    response = _check(client, import_id, {"column.user_id": "", "column.phone": ""})
    assert response.status_code == 400
    mapping = response.text.split('id="mapping-form"', 1)[1].split("</form>", 1)[0]
    assert 'data-test="form-error" data-error-for="">请至少为一种身份标识选择一列<' in mapping
    assert work.run_one() is False and _stored(session) == 0
