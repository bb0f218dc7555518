"""`siyu flash-sales`: set up a flash sale (限时限量), follow what is left, pause or end it."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from siyu.core.audit import acting_as
from siyu.core.console_out import brand_time, console, emit_json, fail, option_fen, option_time
from siyu.core.db import session_factory, unit_of_work, upgrade
from siyu.core.errors import SiyuError
from siyu.promotions import flash
from siyu.promotions.models import FlashSale

app = typer.Typer(
    help="Flash sales (限时限量): so many units at a price, so many each, for a while.",
    no_args_is_help=True,
)
JSON = typer.Option(False, "--json", help="Print JSON.")
KEY = typer.Argument(..., metavar="KEY", help="The sale's key.")


def row(session: Any, sale: FlashSale) -> dict[str, Any]:
    """What `show --json` prints: the sale, its counts and its waiting list's length."""
    numbers = flash.summary(sale)
    return {
        **numbers,
        "starts_at": sale.starts_at.isoformat(),
        "ends_at": sale.ends_at.isoformat(),
        "waiting": flash.waiting(session, sale),
    }


@app.command("create")
def create(
    key: str = typer.Option(..., "--key", help="Lowercase letters, digits, '-' or '_'."),
    name: str = typer.Option(..., "--name"),
    product: str = typer.Option(..., "--product", help="The mall's SKU."),
    price: str = typer.Option(..., "--price", help="The sale price in yuan."),
    stock: int = typer.Option(..., "--stock", help="Units for sale."),
    per_customer: int = typer.Option(..., "--per-customer", help="Units one customer may buy."),
    start: str = typer.Option(..., "--start", help="ISO 8601; without an offset, brand time."),
    end: str = typer.Option(..., "--end", help="ISO 8601; without an offset, brand time."),
    hold_minutes: int = typer.Option(
        15, "--hold-minutes", help="How long a reservation waits for its order."
    ),
    list_price: str | None = typer.Option(None, "--list-price", help="The usual price in yuan."),
    json_out: bool = JSON,
) -> None:
    """Set up a flash sale; it takes reservations between its start and its end."""
    upgrade()
    price_fen = option_fen(price, "--price") or 0
    list_price_fen = option_fen(list_price, "--list-price")
    starts_at, ends_at = option_time(start, "--start"), option_time(end, "--end")
    assert starts_at and ends_at  # required options
    try:
        with acting_as("cli"), unit_of_work() as session:
            sale = flash.create_sale(
                session,
                key,
                name,
                product,
                price_fen,
                stock,
                per_customer,
                starts_at,
                ends_at,
                hold_minutes=hold_minutes,
                list_price_fen=list_price_fen,
                actor="cli",
            )
            shown = row(session, sale)
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(shown)
    console.print(
        f"flash sale {key}: {stock} × {product} at ¥{price_fen / 100:.2f}, "
        f"{brand_time(starts_at)} – {brand_time(ends_at)}"
    )


@app.command("show")
def show(key: str = KEY, json_out: bool = JSON) -> None:
    """One sale: stock, held, sold, what is left, and who waits."""
    upgrade()
    try:
        with session_factory()() as session:
            shown = row(session, flash.find_sale(session, key))
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(shown)
    console.print(f"[bold]{shown['name']}[/bold] ({shown['status']}, live: {shown['live']})")
    table = Table("", "units")
    for name in ("stock", "held", "sold", "available", "waiting"):
        table.add_row(name, str(shown[name]))
    console.print(table)


@app.command("list")
def list_cmd(json_out: bool = JSON) -> None:
    """The newest sales with their counts."""
    upgrade()
    with session_factory()() as session:
        rows = [row(session, sale) for sale in flash.list_sales(session)]
    if json_out:
        return emit_json(rows)
    table = Table("key", "name", "status", "starts", "ends", "stock", "held", "sold", "left")
    for r in rows:
        table.add_row(
            r["key"],
            r["name"],
            r["status"],
            brand_time(r["starts_at"]),
            brand_time(r["ends_at"]),
            *(str(r[n]) for n in ("stock", "held", "sold", "available")),
        )
    console.print(table)


def _change(change: Any, key: str, json_out: bool, done: str) -> None:
    upgrade()
    try:
        with acting_as("cli"), unit_of_work() as session:
            shown = row(session, change(session, key))
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(shown)
    console.print(f"flash sale {key} {done}")


@app.command("pause")
def pause(key: str = KEY, json_out: bool = JSON) -> None:
    """No new reservations until it is resumed; held ones may still be bought."""
    _change(flash.pause, key, json_out, "paused")


@app.command("resume")
def resume(key: str = KEY, json_out: bool = JSON) -> None:
    """Take reservations again."""
    _change(flash.resume, key, json_out, "resumed")


@app.command("end")
def end(key: str = KEY, json_out: bool = JSON) -> None:
    """No new reservations, for good; held ones may still be bought until they lapse."""
    _change(flash.end, key, json_out, "ended")


@app.command("lapse")
def lapse(json_out: bool = JSON) -> None:
    """Lapse the holds that ran out now (the worker does it every minute)."""
    upgrade()
    with acting_as("cli"), unit_of_work() as session:
        lapsed = flash.lapse_due(session)
    if json_out:
        return emit_json({"lapsed": lapsed})
    console.print(f"{lapsed} reservations lapsed")
