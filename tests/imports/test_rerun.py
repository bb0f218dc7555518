"""Running an import again stores nothing new: every message has a deterministic messageId."""

from __future__ import annotations

import pytest

from tests.imports.helpers import EXAMPLES, orders, run, stored_events

IMPORTS = [
    ("orders", EXAMPLES / "orders.csv", None),
    ("orders", EXAMPLES / "youzan-orders.csv", EXAMPLES / "youzan-mapping.json"),
    ("customers", EXAMPLES / "customers.csv", None),
    ("events", EXAMPLES / "events.jsonl", None),
]


@pytest.mark.parametrize(("kind", "path", "mapping"), IMPORTS, ids=lambda v: getattr(v, "name", v))
def test_rerunning_an_import_stores_nothing_new(kind, path, mapping, session):
    first = run(kind, path, mapping)
    before = stored_events(session)
    again = run(kind, path, mapping)
    assert again.stored == 0 and again.duplicates == first.stored
    assert again.customers_created == 0
    assert stored_events(session) == before


def test_a_refund_that_appears_in_a_later_export_is_added(tmp_path, session):
    header = "order_id,customer_id,paid_at,amount,refunded_at\n"
    path = tmp_path / "orders.csv"
    path.write_text(header + "A1,U1,2026-11-11 10:00:00,100,\n", encoding="utf-8")
    run("orders", path)
    path.write_text(header + "A1,U1,2026-11-11 10:00:00,100,2026-11-12 10:00:00\n")
    summary = run("orders", path)
    assert (summary.stored, summary.duplicates) == (1, 1)
    assert orders(session)["A1"].status == "refunded"


def test_an_import_that_crashed_midway_is_repaired_by_running_it_again(
    tmp_path, session, monkeypatch
):
    from siyu.imports import service

    rows = "".join(f"A{n},U{n % 3},2026-11-11 10:00:00,{n}\n" for n in range(10))
    path = tmp_path / "orders.csv"
    path.write_text("order_id,customer_id,paid_at,amount\n" + rows, encoding="utf-8")
    monkeypatch.setattr(service, "ROWS_PER_TRANSACTION", 4)
    real_ingest, calls = service.ingest, []

    def crash_on_the_second_transaction(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the power went out")
        return real_ingest(*args, **kwargs)

    monkeypatch.setattr(service, "ingest", crash_on_the_second_transaction)
    with pytest.raises(RuntimeError):
        run("orders", path)
    assert len(orders(session)) == 4  # the first transaction stands, the second rolled back

    monkeypatch.setattr(service, "ingest", real_ingest)
    summary = run("orders", path)
    assert (summary.stored, summary.duplicates) == (6, 4)
    assert len(orders(session)) == 10
