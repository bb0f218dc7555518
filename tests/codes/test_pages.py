"""The channel code pages: create a store poster code, see its QR, route it, count its scans."""

from __future__ import annotations

from sqlalchemy import func, select

from siyu.codes.models import ChannelCode, CodeBatch, CodeGuide
from siyu.codes.qr import qr_svg
from siyu.codes.service import create_code
from siyu.core.db import unit_of_work
from siyu.core.settings import reset_settings
from siyu.staff.models import Staff
from siyu.staff.service import create_store
from tests.console.test_dashboard import to_lake
from tests.console_support import csrf_of, error_beside


def test_an_operator_creates_a_store_poster_code_and_sees_its_scans(signed_in, users, session):
    with unit_of_work() as s:
        store_id = create_store(s, "cs-wuyi", "五一广场店").id
    client = signed_in("operator")
    page = client.get("/codes")
    assert page.status_code == 200
    created = client.post(
        "/codes",
        data={
            "csrf_token": csrf_of(page.text),
            "name": "五一店收银台海报",
            "code": "wuyi-poster",
            "kind": "poster",
            "store_id": str(store_id),
            "staff_id": str(users["guide_staff_id"]),
            "target_kind": "wecom_contact_way",
            "target": "https://work.weixin.qq.com/ca/x",
            "tags": "门店海报，新客",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303 and created.headers["location"].startswith(
        "/codes/wuyi-poster"
    )
    detail = client.get("/codes/wuyi-poster")
    assert "五一广场店" in detail.text and "门店海报" in detail.text
    assert client.get("/codes/wuyi-poster/qr.svg").text.lstrip().startswith("<svg")
    png = client.get("/codes/wuyi-poster/qr.png?download=1")
    assert png.content.startswith(b"\x89PNG") and "attachment" in png.headers["content-disposition"]
    assert int.from_bytes(png.content[16:20], "big") >= 1000  # wide enough to print
    # Its guide was put in its routing; the scan goes through the landing and is counted.
    assert session.scalars(select(CodeGuide.staff_id)).all() == [users["guide_staff_id"]]
    assert client.get("/q/wuyi-poster", follow_redirects=False).status_code == 302
    to_lake()
    assert 'data-test="scans">1<' in client.get("/codes").text
    csv_text = client.get("/codes.csv").text
    assert "wuyi-poster" in csv_text.splitlines()[1]


def test_a_refused_code_comes_back_with_the_error_and_the_input(signed_in):
    client = signed_in("operator")
    page = client.get("/codes")
    refused = client.post(
        "/codes",
        data={"csrf_token": csrf_of(page.text), "name": "坏码", "code": "has space"},
    )
    assert refused.status_code == 400
    assert (
        error_beside(refused.text, "code") == "a code is 1 to 64 letters, digits, '-', '_' or '.'"
    )
    assert 'value="坏码"' in refused.text


def test_routing_is_saved_from_the_form(signed_in, users, session):
    client = signed_in("operator")
    page = client.get("/codes")
    client.post("/codes", data={"csrf_token": csrf_of(page.text), "name": "A", "code": "r-1"})
    guide = users["guide_staff_id"]
    saved = client.post(
        "/codes/r-1/routes",
        data={
            "csrf_token": csrf_of(page.text),
            "guide": [str(guide)],
            f"g{guide}-weight": "3",
            f"g{guide}-weekday": ["1", "2", "3"],
            f"g{guide}-start": "09:00",
            f"g{guide}-end": "18:00",
            f"g{guide}-limit": "20",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    route = session.scalar(select(CodeGuide))
    assert (route.weight, route.weekdays, route.start_time, route.daily_limit) == (
        3,
        "123",
        "09:00",
        20,
    )


def test_an_analyst_sees_codes_but_cannot_create_one(signed_in):
    page = signed_in("analyst").get("/codes")
    assert page.status_code == 200 and 'data-test="new-code"' not in page.text


def test_a_bad_new_code_is_refused_beside_its_fields_in_both_languages(signed_in, session):
    client = signed_in("operator")
    page = client.get("/codes")
    form = {"csrf_token": csrf_of(page.text), "code": "bad-store", "target_kind": "url"}

    refused = client.post("/codes", data=form | {"store_id": "1x", "kind": "moon"})
    assert refused.status_code == 400
    assert error_beside(refused.text, "name") == "此项必填"
    assert error_beside(refused.text, "store_id") == "请输入整数"
    assert error_beside(refused.text, "kind") == "请从列出的选项中选择"
    assert 'value="bad-store"' in refused.text

    client.post("/lang", data={"locale": "en", "next": "/codes", "csrf_token": form["csrf_token"]})
    refused = client.post("/codes", data=form | {"name": "N", "store_id": "0"})
    assert refused.status_code == 400
    assert error_beside(refused.text, "store_id") == "must be at least 1"
    assert session.scalar(select(func.count(ChannelCode.id))) == 0


def test_a_bad_batch_is_refused_beside_its_fields_in_both_languages(signed_in, session):
    client = signed_in("operator")
    page = client.get("/codes")
    form = {"csrf_token": csrf_of(page.text), "name": "Tea tins", "prefix": "TEA1"}

    refused = client.post("/codes/batches", data=form | {"count": "ten"})
    assert refused.status_code == 400
    assert error_beside(refused.text, "count") == "请输入整数"
    assert 'value="ten"' in refused.text and 'value="TEA1"' in refused.text

    client.post("/lang", data={"locale": "en", "next": "/codes", "csrf_token": form["csrf_token"]})
    refused = client.post("/codes/batches", data=form | {"count": "100001"})
    assert error_beside(refused.text, "count") == "must be at most 100000"
    refused = client.post("/codes/batches", data=form | {"count": "0", "name": " "})
    assert error_beside(refused.text, "count") == "must be at least 1"
    assert error_beside(refused.text, "name") == "this field is required"
    assert session.scalar(select(func.count(CodeBatch.id))) == 0
    assert session.scalar(select(func.count(ChannelCode.id))) == 0


def test_bad_routing_is_refused_beside_its_inputs_in_both_languages(signed_in, users, session):
    client = signed_in("operator")
    page = client.get("/codes")
    token = csrf_of(page.text)
    client.post("/codes", data={"csrf_token": token, "name": "A", "code": "r-2"})
    guide = users["guide_staff_id"]
    form = {"csrf_token": token, "guide": [str(guide)], f"g{guide}-weekday": ["1", "9"]}

    refused = client.post("/codes/r-2/routes", data=form | {f"g{guide}-weight": "三"})
    assert refused.status_code == 400
    assert error_beside(refused.text, f"g{guide}-weight") == "请输入整数"
    assert f'name="g{guide}-weight" value="三"' in refused.text

    client.post("/lang", data={"locale": "en", "next": "/", "csrf_token": token})
    bad = form | {f"g{guide}-start": "25:00", f"g{guide}-limit": "-1"}
    refused = client.post("/codes/r-2/routes", data=bad)
    assert refused.status_code == 400
    assert error_beside(refused.text, f"g{guide}-start") == "enter a time as HH:MM"
    assert error_beside(refused.text, f"g{guide}-limit") == "must be at least 0"
    assert "choose one of the listed values" in refused.text  # weekday 9
    refused = client.post("/codes/r-2/routes", data={"csrf_token": token, "guide": ["x"]})
    assert refused.status_code == 400 and "enter a whole number" in refused.text
    assert session.scalar(select(func.count(CodeGuide.id))) == 0


def test_qr_codes_point_to_the_public_address_customers_reach(signed_in, monkeypatch):
    monkeypatch.setenv("SIYU_PUBLIC_URL", "https://scan.brand.cn/")
    reset_settings()
    with unit_of_work() as s:
        create_code(s, "海报", code="pub-1", target="https://mall.example/")
    client = signed_in("operator")
    page = client.get("/codes/pub-1").text
    assert "https://scan.brand.cn/q/pub-1" in page and 'data-test="local-url"' not in page
    assert client.get("/codes/pub-1/qr.svg").content == qr_svg("https://scan.brand.cn/q/pub-1")
    large = client.get("/codes/pub-1/qr.png?size=3000").content
    assert int.from_bytes(large[16:20], "big") >= 3000
    assert client.get("/codes/pub-1/qr.png?size=99999").status_code in (400, 422)


def test_a_code_page_on_a_local_address_says_to_set_the_public_one(signed_in):
    with unit_of_work() as s:
        create_code(s, "海报", code="loc-1")
    client = signed_in("operator")
    page = client.get("/codes/loc-1", headers={"Host": "127.0.0.1:8000"}).text
    assert 'data-test="local-url"' in page and "SIYU_PUBLIC_URL" in page


def test_a_wecom_code_without_wecom_warns_what_to_set_in_both_languages(signed_in, session):
    client = signed_in("operator")
    page = client.get("/codes")
    assert "SIYU_WECOM_CORP_ID" in page.text and 'data-test="platform-hint"' in page.text
    token = csrf_of(page.text)
    made = client.post(
        "/codes",
        data={
            "csrf_token": token,
            "name": "收银台",
            "kind": "store",
            "target_kind": "wecom_contact_way",
        },
        follow_redirects=False,
    )
    code = session.scalar(select(ChannelCode.code))
    assert made.headers["location"].startswith(f"/codes/{code}")
    shown = client.get(f"/codes/{code}").text
    warning = shown.split('data-test="platform-warning"', 1)[1].split("</div>", 1)[0]
    assert "企业微信尚未连接" in warning
    for name in (
        "SIYU_WECOM_CORP_ID",
        "SIYU_WECOM_SECRET",
        "SIYU_WECOM_TOKEN",
        "SIYU_WECOM_AES_KEY",
    ):
        assert name in warning
    refused = client.post(f"/codes/{code}/contact-way", data={"csrf_token": token})
    assert refused.status_code in (400, 503) and 'data-test="form-error"' in refused.text
    client.post("/lang", data={"locale": "en", "next": "/", "csrf_token": token})
    assert "WeCom is not connected" in client.get(f"/codes/{code}").text


def test_a_platform_refusal_is_shown_in_the_consoles_language(signed_in, fake_wecom, users):
    with unit_of_work() as s:
        guide = s.get(Staff, users["guide_staff_id"])
        guide.wecom_userid = "zhangsan"
        create_code(s, "海报", code="cw-9", target_kind="wecom_contact_way", staff_id=guide.id)
    fake_wecom.state.fail_next["externalcontact/add_contact_way"] = [60020]
    client = signed_in("operator")
    token = csrf_of(client.get("/codes/cw-9").text)
    refused = client.post("/codes/cw-9/contact-way", data={"csrf_token": token})
    assert refused.status_code == 502
    assert "企业微信拒绝了本服务器的 IP 地址（错误码 60020）" in refused.text
    assert 'data-test="platform-warning"' not in refused.text  # WeCom is connected here
    fake_wecom.state.fail_next["externalcontact/add_contact_way"] = [12345]
    client.post("/lang", data={"locale": "en", "next": "/", "csrf_token": token})
    refused = client.post("/codes/cw-9/contact-way", data={"csrf_token": token})
    assert "WeCom refused the request (error 12345: x)." in refused.text
