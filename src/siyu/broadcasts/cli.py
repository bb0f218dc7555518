"""`siyu broadcasts`: write a broadcast (群发), preview who gets it, send it and follow it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from siyu.broadcasts import service as broadcasts
from siyu.broadcasts.models import Broadcast
from siyu.core.audit import acting_as
from siyu.core.console_out import console, emit_json, fail, option_time
from siyu.core.db import session_factory, unit_of_work, upgrade
from siyu.core.errors import SiyuError
from siyu.customers.service import read_list

app = typer.Typer(
    help="Broadcasts (群发): preview who gets a message, send it, follow it.", no_args_is_help=True
)
JSON = typer.Option(False, "--json", help="Print JSON.")


def summary(session: Any, broadcast: Broadcast) -> dict[str, Any]:
    """What `show --json` prints: the broadcast and its counts from the delivery log."""
    counts = broadcasts.counts(session, broadcast)
    return {
        "id": broadcast.id,
        "name": broadcast.name,
        "status": broadcast.status,
        "audience": broadcast.audience,
        "segment": broadcast.segment_key,
        "tags": broadcast.tag_filter or None,
        "channels": broadcast.channels,
        "purpose": broadcast.purpose,
        "holdout_percent": broadcast.holdout_percent,
        "coupon": broadcast.coupon_template,
        "scheduled_at": broadcast.scheduled_at.isoformat() if broadcast.scheduled_at else None,
        "planned_at": broadcast.planned_at.isoformat() if broadcast.planned_at else None,
        "variants": [
            {"key": v.key, "weight": v.weight} for v in broadcasts.variants_of(session, broadcast)
        ],
        **counts,
    }


@app.command("create")
def create(
    name: str = typer.Option(..., "--name"),
    segment: str | None = typer.Option(None, "--segment", help="The key of a saved segment."),
    tags: str | None = typer.Option(
        None, "--tags", help="Customers with any of these tags (comma-separated names)."
    ),
    list_file: Path | None = typer.Option(
        None, "--list", help="A CSV whose first column is a customer id or phone.", exists=True
    ),
    channel: str = typer.Option(
        ..., "--channel", help="A channel, or a fallback order: wecom,official_account,sms"
    ),
    subject: str | None = typer.Option(None, "--subject", help="An email's subject."),
    body: str = typer.Option(..., "--body", help="The text; {{ name }} and traits may be used."),
    holdout: int = typer.Option(0, "--holdout", help="Percent held out to measure lift (0-50)."),
    purpose: str = typer.Option("marketing", "--purpose", help="marketing or transactional"),
    coupon: str | None = typer.Option(
        None, "--coupon", help="A coupon template's key: each customer messaged gets one."
    ),
    json_out: bool = JSON,
) -> None:
    """Write a draft broadcast; its id is printed on the last line."""
    upgrade()
    tag_filter = {"any": [t for t in tags.split(",") if t.strip()]} if tags is not None else None
    try:
        with acting_as("cli"), unit_of_work() as session:
            customer_ids, unknown = None, list[str]()
            if list_file is not None:
                customer_ids, unknown = broadcasts.ids_from_refs(
                    session, read_list(list_file.read_bytes())
                )
            broadcast = broadcasts.create(
                session,
                name=name,
                actor="cli",
                channels=channel.split(","),
                variants=[broadcasts.VariantSpec(subject=subject, text=body)],
                segment_key=segment,
                tag_filter=tag_filter,
                customer_ids=customer_ids,
                purpose=purpose,
                holdout_percent=holdout,
                coupon_template=coupon,
            )
            row = summary(session, broadcast)
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json({**row, "unknown_in_list": len(unknown)})
    if unknown:
        console.print(f"{len(unknown)} lines of the list named no customer")
    console.print(f"broadcast {row['id']} written (draft); preview it, then send it")
    print(row["id"])


@app.command("preview")
def preview(
    broadcast_id: int = typer.Argument(..., metavar="ID"),
    at: str | None = typer.Option(None, "--at", help="As if sent at this time (ISO 8601)."),
    json_out: bool = JSON,
) -> None:
    """How many would get it, and how many are left out and why; nothing is sent."""
    upgrade()
    moment = option_time(at, "--at")
    try:
        with session_factory()() as session:
            row = broadcasts.preview(session, broadcasts.find(session, broadcast_id), moment)
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(row)
    _print_counts(row)


def _print_counts(row: dict[str, Any]) -> None:
    table = Table("", "customers")
    for key in ("audience", "planned", "deferred", "held_out"):
        if key in row:
            table.add_row(key, str(row[key]))
    for reason, count in sorted((row.get("left_out") or {}).items()):
        table.add_row(f"left out: {reason}", str(count))
    console.print(table)


@app.command("send")
def send(
    broadcast_id: int = typer.Argument(..., metavar="ID"),
    at: str | None = typer.Option(None, "--at", help="Send at this time instead of now."),
    json_out: bool = JSON,
) -> None:
    """Send now (its audience is planned at once) or at a time; the worker of `siyu serve` or
    `siyu worker` hands the messages to their channels."""
    upgrade()
    moment = option_time(at, "--at")
    try:
        with acting_as("cli"), unit_of_work() as session:
            broadcast = broadcasts.find(session, broadcast_id)
            broadcasts.schedule(session, broadcast, moment)
            if moment is None or moment <= datetime.now(UTC):
                broadcasts.plan_now(session, broadcast)
            row = summary(session, broadcast)
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(row)
    if row["status"] == "scheduled":
        console.print(f"broadcast {broadcast_id} will be sent at {row['scheduled_at']}")
    else:
        console.print(
            f"broadcast {broadcast_id}: {row['planned']} messages planned, "
            f"{row['held_out']} held out; the worker sends them"
        )


@app.command("cancel")
def cancel(broadcast_id: int = typer.Argument(..., metavar="ID"), json_out: bool = JSON) -> None:
    """Stop it: what is not yet handed to a channel is not sent."""
    upgrade()
    try:
        with acting_as("cli"), unit_of_work() as session:
            stopped = broadcasts.cancel(session, broadcasts.find(session, broadcast_id))
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json({"id": broadcast_id, "cancelled": stopped})
    console.print(f"broadcast {broadcast_id} cancelled; {stopped} messages will not be sent")


@app.command("list")
def list_cmd(json_out: bool = JSON) -> None:
    """The newest broadcasts with their counts."""
    upgrade()
    with session_factory()() as session:
        rows = [summary(session, b) for b in broadcasts.list_broadcasts(session)]
    if json_out:
        return emit_json(rows)
    table = Table("id", "name", "status", "channels", "planned", "sent", "failed", "held out")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["name"],
            r["status"],
            ",".join(r["channels"]),
            str(r["planned"]),
            str(r["sent"]),
            str(r["failed"]),
            str(r["held_out"]),
        )
    console.print(table)


@app.command("show")
def show(broadcast_id: int = typer.Argument(..., metavar="ID"), json_out: bool = JSON) -> None:
    """One broadcast: status, planned, sent, failed, and those left out by reason."""
    upgrade()
    try:
        with session_factory()() as session:
            row = summary(session, broadcasts.find(session, broadcast_id))
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(row)
    console.print(f"[bold]{row['name']}[/bold] ({row['status']}), {', '.join(row['channels'])}")
    _print_counts(row)
