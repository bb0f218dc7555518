"""`siyu segment`: preview a rule file (count and sample) and list its members."""

from __future__ import annotations

import json
import re
from pathlib import Path

import typer
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from siyu.core.audit import acting_as
from siyu.core.console_out import brand_time, console, emit_json, fail, progress_bar
from siyu.core.db import unit_of_work
from siyu.core.errors import InvalidInput, SiyuError
from siyu.core.lake import refresh_snapshots
from siyu.segments import service
from siyu.segments.lifecycle import LifecycleThresholds, thresholds
from siyu.segments.rules import Resolve

app = typer.Typer(
    help="Segments (人群包): preview a rule, list its members, store and refresh segments.",
    no_args_is_help=True,
)

SEGMENT_KEY = re.compile(r"[\w-]+")
RULES_HELP = "A rule as JSON (see docs/segments.md)."
AS_OF_HELP = "Evaluate as of this date (start of day in SIYU_TIMEZONE) or time; default now."
SEGMENTS_HELP = 'Folder of KEY.json rules that {"segment": KEY} names; default: the rule\'s folder.'


@app.command()
def preview(
    rules: Path = typer.Argument(..., metavar="RULES.json", help=RULES_HELP),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
    segments: Path | None = typer.Option(None, "--segments", help=SEGMENTS_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """How many customers the rule holds for, and a sample of them."""
    from siyu.segments import evaluation  # Ibis: only a rule evaluated here needs it

    try:
        result = evaluation.preview(
            _read(rules),
            as_of=evaluation.parse_as_of(as_of),
            resolve=folder_resolver(segments or rules.parent),
            key=rules.stem,
            thresholds=_brand_thresholds(),
        )
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(result.model_dump())
    console.print(f"[bold]{result.count}[/bold] customers")
    table = Table("customer", "user_id")
    for member in result.sample:
        table.add_row(str(member.customer_id), member.user_id or "")
    console.print(table)


@app.command()
def members(
    rules: Path = typer.Argument(..., metavar="RULES.json", help=RULES_HELP),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
    segments: Path | None = typer.Option(None, "--segments", help=SEGMENTS_HELP),
) -> None:
    """One member per line: the user_id, or the customer id when there is none."""
    from siyu.segments import evaluation

    try:
        found = evaluation.members(
            _read(rules),
            as_of=evaluation.parse_as_of(as_of),
            resolve=folder_resolver(segments or rules.parent),
            key=rules.stem,
            thresholds=_brand_thresholds(),
        )
        for member in found:
            typer.echo(member.label)
    except SiyuError as error:
        fail(error)


@app.command()
def create(
    key: str = typer.Argument(..., help="The segment's key (how rules and the API name it)."),
    rules: Path = typer.Option(..., "--rules", metavar="RULES.json", help=RULES_HELP),
    name: str = typer.Option(..., "--name", help="What operators call it."),
    schedule: str = typer.Option("daily", help="manual, hourly or daily refresh."),
    description: str = typer.Option("", "--description", help="What it is for."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Store a segment and fill its members."""
    try:
        rule = _read(rules)
        refresh_snapshots()
        with acting_as("cli"), unit_of_work() as session:
            segment = service.create_segment(
                session, key, name, rule, schedule, "cli", description=description
            )
            counts = service.refresh(session, segment)
            result = _summary(segment)
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json({**result, "entered": counts[1], "exited": counts[2]})
    console.print(f"segment [bold]{key}[/bold]: {counts[0]} members")


@app.command()
def refresh(
    key: str = typer.Argument(..., help="The segment's key."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Bring a stored segment's members up to date now (who entered, who exited)."""
    try:
        refresh_snapshots()
        with acting_as("cli"), unit_of_work() as session, progress_bar() as bar:
            segment = service.find_segment(session, key)
            task = bar.add_task(f"refresh {key}", total=100)
            counts = service.refresh(
                session, segment, progress=lambda p: bar.update(task, completed=p)
            )
            bar.update(task, completed=100)
    except SiyuError as error:
        fail(error)
    members_, entered, exited = counts
    if json_out:
        return emit_json({"key": key, "members": members_, "entered": entered, "exited": exited})
    console.print(f"{key}: {members_} members, {entered} entered, {exited} exited")


@app.command("list")
def list_(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every stored segment, its schedule and member count."""
    with unit_of_work() as session:
        found = [_summary(s) for s in service.list_segments(session)]
    if json_out:
        return emit_json(found)
    table = Table("key", "name", "schedule", "members", "refreshed (brand)")
    for row in found:
        members_ = "" if row["member_count"] is None else str(row["member_count"])
        refreshed = brand_time(row["refreshed_at"])
        table.add_row(row["key"], row["name"], row["schedule"], members_, refreshed)
    console.print(table)


@app.command()
def export(
    key: str = typer.Argument(..., help="The segment's key."),
    output: Path | None = typer.Option(None, "--output", "-o", help="File; default stdout."),
) -> None:
    """The current members as CSV (customer_id, user_id, phone, entered_at)."""
    try:
        with unit_of_work() as session:
            segment = service.find_segment(session, key)
            chunks = service.export_csv(session, segment)
            if output is None:
                for chunk in chunks:
                    typer.echo(chunk, nl=False)
            else:
                with output.open("w", encoding="utf-8", newline="") as handle:
                    handle.writelines(chunks)
    except SiyuError as error:
        fail(error)


def _brand_thresholds() -> LifecycleThresholds:
    """The brand's stored lifecycle days; the defaults when the database cannot be read."""
    try:
        with unit_of_work() as session:
            return thresholds(session)
    except SQLAlchemyError:
        return LifecycleThresholds()


def _summary(segment) -> dict:
    refreshed = segment.refreshed_at.isoformat() if segment.refreshed_at else ""
    return {
        "key": segment.key,
        "name": segment.name,
        "description": segment.description,
        "schedule": segment.schedule,
        "member_count": segment.member_count,
        "refreshed_at": refreshed,
        "rule": segment.rule,
    }


def folder_resolver(folder: Path) -> Resolve:
    """{"segment": KEY} → the rule in FOLDER/KEY.json (None when there is no such file)."""

    def resolve(key: str) -> dict | None:
        path = folder / f"{key}.json"
        if not SEGMENT_KEY.fullmatch(key) or not path.is_file():
            return None
        return _read(path)

    return resolve


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InvalidInput(f"cannot read {path}: {error.strerror}", field="rules") from None
    except ValueError as error:
        raise InvalidInput(f"{path} is not JSON: {error}", field="rules") from None
