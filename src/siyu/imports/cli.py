"""`siyu import customers|orders|events FILE`: thin commands over imports.service."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import TaskID

from siyu.core.console_out import console, emit_json, errors, fail, progress_bar
from siyu.core.db import upgrade
from siyu.core.errors import SiyuError
from siyu.imports.mapping import load_mapping
from siyu.imports.service import ImportRequest, ImportSummary, run_import

app = typer.Typer(
    help="Import customers, orders or events from CSV, XLSX or JSONL.", no_args_is_help=True
)

FileArg = typer.Argument(..., metavar="FILE", help="The file to import.")
MappingOpt = typer.Option(None, "--mapping", help="A JSON mapping file (see docs/imports.md).")
SkipBadOpt = typer.Option(False, "--skip-bad", help="Import the good rows; set bad ones aside.")
SheetOpt = typer.Option(None, "--sheet", help="XLSX: the sheet to read (default: the first).")
JsonOpt = typer.Option(False, "--json", help="Print the summary as JSON.")


@app.command()
def customers(
    file: Path = FileArg,
    mapping: Path | None = MappingOpt,
    skip_bad: bool = SkipBadOpt,
    sheet: str | None = SheetOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Customers (CSV/XLSX) as identify calls; other columns become traits.

    Columns: user_id, phone, email, name, member_id, wechat_unionid … (at least one identity).
    """
    request = ImportRequest("customers", file, skip_bad=skip_bad, sheet=sheet)
    _import(request, mapping, json_out)


@app.command()
def orders(
    file: Path = FileArg,
    mapping: Path | None = MappingOpt,
    skip_bad: bool = SkipBadOpt,
    sheet: str | None = SheetOpt,
    customer_id_type: str | None = typer.Option(
        None,
        "--customer-id-type",
        help="How to read customer_id: auto (default), siyu, user_id, phone, member_id …",
    ),
    json_out: bool = JsonOpt,
) -> None:
    """Orders (CSV/XLSX) as Order Completed / Order Refunded events.

    Columns: order_id, customer_id, paid_at, amount[, refunded_at, refund_amount, product,
    category, store]; any other layout with --mapping.
    """
    request = ImportRequest(
        "orders", file, skip_bad=skip_bad, sheet=sheet, customer_id_type=customer_id_type
    )
    _import(request, mapping, json_out)


@app.command()
def events(
    file: Path = FileArg,
    skip_bad: bool = SkipBadOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Events (JSONL): one Segment message a line, imported as given."""
    _import(ImportRequest("events", file, skip_bad=skip_bad), None, json_out)


def _import(request: ImportRequest, mapping: Path | None, json_out: bool) -> None:
    upgrade()
    try:
        if mapping:
            request.mapping = load_mapping(mapping)
        summary = _run(request, show_progress=not json_out)
    except SiyuError as error:
        fail(error)
    if json_out:
        emit_json(summary.to_dict())
    else:
        _print(summary)
    if summary.stopped:
        raise typer.Exit(1)


def _run(request: ImportRequest, show_progress: bool) -> ImportSummary:
    if not show_progress:
        return run_import(request)
    with progress_bar() as bar:
        tasks: dict[str, TaskID] = {}

        def advance(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        return run_import(request, advance)


def _print(summary: ImportSummary) -> None:
    if summary.stopped:
        _print_stop(summary)
        return
    skipped = f" (and {summary.skipped:,} skipped by the mapping)" if summary.skipped else ""
    line = (
        f"{summary.rows:,} rows read{skipped} · {summary.imported:,} imported "
        f"({summary.stored:,} events stored, {summary.duplicates:,} already there) · "
        f"{summary.rejected:,} rejected · {summary.customers_created:,} customers created · "
        f"{summary.seconds:.1f} s"
    )
    console.print(line)
    if summary.rejected_file:
        _print_problems(summary)
        console.print(f"the rejected rows, with the reason, are in {summary.rejected_file}")


def _print_stop(summary: ImportSummary) -> None:
    errors.print(
        f"[red]{summary.rejected:,} of {summary.rows:,} rows are bad; nothing was imported.[/red]"
    )
    _print_problems(summary)
    errors.print(
        f"all of them, with the reason, are in {summary.rejected_file}. Fix them and run again, "
        "or add --skip-bad to import the good rows."
    )


def _print_problems(summary: ImportSummary) -> None:
    for problem in summary.problems:
        errors.print(f"  {problem}", markup=False, highlight=False)
    hidden = summary.rejected - len(summary.problems)
    if hidden:
        errors.print(f"  … and {hidden:,} more")
