"""`siyu calls`: outbound-call lists (外呼) exported for a call centre; its outcomes imported."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from siyu.core.audit import acting_as
from siyu.core.console_out import console, emit_json, fail
from siyu.core.db import session_factory, unit_of_work, upgrade
from siyu.core.errors import SiyuError
from siyu.messaging.channels import calls

app = typer.Typer(
    help="Outbound-call lists (外呼): export one for a call centre, import its outcomes.",
    no_args_is_help=True,
)
JSON = typer.Option(False, "--json", help="Print JSON.")


@app.command("list")
def list_cmd(json_out: bool = JSON) -> None:
    """The newest call lists, their calls and outcomes."""
    upgrade()
    with unit_of_work() as session:
        rows = calls.call_lists(session)
    if json_out:
        return emit_json(rows)
    table = Table("id", "name", "calls", "outcomes", "imported")
    for row in rows:
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(row["outcomes"].items()))
        table.add_row(
            str(row["id"]), row["name"], str(row["rows"]), outcomes, row["imported_at"] or ""
        )
    console.print(table)


@app.command("export")
def export(
    list_id: int = typer.Argument(..., help="The call list's id (siyu calls list)."),
    fmt: str = typer.Option("csv", "--format", help="csv or xlsx"),
    output: Path = typer.Option(..., "-o", "--output", help="The file to write."),
    full_phones: bool = typer.Option(
        False, "--full-phones", help="Write phone numbers in full (a call centre dials them)."
    ),
    json_out: bool = JSON,
) -> None:
    """Write a call list as CSV or XLSX, with a blank outcome column for the call centre."""
    upgrade()
    if fmt not in ("csv", "xlsx"):
        raise typer.BadParameter("csv or xlsx", param_hint="--format")
    kind: calls.Format = "xlsx" if fmt == "xlsx" else "csv"
    try:
        with session_factory()() as session:
            data = calls.export_call_list(session, list_id, kind, full_phones=full_phones)
    except SiyuError as error:
        fail(error)
    output.write_bytes(data)
    rows = max(0, data.count(b"\n") - 1) if fmt == "csv" else None
    summary = {"list_id": list_id, "file": str(output), "format": fmt, "bytes": len(data)}
    if json_out:
        return emit_json({**summary, "rows": rows} if rows is not None else summary)
    console.print(f"call list {list_id} written to {output} ({len(data)} bytes)")


@app.command("import")
def import_cmd(
    list_id: int = typer.Argument(..., help="The call list's id."),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    json_out: bool = JSON,
) -> None:
    """Apply the outcomes a call centre filled in (reached, no_answer, refused, do_not_call).
    A row naming an unknown delivery or outcome is reported by line and nothing is written."""
    upgrade()
    try:
        with acting_as("cli"), unit_of_work() as session:
            report = calls.import_outcomes(session, list_id, file.read_bytes(), actor="cli")
            if report.errors:
                session.rollback()
    except SiyuError as error:
        fail(error)
    if json_out:
        emit_json(report.as_dict())
    elif report.errors:
        for line, problem in report.errors:
            console.print(f"[red]line {line}:[/red] {problem}")
        console.print("nothing was imported")
    else:
        applied = ", ".join(f"{k} {v}" for k, v in sorted(report.applied.items())) or "nothing"
        console.print(f"call list {list_id}: {applied}; {report.blank} rows without an outcome")
    if report.errors:
        raise typer.Exit(1)
