"""`siyu touchpoints`: register touchpoints, record what paid ones cost, list them."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import typer
from rich.table import Table

from siyu.core.audit import acting_as
from siyu.core.console_out import console, emit_json, fail
from siyu.core.db import session_factory, unit_of_work, upgrade
from siyu.core.errors import SiyuError
from siyu.core.settings import get_settings
from siyu.orders.service import to_fen
from siyu.touchpoints import service
from siyu.touchpoints.models import ENTRY_TYPES, GROUPS

app = typer.Typer(help="Touchpoints (触点): where customers meet the brand.", no_args_is_help=True)


@app.command("register")
def register(
    code: str = typer.Option(..., "--code", help="The code events carry as `touchpoint`."),
    name: str = typer.Option(..., "--name"),
    group: str = typer.Option("other", "--group", help=", ".join(GROUPS)),
    entry_type: str = typer.Option("owned", "--entry-type", help=", ".join(ENTRY_TYPES)),
    store: str | None = typer.Option(None, "--store", help="The store's code."),
    owner: str | None = typer.Option(None, "--owner", help="The owner's WeCom UserID."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Register a touchpoint (an unregistered code seen in events becomes registered)."""
    upgrade()
    try:
        with acting_as("cli"), unit_of_work() as session:
            store_id, owner_id = service.store_and_owner(session, store, owner)
            made = service.register(session, code, name, group, entry_type, store_id, owner_id)
            row = {
                "code": made.code,
                "name": made.name,
                "group": made.group,
                "entry_type": made.entry_type,
                "store_id": made.store_id,
                "owner_id": made.owner_id,
            }
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(row)
    console.print(f"touchpoint {code} registered")


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=get_settings().zone)


@app.command("cost")
def cost(
    code: str = typer.Option(..., "--code"),
    start: datetime = typer.Option(..., "--from", formats=["%Y-%m-%d"], help="First day."),
    end: datetime = typer.Option(..., "--to", formats=["%Y-%m-%d"], help="Last day (included)."),
    amount: str = typer.Option(..., "--amount", help="Yuan, e.g. 12000 or 12,000.50."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Record what a paid touchpoint cost over some days (for ROI)."""
    upgrade()
    try:
        fen = to_fen(amount, "amount")
        with acting_as("cli"), unit_of_work() as session:
            service.record_cost(
                session,
                code,
                _start_of(start.date()),
                _start_of(end.date()) + timedelta(days=1),
                fen,
            )
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json({"code": code, "from": start.date(), "to": end.date(), "amount_fen": fen})
    console.print(f"cost of {code} recorded")


@app.command("list")
def list_cmd(json_out: bool = typer.Option(False, "--json")) -> None:
    """Every touchpoint, registered or only seen in events."""
    upgrade()
    with session_factory()() as session:
        stores, owners = service.store_codes_and_owners(session)
        rows: list[dict[str, Any]] = [
            {
                "code": t.code,
                "name": t.name,
                "group": t.group,
                "entry_type": t.entry_type,
                "registered": t.is_registered,
                "store": stores.get(t.store_id) if t.store_id else None,
                "owner": owners.get(t.owner_id) if t.owner_id else None,
            }
            for t in service.list_touchpoints(session)
        ]
    if json_out:
        return emit_json(rows)
    table = Table("code", "name", "group", "entry", "registered")
    for row in rows:
        table.add_row(
            row["code"],
            row["name"],
            row["group"],
            row["entry_type"],
            "yes" if row["registered"] else "[yellow]no[/yellow]",
        )
    console.print(table)
