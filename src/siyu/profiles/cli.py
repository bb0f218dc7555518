"""`siyu customers`: `show`, the customer 360, and `merge` and `unmerge` (customers.service)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from siyu.core.audit import acting_as
from siyu.core.console_out import brand_time, console, emit_json, fail
from siyu.core.db import session_factory, unit_of_work, upgrade
from siyu.core.errors import InvalidInput, SiyuError
from siyu.customers import service as customers
from siyu.customers.models import CustomerMerge
from siyu.profiles import assign as assignment
from siyu.profiles import service

app = typer.Typer(help="Customers: the 360 view and merges.", no_args_is_help=True)


@app.command()
def show(
    ref: str = typer.Argument(..., metavar="ID", help="Customer id or any identity value."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The customer 360: traits, identities, tags, order summary and latest events."""
    upgrade()
    try:
        with session_factory()() as session:
            view = service.customer_360(session, ref)
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(view)
    _print_360(view)


def _print_360(view: dict) -> None:
    console.rule(f"customer {view['id']}")
    for kind in view["identities"]:
        console.print(f"  {kind['type']:<24} {kind['value']}")
    if view["traits"]:
        console.print("traits: " + ", ".join(f"{k}={v}" for k, v in view["traits"].items()))
    summary = view["order_summary"]
    console.print(
        f"orders: {summary['orders']}  net ¥{summary['net_fen'] / 100:,.2f}  "
        f"first touchpoint: {view['first_touchpoint'] or '-'}"
    )
    table = Table("time (brand)", "type", "event", "touchpoint")
    for event in view["latest_events"]:
        table.add_row(
            brand_time(event["timestamp"]),
            event["type"],
            event["event"] or event["name"] or "",
            event["touchpoint"] or "",
        )
    console.print(table)


@app.command()
def merge(
    merged: str = typer.Argument(..., metavar="A", help="Customer to fold in."),
    kept: str = typer.Argument(..., metavar="B", help="Customer that stays."),
    actor: str = typer.Option("cli", help="Who is merging (for the record)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Merge customer A into customer B; the record can undo it."""
    upgrade()
    try:
        with acting_as(f"cli:{actor}"), unit_of_work() as session:
            record = customers.merge_customers(session, merged, kept, actor)
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(_merge_row(record))
    console.print(
        f"merged customer {record.merged_id} into {record.kept_id} "
        f"(merge {record.id}; undo with `siyu customers unmerge {record.id}`)"
    )


@app.command()
def unmerge(
    merge_id: int = typer.Argument(..., help="The merge record's id."),
    actor: str = typer.Option("cli", help="Who is undoing it."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Undo a merge: the merged customer gets its identities, orders and traits back."""
    upgrade()
    try:
        with acting_as(f"cli:{actor}"), unit_of_work() as session:
            record = customers.undo_merge(session, merge_id, actor)
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(_merge_row(record))
    console.print(f"customer {record.merged_id} is separate again")


def _merge_row(record: CustomerMerge) -> dict:
    return {
        "merge_id": record.id,
        "merged_id": record.merged_id,
        "kept_id": record.kept_id,
        "undone": record.undone_at is not None,
    }


@app.command()
def assign(
    guide: int = typer.Option(..., "--guide", help="The guide's staff id."),
    segment: str | None = typer.Option(None, "--segment", help="A segment's key."),
    file: Path | None = typer.Option(
        None, "--file", help="A CSV of phones or customer ids, one a line (header optional)."
    ),
    only_unowned: bool = typer.Option(
        False, "--only-unowned", help="Leave customers who have an active guide with them."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Give customers a guide: a segment's members or a list, one recorded move each."""
    upgrade()
    if (segment is None) == (file is None):
        fail(InvalidInput("give one of --segment or --file", field="segment"))
    try:
        refs = customers.read_list(file.read_bytes()) if file is not None else []
    except OSError as error:
        fail(InvalidInput(f"cannot read the file: {error}", field="file"))
    except SiyuError as error:
        fail(error)
    try:
        with acting_as("cli"), unit_of_work() as session:
            if segment is not None:
                done = assignment.assign_segment(
                    session, segment, guide, "cli", only_unowned=only_unowned
                )
            else:
                done = assignment.assign_list(
                    session, refs, guide, "cli", only_unowned=only_unowned
                )
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(done.as_dict())
    console.print(f"{done.moved} customers moved to guide {guide}")
    for why, count in sorted(done.skipped.items()):
        console.print(f"  skipped ({why}): {count}  e.g. {', '.join(done.examples[why])}")
