"""`siyu journeys`: create a journey from JSON or an SOP template, publish, pause, show, list."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

import orjson
import typer
from rich.table import Table

from siyu.core.audit import acting_as
from siyu.core.console_out import console, emit_json, errors, fail
from siyu.core.db import session_factory, unit_of_work, upgrade
from siyu.core.errors import InvalidInput, SiyuError
from siyu.journeys import service as journeys
from siyu.journeys.definition import DefinitionError

app = typer.Typer(help="Journeys and SOPs (旅程 / SOP).", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON.")
ACTOR = "cli"


def _fail(error: SiyuError) -> NoReturn:
    if isinstance(error, DefinitionError):
        for problem in error.problems:
            errors.print(f"[red]error ({problem.path}):[/red] {problem.message}")
        raise typer.Exit(2)
    fail(error)


def _read(path: Path) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except OSError as error:
        raise InvalidInput(f"cannot read {path}: {error.strerror}", field="file") from None
    except orjson.JSONDecodeError as error:
        raise InvalidInput(f"{path} is not JSON: {error}", field="file") from None


@app.command("create")
def create(
    file: Path | None = typer.Argument(None, help="The definition (JSON, docs/journeys.md)."),
    template: str | None = typer.Option(
        None, "--template", help=f"An SOP template: {', '.join(journeys.TEMPLATES)}."
    ),
    json_out: bool = JSON,
) -> None:
    """Create a journey in draft from a JSON file or a template (publish it next)."""
    upgrade()
    try:
        if (file is None) == (template is None):
            raise InvalidInput("give a FILE.json or --template NAME", field="file")
        document = _read(file) if file else journeys.template(template or "")
        with acting_as(ACTOR), unit_of_work() as session:
            journey = journeys.create_journey(session, document, ACTOR)
            row = journeys.show(session, journey.key)
    except SiyuError as error:
        _fail(error)
    if json_out:
        return emit_json(row)
    console.print(f"journey {row['key']} created in draft (version 1): siyu journeys publish KEY")


@app.command("update")
def update(key: str, file: Path, json_out: bool = JSON) -> None:
    """Save a new definition as the draft (the next version; publish it to use it)."""
    upgrade()
    try:
        with acting_as(ACTOR), unit_of_work() as session:
            version = journeys.save_draft(session, key, _read(file), ACTOR)
            row = journeys.show(session, key)
    except SiyuError as error:
        _fail(error)
    if json_out:
        return emit_json(row)
    console.print(f"journey {key}: draft version {version.version} saved")


def _change(action: str, key: str, json_out: bool) -> None:
    upgrade()
    try:
        with acting_as(ACTOR), unit_of_work() as session:
            getattr(journeys, action)(session, key, ACTOR)
            row = journeys.show(session, key)
    except SiyuError as error:
        _fail(error)
    if json_out:
        return emit_json(row)
    console.print(f"journey {key}: {row['status']}, version {row['current_version']}")


@app.command("publish")
def publish(key: str, json_out: bool = JSON) -> None:
    """Publish the draft: customers who enter from now on get it; those inside stay on theirs."""
    _change("publish", key, json_out)


@app.command("pause")
def pause(key: str, json_out: bool = JSON) -> None:
    """Pause: no one enters and no step runs until resumed."""
    _change("pause", key, json_out)


@app.command("resume")
def resume(key: str, json_out: bool = JSON) -> None:
    """Resume a paused journey."""
    _change("resume", key, json_out)


@app.command("archive")
def archive(key: str, json_out: bool = JSON) -> None:
    """Archive: customers inside leave, no one enters again."""
    _change("archive", key, json_out)


@app.command("show")
def show(key: str, json_out: bool = JSON) -> None:
    """A journey: its versions, entries by status and per-step runs."""
    upgrade()
    try:
        with session_factory()() as session:
            row = journeys.show(session, key)
    except SiyuError as error:
        _fail(error)
    if json_out:
        return emit_json(row)
    entries = row["entries"]
    console.print(
        f"{row['key']} — {row['name']}: {row['status']}, version {row['current_version']}; "
        f"entries active {entries['active']}, completed {entries['completed']}, "
        f"exited {entries['exited']}"
    )
    table = Table("version", "steps", "published", "by")
    for v in row["versions"]:
        table.add_row(
            str(v["version"]),
            str(v["steps"]),
            str(v["published_at"] or "draft"),
            v["published_by"] or v["created_by"],
        )
    console.print(table)
    for step_id, counts in row["steps"].items():
        console.print(f"  {step_id}: " + ", ".join(f"{k} {n}" for k, n in counts.items()))


@app.command("list")
def list_cmd(json_out: bool = JSON) -> None:
    """Every journey with its status and entries."""
    upgrade()
    with session_factory()() as session:
        rows = [journeys.summary(o) for o in journeys.list_journeys(session)]
    if json_out:
        return emit_json(rows)
    table = Table("key", "name", "status", "version", "active", "completed", "exited")
    for r in rows:
        e = r["entries"]
        table.add_row(
            r["key"],
            r["name"],
            r["status"],
            str(r["current_version"] or ""),
            str(e["active"]),
            str(e["completed"]),
            str(e["exited"]),
        )
    console.print(table)
