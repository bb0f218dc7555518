"""The `siyu` command: lists each domain's commands, and imports a domain only to run them."""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable
from typing import Any

import typer
from typer import _click  # Typer's own copy of Click: the classes its commands are built from
from typer.core import TyperCommand, TyperGroup

# Each domain's commands: name -> (module, attribute, the line `siyu --help` shows). A domain's
# module is imported only when its commands run or show their own help, so `siyu --help` and a
# light command never load the analytics stack (ibis, duckdb, pandas, pyarrow) or the platform
# clients. tests/test_cli.py checks each line against the domain's own help.
DOMAINS: dict[str, tuple[str, str, str]] = {
    "keys": ("siyu.events.cli", "keys_app", "Write keys for the tracking API."),
    "tokens": ("siyu.settings.cli", "app", "Management API tokens (bearer tokens for /api)."),
    "lake": ("siyu.events.cli", "lake_app", "The event lake."),
    "inbox": (
        "siyu.events.cli",
        "inbox_app",
        "The tracking inbox: events the processor could not apply.",
    ),
    "customers": ("siyu.profiles.cli", "app", "Customers: the 360 view and merges."),
    "import": (
        "siyu.imports.cli",
        "app",
        "Import customers, orders or events from CSV, XLSX or JSONL.",
    ),
    "segment": (
        "siyu.segments.cli",
        "app",
        "Segments (人群包): preview a rule, list its members, store and refresh segments.",
    ),
    "touchpoints": (
        "siyu.touchpoints.cli",
        "app",
        "Touchpoints (触点): where customers meet the brand.",
    ),
    "codes": (
        "siyu.codes.cli",
        "app",
        "Channel codes (渠道活码): QR codes that attribute every scan.",
    ),
    "staff": (
        "siyu.staff.cli",
        "app",
        "Guides, stores and teams; handovers (离职继承 / 在职转接).",
    ),
    "stores": ("siyu.staff.cli", "stores_app", "Stores (门店): open, list and change stores."),
    "tasks": ("siyu.tasks.cli", "app", "Guide tasks (导购任务) and their execution rate."),
    "broadcasts": (
        "siyu.broadcasts.cli",
        "app",
        "Broadcasts (群发): preview who gets a message, send it, follow it.",
    ),
    "journeys": ("siyu.journeys.cli", "app", "Journeys and SOPs (旅程 / SOP)."),
    "users": ("siyu.users.cli", "app", "Console users."),
    "wecom": (
        "siyu.wecom.cli",
        "app",
        "WeCom (企业微信): customers, contact ways, transfers, tags.",
    ),
    "wechat": ("siyu.wechat.cli", "app", "The official account (公众号)."),
    "consent": (
        "siyu.messaging.cli",
        "app",
        "Consent (营销同意) per customer and channel: import, set, show.",
    ),
    "calls": (
        "siyu.messaging.calls_cli",
        "app",
        "Outbound-call lists (外呼): export one for a call centre, import its outcomes.",
    ),
    "coupons": (
        "siyu.promotions.coupons_cli",
        "app",
        "Coupons (券): templates, issuing, redeeming and what they brought in.",
    ),
    "flash-sales": (
        "siyu.promotions.flash_cli",
        "app",
        "Flash sales (限时限量): so many units at a price, so many each, for a while.",
    ),
    "group-buys": (
        "siyu.promotions.group_buys_cli",
        "app",
        "Group buys (拼团): groups that succeed at N members before a deadline, or are refunded.",
    ),
    "tiered": (
        "siyu.promotions.tiered_cli",
        "app",
        "Tiered prices (阶梯价): the price steps down as participants grow; the difference is "
        "refunded.",
    ),
    "members": (
        "siyu.promotions.members_cli",
        "app",
        "Member tiers and points (会员体系): tiers by spend or orders, points per yuan.",
    ),
    "refunds": (
        "siyu.promotions.group_buys_cli",
        "refunds_app",
        "Refunds the mall makes for group buys and tiered prices, until it confirms them.",
    ),
    "report": ("siyu.analytics.cli", "app", "Reports (数据分析) from the event lake."),
    "demo": (
        "siyu.demo.cli",
        "demo",
        "Build the demo brand through the product's own services (tracking, orders, lake).",
    ),
}


class RootGroup(TyperGroup):
    """Lists the domains' commands by name and help line; loads a domain when one of its commands
    is resolved, and has every command load the schema and wire the subscribers before it runs."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        listed = {name: TyperCommand(name, help=line) for name, (_, _, line) in DOMAINS.items()}
        self.commands = {**listed, **self.commands}

    def resolve_command(
        self, ctx: _click.Context, args: list[str]
    ) -> tuple[str | None, _click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if name in DOMAINS:
            command = load_domain(name)
        return name, command if command is None else _wired(command), rest


def load_domain(name: str) -> _click.Command:
    """Import a domain's commands and build them as Click commands."""
    module, attribute, _ = DOMAINS[name]
    target = getattr(importlib.import_module(module), attribute)
    holder = typer.Typer()
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name)
    else:
        holder.command(name)(target)
    return typer.main.get_group(holder).commands[name]


def _wired(command: _click.Command) -> _click.Command:
    """Make each command under `command` wire the process before it runs. Wiring waits for a
    command's own callback, so `--help` at any depth (which exits while parsing) loads nothing."""
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            _wired(sub)
    elif command.callback is not None:
        command.callback = _wiring_first(command.callback)
    return command


def _wiring_first(callback: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        import siyu.models  # noqa: F401 - every domain's tables, known before the first query
        from siyu.subscribers import wire

        wire()
        return callback(*args, **kwargs)

    return run


app = typer.Typer(
    cls=RootGroup,
    help="Siyu (私域): a brand's own customers, tracked, unified and reached.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The OLTP database.", no_args_is_help=True)
app.add_typer(db_app, name="db")
jobs_app = typer.Typer(help="The jobs the workers run, and the schedules that book them.")
app.add_typer(jobs_app, name="jobs")


@db_app.command("upgrade")
def db_upgrade(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Apply every pending migration."""
    from siyu.core.console_out import console, emit_json
    from siyu.core.db import script_heads, upgrade
    from siyu.core.settings import get_settings

    upgrade()
    database = _safe_url(get_settings().database_url)
    if json_out:
        return emit_json({"database": database, "revisions": sorted(script_heads() or [])})
    console.print(f"database is up to date: {database}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    access_log: bool = typer.Option(True, help="Print a line per request, with its request id."),
) -> None:
    """Run the API, tracking API, home page, shipper and a job worker in one process."""
    import uvicorn

    from siyu.app import create_app
    from siyu.core.console_out import console
    from siyu.core.db import upgrade

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("siyu.access").setLevel(logging.INFO if access_log else logging.WARNING)
    upgrade()
    console.print(f"Siyu is serving on http://{host}:{port}  (API docs: /docs)")
    uvicorn.run(create_app(background=True), host=host, port=port, log_level="warning")


@app.command()
def worker() -> None:
    """Run a job worker (more workers for more throughput)."""
    from siyu.work import worker as make_worker

    logging.basicConfig(level=logging.INFO)
    runner = make_worker()
    runner.start()
    try:
        runner.join()
    except KeyboardInterrupt:
        runner.stop()


@jobs_app.command("schedule")
def jobs_schedule(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The recurring work: each schedule's cron expression (brand time) and its next run."""
    from rich.table import Table

    from siyu.core.console_out import console, emit_json
    from siyu.core.db import session_factory
    from siyu.work import schedule_status

    with session_factory()() as session:
        rows = schedule_status(session)
    if json_out:
        emit_json(rows)
        return
    table = Table("schedule", "cron (brand time)", "next run", "last run")
    for column in table.columns:
        column.no_wrap = True
    for row in rows:
        last = (
            f"{row['last_run'][5:16].replace('T', ' ')} {row['last_status']}"
            if row["last_run"]
            else "-"
        )
        table.add_row(row["name"], row["cron"], row["next_run"][5:16].replace("T", " "), last)
    console.print(table)


@app.command()
def bench(
    what: str = typer.Argument(..., help="ingest"),
    seconds: float = typer.Option(10.0, help="Seconds per measurement."),
    connections: str = typer.Option("8,32", help="Client connections to try."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Run a benchmark from benchmarks/ (needs a source checkout)."""
    import sys
    from pathlib import Path

    root = Path.cwd()
    if not (root / "benchmarks").is_dir():
        raise typer.BadParameter("run from the Siyu checkout (benchmarks/ is not here)")
    sys.path.insert(0, str(root))
    module = importlib.import_module(f"benchmarks.{what}")
    module.main(
        seconds=seconds, connections=[int(c) for c in connections.split(",")], as_json=json_out
    )


if __name__ == "__main__":
    app()
