"""Order imports: the canonical CSV, a Chinese platform export with a mapping, XLSX, the zone."""

from __future__ import annotations

from datetime import UTC, datetime

from siyu.profiles.service import customer_360
from tests.imports.helpers import (
    EXAMPLES,
    ORDER_HEADER,
    orders,
    run,
    stored_events,
    write_csv,
    write_xlsx,
)


def test_canonical_orders_csv_imports_without_a_mapping(tmp_path, session):
    path = write_csv(
        tmp_path / "orders.csv",
        ORDER_HEADER,
        [
            ["A1", "U1", "2026-11-11 10:00:00", "¥1,299.00", "", "保温杯", "HZ-01"],
            ["A2", "U1", "2026-11-12 09:30:00", "59.9", "2026-11-13 08:00:00", "芋泥波波", ""],
            ["A3", "U2", "2026-11-12 12:00:00", "88", "", "", ""],
        ],
    )
    summary = run("orders", path)
    assert (summary.rows, summary.imported, summary.stored, summary.rejected) == (3, 3, 4, 0)
    assert summary.customers_created == 2
    stored = orders(session)
    assert (stored["A1"].amount_fen, stored["A1"].store, stored["A1"].status) == (
        129900,
        "HZ-01",
        "completed",
    )
    assert stored["A1"].products == [{"name": "保温杯", "category": None}]
    assert (stored["A2"].status, stored["A2"].refunded_fen) == ("refunded", 5990)
    view = customer_360(session, "U1")
    assert view["order_summary"]["orders"] == 2
    assert view["order_summary"]["net_fen"] == 129900
    assert {o["order_id"] for o in view["orders"]} == {"A1", "A2"}


def test_naive_times_are_read_in_the_brand_zone(tmp_path, session):
    path = write_csv(
        tmp_path / "orders.csv",
        ORDER_HEADER,
        [["A1", "U1", "2026-11-11 10:00:00", "1", "", "", ""]],
    )
    run("orders", path)
    assert orders(session)["A1"].paid_at == datetime(2026, 11, 11, 2, 0, tzinfo=UTC)


def test_a_time_with_a_zone_keeps_it(tmp_path, session):
    path = write_csv(
        tmp_path / "orders.csv",
        ORDER_HEADER,
        [["A1", "U1", "2026-11-11T10:00:00+00:00", "1", "", "", ""]],
    )
    run("orders", path)
    assert orders(session)["A1"].paid_at == datetime(2026, 11, 11, 10, 0, tzinfo=UTC)


def test_youzan_export_imports_with_the_example_mapping(session):
    summary = run("orders", EXAMPLES / "youzan-orders.csv", EXAMPLES / "youzan-mapping.json")
    assert (summary.rows, summary.skipped, summary.rejected) == (4, 1, 0)
    stored = orders(session)
    assert set(stored) == {f"E2026111110000000000{n}" for n in (1, 2, 3, 4)}
    first = stored["E20261111100000000001"]
    assert (first.amount_fen, first.store) == (19900, "杭州西湖店")
    assert first.paid_at == datetime(2026, 11, 10, 16, 1, 30, tzinfo=UTC)
    assert stored["E20261111100000000003"].status == "refunded"
    partly = stored["E20261111100000000004"]
    assert (partly.status, partly.refunded_fen) == ("partially_refunded", 2000)
    # 买家手机号 is read as a phone: the buyer is found by it, spaces and all
    view = customer_360(session, "13900139002")
    assert view["order_summary"]["gross_fen"] == 129900
    assert {"type": "phone", "value": "13900139002"} in [
        {"type": i["type"], "value": i["value"]} for i in view["identities"]
    ]


def test_xlsx_orders_import(tmp_path, session):
    path = write_xlsx(
        tmp_path / "orders.xlsx",
        ORDER_HEADER,
        [
            ["X1", "U1", datetime(2026, 11, 11, 10, 0), 1299.5, None, "保温杯", "HZ-01"],
            [20261111001, 13800138000, "2026-11-11 11:00:00", "12.30", None, None, None],
        ],
    )
    summary = run("orders", path)
    assert (summary.imported, summary.rejected) == (2, 0)
    stored = orders(session)
    assert stored["X1"].amount_fen == 129950
    assert stored["X1"].paid_at == datetime(2026, 11, 11, 2, 0, tzinfo=UTC)
    assert stored["20261111001"].amount_fen == 1230


def test_customer_id_finds_an_existing_customer_by_siyu_id_or_identity(tmp_path, session):
    run("customers", write_csv(tmp_path / "c.csv", ["user_id", "phone"], [["U9", "13800138009"]]))
    siyu_id = customer_360(session, "U9")["id"]
    path = write_csv(
        tmp_path / "orders.csv",
        ORDER_HEADER,
        [
            ["A1", str(siyu_id), "2026-11-11 10:00:00", "1", "", "", ""],
            ["A2", "138 0013 8009", "2026-11-11 10:00:00", "2", "", "", ""],
            ["A3", "U9", "2026-11-11 10:00:00", "3", "", "", ""],
        ],
    )
    summary = run("orders", path)
    assert summary.customers_created == 0
    assert {o.customer_id for o in orders(session).values()} == {siyu_id}


def test_an_unknown_customer_id_is_the_brands_own_user_id(tmp_path, session):
    path = write_csv(
        tmp_path / "orders.csv",
        ORDER_HEADER,
        [["A1", "CRM-77", "2026-11-11 10:00:00", "1", "", "", ""]],
    )
    assert run("orders", path).customers_created == 1
    view = customer_360(session, "CRM-77")
    assert [i["type"] for i in view["identities"]] == ["user_id"]
    assert stored_events(session) == 1


def test_an_xlsx_sheet_with_a_title_row_keeps_spreadsheet_row_numbers(tmp_path, session):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "说明"
    sheet = book.create_sheet("订单")
    sheet.append(["2026年11月 订单导出"])
    sheet.append(["单号", "买家", "付款时间", "金额"])
    sheet.append(["T1", "U1", "2026/11/11 10:00", "¥10.00"])
    sheet.append(["T2", "U1", "2026/11/11 10:00", "十元"])
    book.save(tmp_path / "export.xlsx")
    mapping = tmp_path / "m.json"
    mapping.write_text(
        '{"columns": {"order_id": "单号", "customer_id": "买家", "paid_at": "付款时间",'
        ' "amount": "金额"}, "header_row": 2, "sheet": "订单"}',
        encoding="utf-8",
    )
    summary = run("orders", tmp_path / "export.xlsx", mapping)
    assert summary.problems == ["row 4, 金额: '十元' is not an amount"]
    summary = run("orders", tmp_path / "export.xlsx", mapping, skip_bad=True)
    assert set(orders(session)) == {"T1"}
    assert (tmp_path / "export.rejected.csv").exists()


def test_a_gb18030_export_from_chinese_excel_is_read(tmp_path, session):
    text = (EXAMPLES / "youzan-orders.csv").read_text(encoding="utf-8")
    path = tmp_path / "youzan.csv"
    path.write_bytes(text.encode("gb18030"))
    summary = run("orders", path, EXAMPLES / "youzan-mapping.json")
    assert (summary.imported, summary.rejected) == (4, 0)
    assert orders(session)["E20261111100000000001"].store == "杭州西湖店"
