"""`siyu tiered`: set up a tiered price (阶梯价), follow its count and price, close it (the final
price set, and each who paid more owed the difference as a refund)."""

from __future__ import annotations

import typer
from rich.table import Table

from siyu.core.audit import acting_as
from siyu.core.console_out import brand_time, console, emit_json, fail, option_fen, option_time
from siyu.core.db import session_factory, unit_of_work, upgrade
from siyu.core.errors import SiyuError
from siyu.promotions import tiered

app = typer.Typer(
    help="Tiered prices (阶梯价): the price steps down as participants grow; the difference is "
    "refunded.",
    no_args_is_help=True,
)
JSON = typer.Option(False, "--json", help="Print JSON.")
KEY = typer.Argument(..., metavar="KEY", help="The activity's key.")


def option_tier(value: str) -> tuple[int, int]:
    """`10:99`: from 10 participants, ¥99 (in fen)."""
    least, _, price = value.partition(":")
    if not least.strip().isdecimal() or not price:
        raise typer.BadParameter("PARTICIPANTS:PRICE, such as 10:99", param_hint="--tier")
    return int(least), option_fen(price, "--tier") or 0


@app.command("create")
def create(
    key: str = typer.Option(..., "--key", help="Lowercase letters, digits, '-' or '_'."),
    name: str = typer.Option(..., "--name"),
    product: str = typer.Option(..., "--product", help="The mall's SKU."),
    base_price: str = typer.Option(..., "--base-price", help="The price before any tier, yuan."),
    tier: list[str] = typer.Option(
        ..., "--tier", help="PARTICIPANTS:PRICE (yuan), e.g. --tier 10:99 --tier 50:89."
    ),
    start: str = typer.Option(..., "--start", help="ISO 8601; without an offset, brand time."),
    end: str = typer.Option(..., "--end", help="ISO 8601; without an offset, brand time."),
    json_out: bool = JSON,
) -> None:
    """Set up a tiered price; customers take part between its start and its end."""
    upgrade()
    base_fen = option_fen(base_price, "--base-price") or 0
    tiers = [option_tier(t) for t in tier]
    starts_at, ends_at = option_time(start, "--start"), option_time(end, "--end")
    assert starts_at and ends_at  # required options
    try:
        with acting_as("cli"), unit_of_work() as session:
            activity = tiered.create_tiered(
                session, key, name, product, base_fen, tiers, starts_at, ends_at, actor="cli"
            )
            shown = tiered.summary(activity)
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(shown)
    steps = ", ".join(f"{t['participants']} → ¥{t['price']:.2f}" for t in shown["tiers"])
    console.print(
        f"tiered price {key}: {product} from ¥{base_fen / 100:.2f} ({steps}), "
        f"{brand_time(starts_at)} – {brand_time(ends_at)}"
    )


@app.command("show")
def show(key: str = KEY, json_out: bool = JSON) -> None:
    """One activity: its count, the price now, the next tier and the final price."""
    upgrade()
    try:
        with session_factory()() as session:
            shown = tiered.summary(tiered.find_tiered(session, key))
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(shown)
    console.print(f"[bold]{shown['name']}[/bold] ({shown['status']}, live: {shown['live']})")
    console.print(f"participants {shown['participants']}, price now ¥{shown['current_price']:.2f}")
    if shown["final_price"] is not None:
        console.print(f"final price ¥{shown['final_price']:.2f}")
    elif shown["next_tier"]:
        step = shown["next_tier"]
        console.print(f"¥{step['price']:.2f} at {step['participants']} ({step['needed']} more)")


@app.command("list")
def list_cmd(json_out: bool = JSON) -> None:
    """The newest tiered-price activities with their counts and prices."""
    upgrade()
    with session_factory()() as session:
        rows = [tiered.summary(a) for a in tiered.list_tiered(session)]
    if json_out:
        return emit_json(rows)
    table = Table("key", "name", "status", "starts", "ends", "participants", "price", "final")
    for r in rows:
        final = r["final_price"]
        table.add_row(
            r["key"],
            r["name"],
            r["status"],
            brand_time(r["starts_at"]),
            brand_time(r["ends_at"]),
            str(r["participants"]),
            f"¥{r['current_price']:.2f}",
            "" if final is None else f"¥{final:.2f}",
        )
    console.print(table)


@app.command("close")
def close(key: str = KEY, json_out: bool = JSON) -> None:
    """Close it now: the final price from the count, and a refund to each who paid more."""
    upgrade()
    try:
        with acting_as("cli"), unit_of_work() as session:
            shown = tiered.summary(tiered.close(session, key))
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(shown)
    console.print(f"tiered price {key} closed at ¥{shown['final_price']:.2f}")
