"""`siyu staff`: take staff on, list them, change them, and hand a guide's customers over;
`siyu stores`: open, list and change stores. Both work without WeCom."""

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
stores_app = typer.Typer(help="Stores (门店): open, list and change stores.", no_args_is_help=True)


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


@app.command("add")
def add_cmd(
    name: str = typer.Argument(..., help="The staff member's name."),
    role: str = typer.Option("guide", "--role", help="guide, persona, assistant or manager"),
    store: str | None = typer.Option(None, "--store", help="A store code or id."),
    team: str | None = typer.Option(None, "--team", help="A team name (created if new)."),
    wecom_userid: str | None = typer.Option(None, "--wecom-userid", help="Only with WeCom."),
    contact_limit: int | None = typer.Option(None, "--contact-limit"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Take on a guide, persona account, assistant or manager (no WeCom needed)."""
    upgrade()
    try:
        with acting_as("cli"), unit_of_work() as session:
            fields: dict[str, Any] = {}
            if team:
                fields["team_id"] = service.create_team(session, team).id
            if contact_limit is not None:
                fields["contact_limit"] = contact_limit
            staff = service.create_staff(
                session, name, role, _store_id(session, store), wecom_userid, **fields
            )
            row = {"id": staff.id, "name": staff.name, "role": staff.role}
            row["store_id"] = staff.store_id
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(row)
    console.print(f"staff {row['id']} added: {row['name']} ({row['role']})")


@app.command("set")
def set_cmd(
    staff_id: int,
    name: str | None = typer.Option(None, "--name"),
    role: str | None = typer.Option(None, "--role"),
    store: str | None = typer.Option(
        None, "--store", help="A store code or id; '' for none (moves the guide)."
    ),
    status: str | None = typer.Option(None, "--status", help="active, or left (离职)"),
    contact_limit: int | None = typer.Option(None, "--contact-limit"),
    contact_way_url: str | None = typer.Option(None, "--contact-way-url"),
    team: str | None = typer.Option(None, "--team", help="A team name (created if new)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Change a staff member's name, role, store, status, contact limit, contact way or team."""
    upgrade()
    fields: dict[str, Any] = {
        k: v
        for k, v in (
            ("name", name),
            ("role", role),
            ("status", status),
            ("contact_limit", contact_limit),
            ("contact_way_url", contact_way_url),
        )
        if v is not None
    }
    try:
        with acting_as("cli"), unit_of_work() as session:
            if team:
                fields["team_id"] = service.create_team(session, team).id
            if store is not None:
                fields["store_id"] = _store_id(session, store)
            service.update_staff(session, staff_id, **fields)
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json({"id": staff_id, "changed": fields})
    console.print(f"staff {staff_id} updated")


def _store_id(session, ref: str | None) -> int | None:
    """A store named by code or id on the command line; '' or None names none."""
    if not ref:
        return None
    store = service.find_store(session, ref)
    return store.id


@stores_app.command("add")
def store_add(
    code: str = typer.Argument(..., help="A short code: letters, digits, - and _."),
    name: str = typer.Argument(..., help="The store's name, e.g. 山茶·五一广场店."),
    city: str | None = typer.Option(None, "--city"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Open a store."""
    upgrade()
    try:
        with acting_as("cli"), unit_of_work() as session:
            store = service.add_store(session, code, name, city)
            row = {"id": store.id, "code": store.code, "name": store.name, "city": store.city}
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(row)
    console.print(f"store {row['id']} opened: {row['code']} {row['name']}")


@stores_app.command("list")
def store_list(json_out: bool = typer.Option(False, "--json")) -> None:
    """Every store with its guides and customers."""
    upgrade()
    with session_factory()() as session:
        rows = [
            {
                "id": store.id,
                "code": store.code,
                "name": store.name,
                "city": store.city,
                "guides": counts.guides,
                "customers": counts.customers,
            }
            for store, counts in service.stores_with_counts(session)
        ]
    if json_out:
        return emit_json(rows)
    table = Table("id", "code", "name", "city", "guides", "customers")
    for r in rows:
        table.add_row(*(str(r[k]) if r[k] is not None else "" for k in r))
    console.print(table)


@stores_app.command("set")
def store_set(
    store: str = typer.Argument(..., help="The store's code or id."),
    code: str | None = typer.Option(None, "--code"),
    name: str | None = typer.Option(None, "--name"),
    city: str | None = typer.Option(None, "--city"),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Rename a store, change its city or give it another code."""
    upgrade()
    fields = {k: v for k, v in (("code", code), ("name", name), ("city", city)) if v is not None}
    try:
        with acting_as("cli"), unit_of_work() as session:
            changed = service.update_store(session, service.find_store(session, store).id, **fields)
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json({"id": changed.id, "changed": fields})
    console.print(f"store {store} updated")


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
