"""`siyu tokens`: management API tokens for scripts and integrations, without the console."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from siyu.core.audit import acting_as
from siyu.core.auth import ApiToken
from siyu.core.console_out import brand_time, console, emit_json, fail
from siyu.core.db import session_factory, unit_of_work, upgrade
from siyu.core.errors import SiyuError
from siyu.settings import service

app = typer.Typer(help="Management API tokens (bearer tokens for /api).", no_args_is_help=True)


@app.command("create")
def create(
    name: str = typer.Option(..., "--name", help="Who or what uses it, e.g. crm-sync."),
    role: str = typer.Option(
        ..., "--role", help="admin, operator, analyst, guide or mall (checkout only)."
    ),
    staff_id: int | None = typer.Option(None, "--staff-id", help="A guide's token: their id."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create a token and print it on the last line (it is shown only this once)."""
    upgrade()
    try:
        with acting_as("cli"), unit_of_work() as session:
            token, secret = service.issue_token(session, name, role, staff_id)
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(_row(token) | {"token": secret})
    console.print(f"token {token.id} [bold]{escape(token.name)}[/bold] ({token.role}) created:")
    print(secret)


@app.command("list")
def list_tokens(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every token with its prefix, role and state (never the token itself)."""
    upgrade()
    with session_factory()() as session:
        rows = [_row(token) for token in service.list_tokens(session)]
    if json_out:
        return emit_json(rows)
    table = Table("id", "name", "role", "staff", "token", "created (brand)", "revoked")
    for row in rows:
        table.add_row(
            str(row["id"]),
            escape(row["name"]),
            row["role"],
            str(row["staff_id"] or ""),
            row["token_prefix"] + "…",
            brand_time(row["created_at"]),
            brand_time(row["revoked_at"]),
        )
    console.print(table)


@app.command("revoke")
def revoke(
    token_id: int = typer.Argument(..., metavar="ID", help="The id `list` shows."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Revoke a token: requests with it are refused from now on."""
    upgrade()
    try:
        with acting_as("cli"), unit_of_work() as session:
            token = service.revoke_token(session, token_id)
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(_row(token))
    console.print(f"token {token.id} ({escape(token.name)}) is revoked")


def _row(token: ApiToken) -> dict:
    return {
        "id": token.id,
        "name": token.name,
        "role": token.role,
        "staff_id": token.staff_id,
        "token_prefix": token.token_prefix,
        "created_at": token.created_at,
        "revoked_at": token.revoked_at,
    }
