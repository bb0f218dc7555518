"""`siyu members`: member tiers and points (会员体系): the rules, the tiers, a customer's card,
points adjusted by hand with a reason, the coupons points buy, and the ledger's check."""

from __future__ import annotations

import typer
from rich.table import Table

from siyu.core.audit import acting_as
from siyu.core.console_out import console, emit_json, fail, option_fen
from siyu.core.db import session_factory, unit_of_work, upgrade
from siyu.core.errors import SiyuError
from siyu.promotions import activities, flash, members, points, tier_prices
from siyu.promotions.member_models import MemberTier
from siyu.promotions.members_api import member_body

app = typer.Typer(
    help="Member tiers and points (会员体系): tiers by spend or orders, points per yuan.",
    no_args_is_help=True,
)
tiers_app = typer.Typer(help="The tiers (普通 / 银卡 / 金卡 …).", no_args_is_help=True)
points_app = typer.Typer(help="Points: adjust by hand, the coupons they buy.", no_args_is_help=True)
app.add_typer(tiers_app, name="tiers")
app.add_typer(points_app, name="points")
JSON = typer.Option(False, "--json", help="Print JSON.")
CUSTOMER = typer.Argument(..., metavar="CUSTOMER", help="A customer id or any identity value.")


@app.command("settings")
def settings(
    points_per_yuan: int = typer.Option(..., "--points-per-yuan", help="0 earns no points."),
    basis: str = typer.Option("spend", "--basis", help="spend or orders"),
    window_days: int = typer.Option(365, "--window-days", help="The rolling window."),
    json_out: bool = JSON,
) -> None:
    """Set points per yuan paid (rounded down) and what the tiers count over how many days."""
    upgrade()
    try:
        with acting_as("cli"), unit_of_work() as session:
            found = members.set_settings(session, points_per_yuan, basis, window_days)
            shown = {"points_per_yuan": found.points_per_yuan, "basis": found.basis,
                     "window_days": found.window_days}  # fmt: skip
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(shown)
    console.print(f"{shown['points_per_yuan']} points per yuan; tiers by {basis} over "
                  f"{window_days} days")  # fmt: skip


def tier_row(tier: MemberTier, basis: str, count: int) -> dict:
    least = tier.least / 100 if basis == "spend" else tier.least
    return {"key": tier.key, "name": tier.name, "least": least, "basis": basis,
            "benefits": tier.benefits, "coupon_template_id": tier.coupon_template_id,
            "members": count}  # fmt: skip


@tiers_app.command("create")
def create_tier(
    key: str = typer.Option(..., "--key", help="Lowercase letters, digits, '-' or '_'."),
    name: str = typer.Option(..., "--name"),
    least: str = typer.Option(..., "--least", help="Yuan (spend basis) or orders to reach it."),
    coupon: str | None = typer.Option(
        None, "--coupon", help="A coupon template issued on reaching it."
    ),
    benefits: str = typer.Option("", "--benefits", help="What members of the tier get, as text."),
    json_out: bool = JSON,
) -> None:
    """Create a tier, or change the one with this key."""
    upgrade()
    try:
        with acting_as("cli"), unit_of_work() as session:
            basis = points.settings_of(session).basis
            amount = (option_fen(least, "--least") or 0) if basis == "spend" else _count(least)
            tier = members.save_tier(session, key, name, amount, coupon, benefits)
            shown = tier_row(tier, basis, members.tier_counts(session).get(tier.id, 0))
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(shown)
    console.print(f"tier {key} ({name}) from {shown['least']} ({basis})")


def _count(text: str) -> int:
    if not text.strip().isdecimal():
        raise typer.BadParameter("a number of orders", param_hint="--least")
    return int(text)


@tiers_app.command("list")
def list_tiers(json_out: bool = JSON) -> None:
    """The tiers from the lowest up, with their members."""
    upgrade()
    with session_factory()() as session:
        basis, counts = points.settings_of(session).basis, members.tier_counts(session)
        rows = [tier_row(t, basis, counts.get(t.id, 0)) for t in members.tiers(session)]
    if json_out:
        return emit_json(rows)
    table = Table("key", "name", f"from ({basis})", "members", "benefits")
    for r in rows:
        table.add_row(r["key"], r["name"], str(r["least"]), str(r["members"]), r["benefits"])
    console.print(table)


@app.command("show")
def show(customer: str = CUSTOMER, json_out: bool = JSON) -> None:
    """A customer's tier, the next one, points, benefits and latest ledger rows."""
    upgrade()
    try:
        with session_factory()() as session:
            shown = member_body(session, activities.payer(session, customer).id)
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(shown)
    tier = shown["tier"]["name"] if shown["tier"] else "-"
    console.print(f"customer {shown['customer_id']}: tier {tier}, {shown['points']} points")
    if shown["next_tier"]:
        console.print(f"next: {shown['next_tier']['name']} ({shown['next_tier']['missing']} to go)")
    for entry in shown["ledger"]:
        console.print(f"  {entry['at']} {entry['kind']} {entry['points']:+} → {entry['balance']}")


@points_app.command("adjust")
def adjust(
    customer: str = CUSTOMER,
    points_: int = typer.Option(..., "--points", help="Points to add (negative: take away)."),
    reason: str = typer.Option(..., "--reason", help="Why: kept on the ledger row."),
    json_out: bool = JSON,
) -> None:
    """Add or take away points by hand, with a reason."""
    upgrade()
    try:
        with acting_as("cli"), unit_of_work() as session:
            payer = activities.payer(session, customer)
            entry = points.adjust(session, payer.id, points_, reason)
            shown = {"customer_id": payer.id, "points": entry.delta, "balance": entry.balance,
                     "reason": entry.reason}  # fmt: skip
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(shown)
    console.print(
        f"customer {shown['customer_id']}: {points_:+} points, balance {shown['balance']}"
    )


@points_app.command("reward")
def reward(
    template: str = typer.Argument(..., metavar="TEMPLATE", help="A coupon template's key."),
    points_: int = typer.Option(..., "--points", help="Its points price (0: not for points)."),
    json_out: bool = JSON,
) -> None:
    """Let customers buy a coupon template's coupons with points."""
    upgrade()
    try:
        with acting_as("cli"), unit_of_work() as session:
            points.set_reward(session, template, points_)
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json({"coupon_template": template, "points": points_})
    console.print(f"coupon {template}: {points_} points")


@app.command("flash-price")
def flash_price(
    sale: str = typer.Argument(..., metavar="SALE", help="A flash sale's key."),
    tier: str = typer.Argument(..., metavar="TIER", help="A tier's key."),
    price: str | None = typer.Option(None, "--price", help="Yuan; leave out for the sale's own."),
    json_out: bool = JSON,
) -> None:
    """Sell a flash sale to a tier's members at a price of their own (会员价)."""
    upgrade()
    fen = option_fen(price, "--price")
    try:
        with acting_as("cli"), unit_of_work() as session:
            found = flash.find_sale(session, sale)
            tier_prices.set_tier_price(session, found, members.find_tier(session, tier).id, fen)
            prices = tier_prices.tier_prices(session, found)
            keys = {t.id: t.key for t in members.tiers(session)}
            shown = {"sale": sale, "prices": {keys[k]: v / 100 for k, v in prices.items()}}
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(shown)
    console.print(
        f"flash sale {sale}: {tier} pays " + (f"¥{fen / 100:.2f}" if fen else "the sale's price")
    )


@app.command("check")
def check(json_out: bool = JSON) -> None:
    """Every member's balance against the sum of their ledger rows; exit 1 on any difference."""
    upgrade()
    with session_factory()() as session:
        wrong = [d.__dict__ for d in points.check(session)]
    if json_out:
        emit_json({"balanced": not wrong, "imbalances": wrong})
    elif wrong:
        for d in wrong:
            console.print(f"customer {d['customer_id']}: balance {d['balance']}, "
                          f"ledger {d['ledger_sum']}")  # fmt: skip
    else:
        console.print("every balance equals its ledger")
    if wrong:
        raise typer.Exit(1)
