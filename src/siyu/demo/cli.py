"""`siyu demo`: build the demo brand 「山茶 Shancha」, a tea-drink chain, and say how to use it."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

import typer
from rich.progress import Progress, TaskID
from rich.table import Table

from siyu.core.console_out import console, emit_json, errors, progress_bar
from siyu.core.db import session_factory, upgrade, utcnow
from siyu.core.settings import get_settings
from siyu.demo import service
from siyu.demo.brand import BRAND
from siyu.demo.stream import MAX_CUSTOMERS, Plan

STAGES = {
    "events": "events (days)",
    "lake": "to the lake (events)",
    "reach": "broadcasts (群发)",
    "coupons": "coupons (券) issued and redeemed",
    "activities": "activities (活动)",
}


def demo(
    customers: int = typer.Option(20_000, min=1, max=MAX_CUSTOMERS, help="Customers to create."),
    days: int = typer.Option(365, min=1, max=3650, help="Days of history, ending on --end-date."),
    seed: int = typer.Option(1, min=0, help="Same seed, same brand."),
    end_date: datetime | None = typer.Option(
        None, formats=["%Y-%m-%d"], help="Last day of history (default: today in SIYU_TIMEZONE)."
    ),
    if_empty: bool = typer.Option(
        False, "--if-empty", help="Do nothing if the database already has customers or a demo."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    port: int = typer.Option(
        8000, min=1, max=65535, help="The port `siyu serve` listens on, for the printed URLs."
    ),
) -> None:
    """Build the demo brand through the product's own services (tracking, orders, lake)."""
    upgrade()
    zone = get_settings().zone
    base = get_settings().public_base(f"http://127.0.0.1:{port}")
    with session_factory()() as session:
        has_data = service.has_data(session)
    if has_data and if_empty:
        errors.print("the database already has customers or a demo; leaving it as it is")
        _print_sign_in(service.demo_users_present(), base)
        return
    if has_data:
        errors.print("[yellow]the database already has data; adding the demo to it[/yellow]")
    last_day = end_date.date() if end_date else datetime.now(zone).date()
    plan = Plan(end_date=last_day, customers=customers, days=days, seed=seed, zone=zone)
    with progress_bar() as bar:
        result = service.build(plan, utcnow(), _tracker(bar))
    if json_out:
        return emit_json({"summary": asdict(result.summary), "access": asdict(result.access)})
    _print_summary(plan, result.summary)
    _print_access(result.access, base)
    _print_sign_in(result.access.users, base)


def _tracker(bar: Progress):
    tasks: dict[str, TaskID] = {}

    def report(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(STAGES.get(stage, stage), total=total)
        bar.update(tasks[stage], completed=done, total=total)

    return report


def _print_summary(plan: Plan, s: service.Summary) -> None:
    table = Table(title=f"{BRAND}: the demo brand", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [
        ("period", f"{plan.days} days to {plan.end_date} (seed {plan.seed})"),
        ("customers", f"{s.customers:,} ({s.identified:,} identified, {s.members:,} members)"),
        ("events", f"{s.events:,}"),
        ("orders", f"{s.orders:,}"),
        ("GMV", service.yuan(s.gmv_fen)),
        ("refunded", service.yuan(s.refunded_fen)),
        ("touchpoints", f"{s.touchpoints} ({s.paid_touchpoints} paid, with costs)"),
        ("stores", str(s.stores)),
        ("guides", f"{s.guides} (owning {s.owned_customers:,} customers)"),
        ("events in the lake", f"{s.lake_events:,}"),
        ("time taken", f"{s.seconds:,.1f} s ({s.events_per_second:,.0f} events/s ingested)"),
    ]
    for label, value in rows:
        table.add_row(label, value)
    console.print(table)


def _print_access(access: service.Access, base: str) -> None:
    if access.write_key:
        console.print(f"\nWrite key for the source [bold]{access.source}[/bold] (shown once):")
        console.print(access.write_key, soft_wrap=True)
        console.print("Send an event to the tracking API:", soft_wrap=True)
        event = (
            '{"userId": "u0000001", "event": "Product Viewed", '
            '"properties": {"product_id": "T01", "name": "山茶拿铁", "touchpoint": "mp-home"}}'
        )
        console.print(
            f"  curl -u '{access.write_key}:' {base}/v1/track "
            f"-H 'Content-Type: application/json' -d '{event}'",
            soft_wrap=True,
            markup=False,
        )
    else:
        console.print(
            f"\nThe source [bold]{access.source}[/bold] exists already (its key was shown when "
            "it was made); `siyu keys create --name NAME` makes another."
        )
    console.print("\nAdmin API token (shown once):")
    console.print(access.admin_token, soft_wrap=True)
    console.print("Look a customer up by any id (here the showcase customer's phone):")
    console.print(
        f"  curl -H 'Authorization: Bearer {access.admin_token}' {base}/api/customers/13800138000",
        soft_wrap=True,
        markup=False,
    )


def _print_sign_in(users: list, base: str) -> None:
    if not users:
        return
    console.print(
        f"\n[bold]Sign in to the console at {base}/[/bold] (password for each: "
        f"[bold]{users[0].password}[/bold]):"
    )
    for user in users:
        console.print(f"  {user.email:<28} {user.role}")
