"""`siyu keys` (write keys), `siyu lake` (the shipper by hand) and `siyu inbox` (dead letters)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import typer
from rich.table import Table

from siyu.core.audit import acting_as
from siyu.core.console_out import brand_time, console, emit_json, fail, progress_bar
from siyu.core.db import session_factory, unit_of_work, upgrade
from siyu.core.errors import InvalidInput, SiyuError
from siyu.core.lake import refresh_snapshots
from siyu.events import dead_letters, inbox, sources

keys_app = typer.Typer(help="Write keys for the tracking API.", no_args_is_help=True)
lake_app = typer.Typer(help="The event lake.", no_args_is_help=True)
inbox_app = typer.Typer(
    help="The tracking inbox: events the processor could not apply.", no_args_is_help=True
)


@keys_app.command("create")
def create(
    name: str = typer.Option(..., "--name", help="The source's name, e.g. mall."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create a source and print its write key (on the last line)."""
    upgrade()
    try:
        with acting_as("cli"), unit_of_work() as session:
            source, key = sources.create_key(session, name)
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json({"name": source.name, "write_key": key})
    console.print(f"source [bold]{source.name}[/bold] created; its write key (shown once):")
    print(key)


@keys_app.command("list")
def list_keys(json_out: bool = typer.Option(False, "--json")) -> None:
    """List sources and their key prefixes."""
    upgrade()
    with session_factory()() as session:
        rows: list[dict[str, Any]] = [
            {
                "name": s.name,
                "key_prefix": s.key_prefix,
                "created_at": s.created_at,
                "revoked_at": s.revoked_at,
            }
            for s in sources.list_sources(session)
        ]
    if json_out:
        return emit_json(rows)
    table = Table("name", "key", "created (brand)", "revoked")
    for row in rows:
        table.add_row(
            row["name"],
            (row["key_prefix"] or "-") + "…",
            brand_time(row["created_at"]),
            brand_time(row["revoked_at"]),
        )
    console.print(table)


@keys_app.command("revoke")
def revoke(
    name: str = typer.Option(..., "--name"),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Revoke a source's write key (requests with it are refused within seconds)."""
    try:
        with acting_as("cli"), unit_of_work() as session:
            source = sources.revoke_key(session, name)
            row = {"name": source.name, "revoked_at": source.revoked_at}
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(row)
    console.print(f"the write key of {name} is revoked")


@lake_app.command("status")
def lake_status(json_out: bool = typer.Option(False, "--json")) -> None:
    """What is waiting in the outbox and what is shipped to the lake."""
    from siyu.events import shipper  # PyArrow: only the lake's commands load the shipper

    upgrade()
    with session_factory()() as session:
        info = shipper.status(session)
    if json_out:
        return emit_json(info)
    table = Table("", "")
    for key, value in info.items():
        table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    console.print(table)
    if info["dead_letters"]:
        _say_dead_letters()


@lake_app.command("flush")
def flush(
    compact: bool = typer.Option(True, help="Compact small files afterwards."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Process every received event and ship every waiting one now, then refresh the snapshots."""
    from siyu.events import shipper

    upgrade()
    with session_factory()() as session:
        received = inbox.waiting(session)["events"]
    with progress_bar() as bar:
        task = bar.add_task("processing", total=received or 1)
        processed = inbox.process_all(progress=lambda n: bar.advance(task, n))
        bar.update(task, completed=received or 1)
    with session_factory()() as session:
        waiting = shipper.counts(session)["waiting"]
    with progress_bar() as bar:
        task = bar.add_task("shipping", total=waiting or 1)
        total = shipper.ship_all(progress=lambda n: bar.advance(task, n))
        bar.update(task, completed=waiting or 1)
    removed = shipper.compact() if compact else 0
    written = refresh_snapshots(always=True) or {}
    if json_out:
        return emit_json(
            {
                "processed": processed,
                "shipped": total,
                "removed_files": removed,
                "snapshots": written,
            }
        )
    console.print(
        f"processed {processed:,} received events; shipped {total:,} events; "
        f"compaction removed {removed} files; snapshots: "
        + ", ".join(f"{k} {v:,}" for k, v in written.items())
    )
    _say_dead_letters()


def _say_dead_letters() -> None:
    with session_factory()() as session:
        kept = dead_letters.count(session)
    if kept:
        console.print(
            f"[yellow]{kept:,} dead letters[/yellow]: events that could not be applied. "
            "See them with `siyu inbox dead-letters`; after a fix, `siyu inbox replay --all`."
        )


@lake_app.command("compact")
def compact_cmd(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Merge small files of each day into one."""
    from siyu.events import shipper

    removed = shipper.compact(min_files=2)
    if json_out:
        return emit_json({"removed_files": removed})
    console.print(f"removed {removed} small files")


@inbox_app.command("dead-letters")
def list_dead_letters(json_out: bool = typer.Option(False, "--json")) -> None:
    """List the events the processor could not apply, with why."""
    upgrade()
    with session_factory()() as session:
        letters = dead_letters.list_dead_letters(session)
    if json_out:
        return emit_json([asdict(letter) for letter in letters])
    if not letters:
        console.print("no dead letters: every accepted event was applied")
        return
    table = Table("id", "source", "messageId", "event", "received (brand)", "failed", "error")
    for letter in letters:
        table.add_row(
            str(letter.id),
            letter.source,
            letter.message_id or "-",
            letter.kind or "(whole request)",
            brand_time(letter.received_at),
            brand_time(letter.failed_at),
            letter.error,
        )
    console.print(table)


@inbox_app.command("replay")
def replay(
    ids: list[int] = typer.Argument(None, help="Dead letter ids (see `siyu inbox dead-letters`)."),
    every: bool = typer.Option(False, "--all", help="Replay every dead letter."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Apply dead letters again, after the cause is fixed; what still fails stays a dead letter."""
    upgrade()
    if bool(ids) == every:
        fail(InvalidInput("give dead letter ids or --all (one of them)", field="ids"))
    if every:
        with session_factory()() as session:
            ids = dead_letters.all_ids(session)
    with progress_bar() as bar:
        task = bar.add_task("replaying", total=len(ids) or 1)
        outcome = dead_letters.replay(ids, progress=lambda: bar.advance(task))
        bar.update(task, completed=len(ids) or 1)
    if json_out:
        emit_json(
            {
                "dead_letters": len(ids),
                "applied": outcome.applied,
                "missing": outcome.missing,
                "failed_again": outcome.failed_again,
            }
        )
    else:
        _say_replayed(len(ids), outcome)
    if outcome.missing or outcome.failed_again:
        raise typer.Exit(1)


def _say_replayed(replayed: int, outcome: dead_letters.Replayed) -> None:
    console.print(f"applied {outcome.applied:,} events from {replayed:,} dead letters")
    if outcome.missing:
        console.print(f"[yellow]no dead letters with ids {_id_list(outcome.missing)}[/yellow]")
    if outcome.failed_again:
        console.print(
            f"[red]{len(outcome.failed_again):,} failed again[/red], kept as dead letters "
            f"{_id_list(outcome.failed_again)}: see `siyu inbox dead-letters`"
        )


def _id_list(ids: list[int]) -> str:
    return ", ".join(str(i) for i in ids)
