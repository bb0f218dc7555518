"""`siyu users create`: console users."""

from __future__ import annotations

import typer

from siyu.core.audit import acting_as
from siyu.core.console_out import console, emit_json, fail
from siyu.core.db import unit_of_work, upgrade
from siyu.core.errors import SiyuError
from siyu.users import service

app = typer.Typer(help="Console users.", no_args_is_help=True)


@app.command("create")
def create(
    email: str = typer.Option(..., "--email"),
    password: str = typer.Option(..., "--password"),
    role: str = typer.Option(..., "--role", help="admin, operator, analyst or guide."),
    name: str = typer.Option(None, "--name"),
    staff_id: int = typer.Option(None, "--staff-id", help="For guides: their staff id."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create a console user."""
    upgrade()
    try:
        with acting_as("cli"), unit_of_work() as session:
            user = service.create_user(session, email, password, role, name, staff_id)
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json({"id": user.id, "email": user.email, "role": user.role})
    console.print(f"user {user.email} ({user.role}) created")
