"""`siyu customers`: `show`, the customer 360, and the customers domain's `merge` and `unmerge`."""

from __future__ import annotations

import typer
from rich.table import Table

from siyu.core.console_out import brand_time, console, emit_json, fail
from siyu.core.db import session_factory, upgrade
from siyu.core.errors import SiyuError
from siyu.customers.cli import merge, unmerge
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


app.command()(merge)
app.command()(unmerge)
