"""The `siyu` command: mounts each domain's commands."""

from __future__ import annotations

import logging

import typer

import siyu.models  # noqa: F401 - every domain's tables, known before the first query
from siyu.analytics.cli import app as report_app
from siyu.codes.cli import app as codes_app
from siyu.core.console_out import console
from siyu.customers.cli import app as customers_app
from siyu.demo.cli import demo
from siyu.events.cli import inbox_app, keys_app, lake_app
from siyu.imports.cli import app as import_app
from siyu.segments.cli import app as segment_app
from siyu.settings.cli import app as tokens_app
from siyu.staff.cli import app as staff_app
from siyu.staff.tasks_cli import app as tasks_app
from siyu.subscribers import wire as wire_subscribers
from siyu.touchpoints.cli import app as touchpoints_app
from siyu.users.cli import app as users_app
from siyu.wechat.cli import app as wechat_app
from siyu.wecom.cli import app as wecom_app

app = typer.Typer(
    help="Siyu (私域): a brand's own customers, tracked, unified and reached.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The OLTP database.", no_args_is_help=True)
app.add_typer(db_app, name="db")
jobs_app = typer.Typer(help="The jobs the workers run, and the schedules that book them.")
app.add_typer(jobs_app, name="jobs")
app.add_typer(keys_app, name="keys")
app.add_typer(tokens_app, name="tokens")
app.add_typer(lake_app, name="lake")
app.add_typer(inbox_app, name="inbox")
app.add_typer(customers_app, name="customers")
app.add_typer(import_app, name="import")
app.add_typer(segment_app, name="segment")
app.add_typer(touchpoints_app, name="touchpoints")
app.add_typer(codes_app, name="codes")
app.add_typer(staff_app, name="staff")
app.add_typer(tasks_app, name="tasks")
app.add_typer(users_app, name="users")
app.add_typer(wecom_app, name="wecom")
app.add_typer(wechat_app, name="wechat")
app.add_typer(report_app, name="report")
app.command("demo")(demo)


@app.callback()
def main() -> None:
    """Siyu (私域): a brand's own customers, tracked, unified and reached."""
    wire_subscribers()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    from siyu.core.db import upgrade
    from siyu.core.settings import get_settings

    upgrade()
    console.print(f"database is up to date: {_safe_url(get_settings().database_url)}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Run the API, tracking API, home page, shipper and a job worker in one process."""
    import uvicorn

    from siyu.app import create_app
    from siyu.core.db import upgrade

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
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

    from siyu.core.console_out import emit_json
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
    import importlib
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
