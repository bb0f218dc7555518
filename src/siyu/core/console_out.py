"""Shared CLI output: rich for people, --json for machines."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from siyu.core.errors import SiyuError
from siyu.core.money import typed_fen
from siyu.core.settings import get_settings

console = Console()
errors = Console(stderr=True)


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


def brand_time(value: datetime | str | None) -> str:
    """A stored time (UTC, or ISO text) as the console shows it (i18n.local_datetime):
    `2026-03-01 09:30` in SIYU_TIMEZONE, or "" for none."""
    if not value:
        return ""
    from siyu.core.i18n import local_datetime  # babel, for the few commands that print times

    return local_datetime(datetime.fromisoformat(value) if isinstance(value, str) else value, "en")


def fail(error: SiyuError) -> NoReturn:
    where = f" ({error.field})" if error.field else ""
    errors.print(f"[red]error{where}:[/red] {error.message}")
    raise typer.Exit(2)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=errors,
    )


def option_time(value: str | None, option: str) -> datetime | None:
    """An option's ISO 8601 time in UTC; without an offset it is the brand's local time."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            "an ISO 8601 time such as 2026-12-06T22:30:00+08:00", param_hint=option
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=get_settings().zone)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise typer.BadParameter("the time is out of range", param_hint=option) from None


def option_fen(value: str | None, option: str) -> int | None:
    """An option's yuan in fen, read as the console reads a form's (core.money)."""
    if value is None:
        return None
    try:
        return typed_fen(value)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint=option) from None
