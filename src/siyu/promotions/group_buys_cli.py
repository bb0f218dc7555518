"""`siyu group-buys`: set up a group buy (拼团), follow its groups, close those past their
deadline; `siyu refunds`: the refunds Siyu asks the mall to make, and their confirmation."""

from __future__ import annotations

import typer
from rich.table import Table

from siyu.core.audit import acting_as
from siyu.core.console_out import brand_time, console, emit_json, fail, option_fen, option_time
from siyu.core.db import session_factory, unit_of_work, upgrade
from siyu.core.errors import SiyuError
from siyu.promotions import group_buys, refunds

app = typer.Typer(
    help="Group buys (拼团): groups that succeed at N members before a deadline, or are refunded.",
    no_args_is_help=True,
)
refunds_app = typer.Typer(
    help="Refunds the mall makes for group buys and tiered prices, until it confirms them.",
    no_args_is_help=True,
)
JSON = typer.Option(False, "--json", help="Print JSON.")
KEY = typer.Argument(..., metavar="KEY", help="The group buy's key.")


@app.command("create")
def create(
    key: str = typer.Option(..., "--key", help="Lowercase letters, digits, '-' or '_'."),
    name: str = typer.Option(..., "--name"),
    product: str = typer.Option(..., "--product", help="The mall's SKU."),
    price: str = typer.Option(..., "--price", help="The group price in yuan."),
    size: int = typer.Option(..., "--size", help="Members a group needs, the leader included."),
    hours: int = typer.Option(..., "--hours", help="Hours a group has to fill once opened."),
    start: str = typer.Option(..., "--start", help="ISO 8601; without an offset, brand time."),
    end: str = typer.Option(..., "--end", help="ISO 8601; without an offset, brand time."),
    robot_fill: bool = typer.Option(
        False, "--robot-fill", help="The house fills a group still short at its deadline."
    ),
    json_out: bool = JSON,
) -> None:
    """Set up a group buy; groups may be opened between its start and its end."""
    upgrade()
    price_fen = option_fen(price, "--price") or 0
    starts_at, ends_at = option_time(start, "--start"), option_time(end, "--end")
    assert starts_at and ends_at  # required options
    try:
        with acting_as("cli"), unit_of_work() as session:
            activity = group_buys.create_group_buy(
                session,
                key,
                name,
                product,
                price_fen,
                size,
                hours,
                starts_at,
                ends_at,
                robot_fill=robot_fill,
                actor="cli",
            )
            shown = group_buys.summary(session, activity)
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(shown)
    console.print(
        f"group buy {key}: groups of {size} within {hours} h for {product} at "
        f"¥{price_fen / 100:.2f}, {brand_time(starts_at)} – {brand_time(ends_at)}"
    )


@app.command("show")
def show(key: str = KEY, json_out: bool = JSON) -> None:
    """One group buy: its groups by status, their members and the places the house filled."""
    upgrade()
    try:
        with session_factory()() as session:
            shown = group_buys.summary(session, group_buys.find_group_buy(session, key))
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(shown)
    console.print(f"[bold]{shown['name']}[/bold] (live: {shown['live']})")
    table = Table("", "groups")
    for status, count in shown["groups"].items():
        table.add_row(status, str(count))
    console.print(table)
    console.print(f"members {shown['members']}, filled by the house {shown['robot_filled']}")


@app.command("list")
def list_cmd(json_out: bool = JSON) -> None:
    """The newest group buys with their groups counted."""
    upgrade()
    with session_factory()() as session:
        rows = [group_buys.summary(session, a) for a in group_buys.list_group_buys(session)]
    if json_out:
        return emit_json(rows)
    table = Table("key", "name", "size", "starts", "ends", "open", "succeeded", "failed")
    for r in rows:
        table.add_row(
            r["key"],
            r["name"],
            str(r["size"]),
            brand_time(r["starts_at"]),
            brand_time(r["ends_at"]),
            *(str(r["groups"][s]) for s in ("open", "succeeded", "failed")),
        )
    console.print(table)


@app.command("close-due")
def close_due(json_out: bool = JSON) -> None:
    """Close the groups past their deadline now (the worker does it every minute)."""
    upgrade()
    with acting_as("cli"), unit_of_work() as session:
        closed = group_buys.close_due(session)
    if json_out:
        return emit_json(closed._asdict())
    console.print(
        f"{closed.failed} groups failed ({closed.refunds} refunds), "
        f"{closed.robot_filled} filled by the house"
    )


@refunds_app.command("list")
def list_refunds(
    status: str | None = typer.Option(None, "--status", help="pending or confirmed"),
    json_out: bool = JSON,
) -> None:
    """Refunds in the order they were made (the first thousand)."""
    upgrade()
    try:
        with session_factory()() as session:
            rows = [
                refunds.refund_row(r) for r in refunds.list_refunds(session, status, limit=1000)
            ]
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(rows)
    table = Table("id", "kind", "activity", "customer", "order", "amount", "status", "reference")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["kind"],
            r["activity"],
            str(r["customer_id"]),
            r["order_id"],
            f"¥{r['amount_fen'] / 100:.2f}",
            r["status"],
            r["reference"] or "",
        )
    console.print(table)


@refunds_app.command("confirm")
def confirm(
    refund_id: int = typer.Argument(..., metavar="ID", help="The refund's id."),
    reference: str | None = typer.Option(None, "--reference", help="The mall's reference."),
    json_out: bool = JSON,
) -> None:
    """Mark a refund made (when the mall reports it another way than its API)."""
    upgrade()
    try:
        with acting_as("cli"), unit_of_work() as session:
            shown = refunds.refund_row(refunds.confirm(session, refund_id, reference))
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(shown)
    console.print(f"refund {refund_id} confirmed")
