"""`siyu segment`: preview a rule file (count and sample) and list its members."""

from __future__ import annotations

import json
import re
from pathlib import Path

import typer
from rich.table import Table

from siyu.core.console_out import console, emit_json, fail
from siyu.core.errors import InvalidInput, SiyuError
from siyu.segments import service
from siyu.segments.rules import Resolve

app = typer.Typer(
    help="Segments (人群包): preview a rule and list its members.", no_args_is_help=True
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
    try:
        result = service.preview(
            _read(rules),
            as_of=service.parse_as_of(as_of),
            resolve=folder_resolver(segments or rules.parent),
            key=rules.stem,
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
    try:
        found = service.members(
            _read(rules),
            as_of=service.parse_as_of(as_of),
            resolve=folder_resolver(segments or rules.parent),
            key=rules.stem,
        )
        for member in found:
            typer.echo(member.label)
    except SiyuError as error:
        fail(error)


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
