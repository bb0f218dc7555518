"""Outbound calls: deliveries put on a call list, the list exported for a call centre (CSV, XLSX,
masked or full phones, formulas neutralised), its outcomes imported back (all or nothing)."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from siyu.cli import app
from siyu.core.db import utcnow
from siyu.events.models import OutboxEvent
from siyu.messaging import dispatch, service
from siyu.messaging.channels import calls
from siyu.messaging.models import CallList, Channel, Consent, Delivery, Suppression
from siyu.staff.models import Staff
from tests.messaging.factories import customer

SCRIPT = '=HYPERLINK("http://evil","点我") 您好，双十二会员日'
PHONES = ("13700000001", "13700000002", "13700000003", "13700000004")


@pytest.fixture
def on_list(session) -> list[Delivery]:
    """Four call deliveries of broadcast 5, handed to the live call channel."""
    session.add(Channel(channel="call", mode="live"))
    guide = Staff(name="李导购")
    session.add(guide)
    session.flush()
    rows = []
    for number, phone in enumerate(PHONES, start=1):
        cid = customer(session, f"c{number}", phone=phone, name=f"客户{number}")
        service.set_consent(session, cid, "call", "subscribed", method="api", source="t", actor="t")
        row = Delivery(
            key=f"broadcast:5:customer:{cid}",
            origin="broadcast",
            origin_id=5,
            customer_id=cid,
            channel="call",
            address=phone,
            guide_id=guide.id,
            send_at=utcnow() - timedelta(seconds=1),
            content={"text": SCRIPT},
        )
        session.add(row)
        rows.append(row)
    session.commit()
    sender = dispatch.senders(session)["call"]
    assert dispatch.dispatch_channel(session, "call", sender) == 4
    session.expire_all()
    return rows


def _list_id(session) -> int:
    [call_list] = session.scalars(select(CallList)).all()
    return call_list.id


def _csv(rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(row) for row in [["delivery_id", "outcome", "note"], *rows]).encode()


def test_call_deliveries_wait_on_their_origins_list(session, on_list):
    list_id = _list_id(session)
    assert {(d.status, d.provider_id) for d in on_list} == {("pending", f"call-list:{list_id}")}
    assert session.get_one(CallList, list_id).name == "broadcast 5"


def test_an_origin_has_one_open_list_and_a_new_one_once_outcomes_came_back(
    session, on_list, monkeypatch
):
    list_id = _list_id(session)
    assert calls._call_list(session, "broadcast", 5).id == list_id
    twin = CallList(
        name="twin", origin="broadcast", origin_id=5, created_by="t", open_key="broadcast:5"
    )
    # The database itself refuses a second open list.
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(twin)
    # A dispatcher that read no open list just before another made it takes the other's.
    with monkeypatch.context() as race:
        race.setattr(session, "scalar", lambda *args, **kwargs: None)
        assert calls._call_list(session, "broadcast", 5).id == list_id
    data = _csv([[str(d.id), "reached"] for d in on_list])
    calls.import_outcomes(session, list_id, data, actor="test")
    session.commit()
    reopened = calls._call_list(session, "broadcast", 5)
    assert reopened.id != list_id and reopened.open_key == "broadcast:5"


def test_the_csv_masks_phones_and_neutralises_formulas(session, on_list):
    data = calls.export_call_list(session, _list_id(session), "csv").decode("utf-8-sig")
    lines = data.splitlines()
    assert lines[0] == ",".join(calls.COLUMNS)
    first = lines[1]
    assert "137****0001" in first and "13700000001" not in first
    assert "客户1" in first and "李导购" in first
    assert "'=HYPERLINK" in first
    full = calls.export_call_list(session, _list_id(session), "csv", full_phones=True).decode()
    assert "13700000001" in full


def test_the_xlsx_holds_the_same_rows_as_text(session, on_list):
    data = calls.export_call_list(session, _list_id(session), "xlsx", full_phones=True)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == calls.COLUMNS and len(rows) == 5
    assert rows[1][3] == "13700000001" and str(rows[1][5]).startswith("'=HYPERLINK")


def test_outcomes_come_back_as_deliveries_and_suppressions(session, on_list):
    ids = [str(d.id) for d in on_list]
    data = _csv(
        [[ids[0], "reached"], [ids[1], "未接通"], [ids[2], "refused"], [ids[3], "do_not_call"]]
    )
    for _ in range(2):  # imported twice: the same state, the same events
        report = calls.import_outcomes(session, _list_id(session), data, actor="test")
        session.commit()
        assert report.errors == []
    session.expire_all()
    statuses = [(d.status, d.reason) for d in on_list]
    assert statuses == [
        ("delivered", None),
        ("failed", "no_answer"),
        ("failed", "refused"),
        ("failed", "do_not_call"),
    ]
    call_list = session.get_one(CallList, _list_id(session))
    assert call_list.outcomes == {"reached": 1, "no_answer": 1, "refused": 1, "do_not_call": 1}
    assert call_list.imported_at is not None
    [suppression] = session.scalars(select(Suppression)).all()
    assert (suppression.channel, suppression.address, suppression.reason) == (
        "call",
        PHONES[3],
        "do_not_call",
    )
    consent = session.scalar(select(Consent).where(Consent.customer_id == on_list[3].customer_id))
    assert (consent.status, consent.method) == ("unsubscribed", "call_outcome")
    delivered = session.scalars(
        select(OutboxEvent).where(OutboxEvent.event == "Message Delivered")
    ).all()
    assert len(delivered) == 1


def test_an_unknown_row_is_reported_by_line_and_nothing_is_written(session, on_list):
    ids = [str(d.id) for d in on_list]
    data = _csv([[ids[0], "reached"], ["999999", "reached"], [ids[1], "maybe"], [ids[2], ""]])
    report = calls.import_outcomes(session, _list_id(session), data, actor="test")
    assert [line for line, _ in report.errors] == [3, 4]
    assert "999999" in report.errors[0][1] and "maybe" in report.errors[1][1]
    session.rollback()
    session.expire_all()
    assert {d.status for d in on_list} == {"pending"}


@pytest.mark.parametrize(
    "data", [b"", b"name,phone\nx,y", b"PK\x03\x04 not a workbook", b"\xff\xfe\x00bad"]
)
def test_an_unreadable_file_is_refused(session, on_list, data):
    with pytest.raises(Exception, match="file|columns|empty|XLSX|UTF-8"):
        calls.import_outcomes(session, _list_id(session), data, actor="test")


def test_the_cli_exports_and_imports(session, on_list, tmp_path):
    list_id = _list_id(session)
    out = tmp_path / "calls.xlsx"
    runner = CliRunner()
    result = runner.invoke(
        app, ["calls", "export", str(list_id), "--format", "xlsx", "-o", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["format"] == "xlsx"
    book = openpyxl.load_workbook(out)
    sheet = book.active
    for row in sheet.iter_rows(min_row=2):
        row[6].value = "reached"
    book.save(out)
    result = runner.invoke(app, ["calls", "import", str(list_id), str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["applied"] == {"reached": 4}
    bad = tmp_path / "bad.csv"
    bad.write_bytes(_csv([["999999", "reached"]]))
    result = runner.invoke(app, ["calls", "import", str(list_id), str(bad), "--json"])
    assert result.exit_code == 1 and json.loads(result.output)["errors"][0]["line"] == 2
    listed = runner.invoke(app, ["calls", "list", "--json"])
    assert json.loads(listed.output)[0]["outcomes"] == {"reached": 4}
