"""`siyu tasks`: hand a task to the guides who own a segment's customers, and follow it up."""

from __future__ import annotations

from datetime import date

import typer
from rich.table import Table

from siyu.core.audit import acting_as
from siyu.core.console_out import console, emit_json, fail
from siyu.core.db import session_factory, unit_of_work, upgrade
from siyu.core.errors import SiyuError
from siyu.customers.service import find_customer
from siyu.tasks import service as tasks

app = typer.Typer(help="Guide tasks (导购任务) and their execution rate.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON.")


def _percent(rate: float | None) -> str:
    return "" if rate is None else f"{rate:.0%}"


@app.command("create")
def create(
    title: str = typer.Option(..., "--title"),
    segment: str = typer.Option(..., "--segment", help="The key of a saved segment."),
    due: str = typer.Option(..., "--due", help="YYYY-MM-DD, the brand's day it is due by."),
    kind: str = typer.Option("message", "--kind", help="message, follow_up or invite"),
    instructions: str = typer.Option("", "--instructions"),
    message: str | None = typer.Option(None, "--message", help="What to send (message tasks)."),
    json_out: bool = JSON,
) -> None:
    """Assign the task to each guide for the segment's customers they own."""
    upgrade()
    try:
        due_date = date.fromisoformat(due)
    except ValueError:
        raise typer.BadParameter("the due date is YYYY-MM-DD", param_hint="--due") from None
    try:
        with acting_as("cli"), unit_of_work() as session:
            task = tasks.create_task(
                session,
                title,
                due_date,
                "cli",
                kind=kind,
                segment_key=segment,
                instructions=instructions,
                message=message,
            )
            row = tasks.task_summary(task, tasks.progress(session, task.id).total)
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(row)
    console.print(
        f"task {row['id']}: {row['assigned']} customers assigned to their guides; "
        f"{row['unowned']} without a guide were not assigned"
    )


@app.command("list")
def list_cmd(json_out: bool = JSON) -> None:
    """The newest tasks with their execution rate."""
    upgrade()
    with session_factory()() as session:
        rows = [tasks.task_summary(t, c) for t, c in tasks.list_tasks(session)]
    if json_out:
        return emit_json(rows)
    table = Table("id", "title", "kind", "due", "status", "assigned", "done", "rate", "no guide")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["title"],
            r["kind"],
            str(r["due_date"]),
            r["status"],
            str(r["assigned"]),
            str(r["done"]),
            _percent(r["execution_rate"]),
            str(r["unowned"]),
        )
    console.print(table)


@app.command("show")
def show(task_id: int, json_out: bool = JSON) -> None:
    """A task's progress, per guide (lowest execution rate first)."""
    upgrade()
    try:
        with session_factory()() as session:
            made = tasks.progress(session, task_id)
            row = tasks.task_summary(made.task, made.total) | {
                "guides": [tasks.guide_summary(g) for g in made.guides]
            }
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(row)
    console.print(f"{row['title']} · {row['kind']} · due {row['due_date']} · {row['status']}")
    table = Table("guide", "assigned", "done", "rate")
    for g in row["guides"]:
        table.add_row(g["name"], str(g["assigned"]), str(g["done"]), _percent(g["execution_rate"]))
    console.print(table)


@app.command("done")
def done(
    task_id: int,
    customer: str = typer.Option(..., "--customer", help="A customer id or any identity value."),
    json_out: bool = JSON,
) -> None:
    """Mark a customer of the task done (again: nothing changes)."""
    upgrade()
    try:
        with acting_as("cli"), unit_of_work() as session:
            customer_id = find_customer(session, customer).id
            assignment = tasks.mark_done(session, task_id, customer_id, "cli")
            row = {
                "task_id": task_id,
                "customer_id": customer_id,
                "guide_id": assignment.guide_id,
                "done_at": assignment.done_at.isoformat() if assignment.done_at else None,
                "done_how": assignment.done_how,
            }
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(row)
    console.print(f"task {task_id}: customer {customer_id} done ({row['done_how']})")


@app.command("close")
def close(task_id: int, json_out: bool = JSON) -> None:
    """Close a task; what is still open counts as not executed."""
    upgrade()
    try:
        with acting_as("cli"), unit_of_work() as session:
            closed = tasks.close_task(session, task_id)
            row = {"id": closed.id, "status": closed.status}
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(row)
    console.print(f"task {task_id} closed")
