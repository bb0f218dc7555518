"""`siyu consent`: import a list of subscribed customers, set one customer's consent, show it."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from siyu.core.audit import acting_as
from siyu.core.console_out import brand_time, console, emit_json, fail
from siyu.core.db import session_factory, unit_of_work, upgrade
from siyu.core.errors import SiyuError
from siyu.customers.service import find_customer, read_list
from siyu.messaging import service
from siyu.messaging.schemas import consent_out

app = typer.Typer(
    help="Consent (营销同意) per customer and channel: import, set, show.", no_args_is_help=True
)
JSON = typer.Option(False, "--json", help="Print JSON.")
CHANNEL = typer.Option(..., "--channel", help="email, sms, wecom, official_account or call")
SOURCE = typer.Option(..., "--source", help="Where the consent came from (kept for PIPL).")


@app.command("import")
def import_file(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    channel: str = CHANNEL,
    source: str = SOURCE,
    json_out: bool = JSON,
) -> None:
    """Subscribe the customers a CSV names: its first column is any identity value (phone,
    email, member id, openid, external userid, user id) or a customer id."""
    upgrade()
    try:
        with acting_as("cli"), unit_of_work() as session:
            done = service.import_consents(
                session, read_list(file.read_bytes()), channel, source, "cli"
            )
    except SiyuError as error:
        fail(error)
    result = done.as_dict()
    if json_out:
        return emit_json(result)
    console.print(
        f"{result['subscribed']} subscribed, {result['unchanged']} already were, "
        f"{result['kept_unsubscribed']} kept unsubscribed (an import never undoes a withdrawal), "
        f"{result['unknown']} values named no customer"
    )
    for value in result["unknown_values"][:20]:
        console.print(f"  unknown: {value}")


@app.command("set")
def set_one(
    ref: str = typer.Argument(..., help="A customer id or any identity value."),
    channel: str = CHANNEL,
    status: str = typer.Option(..., "--status", help="subscribed or unsubscribed"),
    source: str = SOURCE,
    json_out: bool = JSON,
) -> None:
    """Record one customer's consent on one channel."""
    upgrade()
    try:
        with acting_as("cli"), unit_of_work() as session:
            customer = find_customer(session, ref)
            service.set_consent(
                session, customer.id, channel, status, method="cli", source=source, actor="cli"
            )
            shown = consent_out(customer.id, service.consent_of(session, customer.id))
    except SiyuError as error:
        fail(error)
    _show(shown.model_dump(mode="json"), json_out)


@app.command("show")
def show(
    ref: str = typer.Argument(..., help="A customer id or any identity value."),
    json_out: bool = JSON,
) -> None:
    """A customer's consent on every channel: status, how, from which source, when."""
    upgrade()
    try:
        with session_factory()() as session:
            customer = find_customer(session, ref)
            shown = consent_out(customer.id, service.consent_of(session, customer.id))
    except SiyuError as error:
        fail(error)
    _show(shown.model_dump(mode="json"), json_out)


def _show(found: dict, json_out: bool) -> None:
    if json_out:
        return emit_json(found)
    table = Table("channel", "status", "reachable", "method", "source", "when", "by")
    for row in found["channels"]:
        table.add_row(
            row["channel"],
            row["status"] or "—",
            "yes" if row["reachable"] else "no",
            row["method"] or "",
            row["source"] or "",
            brand_time(row["changed_at"]),
            row["changed_by"] or "",
        )
    console.print(f"customer {found['customer_id']}")
    console.print(table)
