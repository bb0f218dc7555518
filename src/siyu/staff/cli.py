"""`siyu staff`: list staff, set limits and contact ways, and hand a guide's customers over."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from siyu.core.audit import acting_as
from siyu.core.console_out import brand_time, console, emit_json, fail
from siyu.core.db import session_factory, unit_of_work, upgrade
from siyu.core.errors import SiyuError
from siyu.staff import handover as handovers
from siyu.staff import service
from siyu.staff.routing import contacts_of

app = typer.Typer(
    help="Guides, stores and teams; handovers (离职继承 / 在职转接).", no_args_is_help=True
)
handover_app = typer.Typer(help="Hand a guide's customers to others.", no_args_is_help=True)
app.add_typer(handover_app, name="handover")


@app.command("list")
def list_cmd(json_out: bool = typer.Option(False, "--json")) -> None:
    """Every staff member with their role, store, status and customers."""
    upgrade()
    with session_factory()() as session:
        stores = {s.id: s.name for s in service.list_stores(session)}
        rows: list[dict[str, Any]] = [
            {
                "id": s.id,
                "name": s.name,
                "role": s.role,
                "store": stores.get(s.store_id) if s.store_id else None,
                "wecom_userid": s.wecom_userid,
                "status": s.status,
                "customers": contacts_of(session, s.id),
                "contact_limit": s.contact_limit,
            }
            for s in service.list_staff(session)
        ]
    if json_out:
        return emit_json(rows)
    table = Table("id", "name", "role", "store", "WeCom", "status", "customers", "limit")
    for r in rows:
        table.add_row(
            *(
                str(r[k]) if r[k] is not None else ""
                for k in (
                    "id",
                    "name",
                    "role",
                    "store",
                    "wecom_userid",
                    "status",
                    "customers",
                    "contact_limit",
                )
            )
        )
    console.print(table)


@app.command("set")
def set_cmd(
    staff_id: int,
    role: str | None = typer.Option(None, "--role"),
    contact_limit: int | None = typer.Option(None, "--contact-limit"),
    contact_way_url: str | None = typer.Option(None, "--contact-way-url"),
    team: str | None = typer.Option(None, "--team", help="A team name (created if new)."),
) -> None:
    """Change a staff member's role, contact limit, contact-way URL or team."""
    upgrade()
    fields = {
        k: v
        for k, v in (
            ("role", role),
            ("contact_limit", contact_limit),
            ("contact_way_url", contact_way_url),
        )
        if v is not None
    }
    try:
        with acting_as("cli"), unit_of_work() as session:
            if team:
                fields["team_id"] = service.create_team(session, team).id
            service.update_staff(session, staff_id, **fields)
    except SiyuError as error:
        fail(error)
    console.print(f"staff {staff_id} updated")


@handover_app.command("start")
def start(
    from_staff_id: int = typer.Option(..., "--from", help="The guide whose customers move."),
    strategy: str = typer.Option(
        "least_loaded", "--strategy", help="least_loaded, round_robin, by_store"
    ),
    to: int | None = typer.Option(None, "--to", help="Hand everything to this staff id."),
    reason: str = typer.Option("leaving", "--reason", help="leaving (离职) or moving (在职)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Hand every customer of a guide to others, one recorded move each."""
    upgrade()
    try:
        with unit_of_work() as session:
            made = handovers.hand_over(
                session, from_staff_id, to if to is not None else strategy, reason, "cli"
            )
            summary = _summary(session, made.id)
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(summary)
    console.print(f"handover {summary['id']}: {summary['moves']}")


def _summary(session, handover_id: int) -> dict:
    counts = handovers.move_counts(session, [handover_id]).get(handover_id, {})
    return {"id": handover_id, "moves": counts}


@handover_app.command("retry")
def retry(json_out: bool = typer.Option(False, "--json")) -> None:
    """Move again every customer whose transfer failed or was refused."""
    upgrade()
    with unit_of_work() as session:
        moves = handovers.retry_pool(session, "cli")
        rows = [{"customer_id": m.customer_id, "to_staff_id": m.to_staff_id} for m in moves]
    if json_out:
        return emit_json(rows)
    console.print(f"{len(rows)} moves retried")


@handover_app.command("list")
def list_handovers(json_out: bool = typer.Option(False, "--json")) -> None:
    """Recent handovers and how their moves went."""
    upgrade()
    with session_factory()() as session:
        made = handovers.handovers(session)
        counts = handovers.move_counts(session, [h.id for h in made])
        rows: list[dict[str, Any]] = [
            {
                "id": h.id,
                "from_staff_id": h.from_staff_id,
                "reason": h.reason,
                "strategy": h.strategy,
                "actor": h.actor,
                "at": h.created_at.isoformat(),
                "moves": counts.get(h.id, {}),
            }
            for h in made
        ]
    if json_out:
        return emit_json(rows)
    table = Table("id", "from", "reason", "strategy", "by", "at (brand)", "moves")
    for r in rows:
        table.add_row(
            str(r["id"]),
            str(r["from_staff_id"]),
            r["reason"],
            r["strategy"],
            r["actor"],
            brand_time(r["at"]),
            ", ".join(f"{k} {v}" for k, v in sorted(r["moves"].items())),
        )
    console.print(table)
