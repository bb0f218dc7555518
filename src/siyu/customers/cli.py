"""`siyu customers merge` and `unmerge` (siyu.profiles.cli puts them beside `show`, the 360)."""

from __future__ import annotations

import typer

from siyu.core.audit import acting_as
from siyu.core.console_out import console, emit_json, fail
from siyu.core.db import unit_of_work, upgrade
from siyu.core.errors import SiyuError
from siyu.customers import service
from siyu.customers.models import CustomerMerge


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
            record = service.merge_customers(session, merged, kept, actor)
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(_merge_row(record))
    console.print(
        f"merged customer {record.merged_id} into {record.kept_id} "
        f"(merge {record.id}; undo with `siyu customers unmerge {record.id}`)"
    )


def unmerge(
    merge_id: int = typer.Argument(..., help="The merge record's id."),
    actor: str = typer.Option("cli", help="Who is undoing it."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Undo a merge: the merged customer gets its identities, orders and traits back."""
    upgrade()
    try:
        with acting_as(f"cli:{actor}"), unit_of_work() as session:
            record = service.undo_merge(session, merge_id, actor)
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
