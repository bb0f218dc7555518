"""`siyu report NAME … --json`: each report from the lake, on SIYU_ENGINE."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel, ValidationError
from rich.markup import escape

from siyu.analytics import runner
from siyu.core.console_out import console, emit_json, fail
from siyu.core.db import unit_of_work
from siyu.core.errors import InvalidInput, SiyuError
from siyu.core.settings import get_settings
from siyu.segments import service as segments

app = typer.Typer(help="Reports (数据分析) from the event lake.", no_args_is_help=True)

START = typer.Option(None, "--start", help="First day (brand's zone); default 29 days before end.")
END = typer.Option(None, "--end", help="Last day (brand's zone); default today.")
TOUCHPOINT = typer.Option(None, "--touchpoint", help="Acquisition touchpoint code (repeatable).")
TOUCHPOINT_TYPE = typer.Option(None, "--touchpoint-type", help="Touchpoint type (repeatable).")
STORE = typer.Option(None, "--store", help="Store id (repeatable).")
GUIDE = typer.Option(None, "--guide", help="Guide's staff id (repeatable).")
SEGMENT = typer.Option(
    None,
    "--segment",
    help="Only this saved segment's members (its key), or a rule file's (RULES.json).",
)
JSON = typer.Option(False, "--json", help="Print JSON.")


def period_of(start: str | None, end: str | None) -> dict:
    last = _day(end, "end") if end else datetime.now(get_settings().zone).date()
    first = _day(start, "start") if start else last - timedelta(days=29)
    return {"start": first, "end": last}


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{field} must be a date like 2026-11-22", field=field) from None


def filters(touchpoint, touchpoint_type, store, guide, segment: str | None) -> dict:
    found: dict[str, Any] = {
        "touchpoint": touchpoint or (),
        "touchpoint_type": touchpoint_type or (),
        "store": store or (),
        "guide": guide or (),
    }
    if segment:
        found.update(_or_fail(segment_filter, segment))
    return found


def segment_filter(segment: str) -> dict:
    """A saved segment's filter by its key (its rule, the brand's lifecycle days); a value a key
    cannot be (it has a . or a /) is a file holding a rule."""
    if not segments.KEY.fullmatch(segment):
        return {"segment": json.loads(Path(segment).read_text(encoding="utf-8"))}
    with unit_of_work() as session:
        return segments.report_filter(session, segment)


def show(module, query: dict, json_out: bool) -> BaseModel:
    """Run the report; print JSON, or a short summary for people."""
    try:
        parsed = module.Query.model_validate(query)
        done = runner.run(module, parsed)
    except ValidationError as error:
        first = error.errors()[0]
        fail(InvalidInput(first["msg"], field=".".join(str(p) for p in first["loc"])))
    except SiyuError as error:
        fail(error)
    if json_out:
        emit_json(done.result.model_dump(mode="json"))
    else:
        from siyu.analytics.present import notes_of, table_of

        headers, rows = table_of(module, done.result, "en")
        from rich.table import Table

        # As many columns as the terminal holds (about 11 characters each, 8 at least);
        # --json and the CSV have every column.
        width = max(8, console.width // 11)
        shown = Table(*headers[:width])
        for row in rows[:50]:
            shown.add_row(*(_readable(cell) for cell in row[:width]))
        console.print(shown)
        hidden = headers[width:]
        if hidden:
            console.print(f"[dim]not shown at this width: {', '.join(hidden)} (see --json)[/dim]")
        for note in notes_of(module, done.result, "en"):
            console.print(f"[yellow]{escape(note)}[/yellow]")
        console.print(f"[dim]{done.engine}, {done.seconds:.2f} s[/dim]")
    return done.result


def _readable(cell: Any) -> str:
    """A cell as the console's table shows it (a rate as a percent, a credited count whole)."""
    return str(cell.shown()) if hasattr(cell, "shown") else str(cell)


@app.command()
def gmv(
    start: str | None = START,
    end: str | None = END,
    breakdown: str | None = typer.Option(None, help="touchpoint, touchpoint_type, store or guide"),
    touchpoint: list[str] | None = TOUCHPOINT,
    touchpoint_type: list[str] | None = TOUCHPOINT_TYPE,
    store: list[int] | None = STORE,
    guide: list[int] | None = GUIDE,
    segment: str | None = SEGMENT,
    json_out: bool = JSON,
) -> None:
    """GMV = visitors × conversion × order value × frequency, against the previous period."""
    from siyu.analytics import gmv as report

    query = {
        "period": _or_fail(period_of, start, end),
        "breakdown": breakdown,
        "filters": filters(touchpoint, touchpoint_type, store, guide, segment),
    }
    show(report, query, json_out)


def _or_fail(build, *args):
    try:
        return build(*args)
    except SiyuError as error:
        fail(error)


@app.command()
def retention(
    start: str | None = START,
    end: str | None = END,
    unit: str = typer.Option("week", help="day, week or month (in SIYU_TIMEZONE)"),
    mode: str = typer.Option("first_time", help="first_time or recurring"),
    cohort_by: str = typer.Option("first_order", help="first_order or touchpoint"),
    periods: int = typer.Option(8, help="Periods after the cohort's own."),
    touchpoint: list[str] | None = TOUCHPOINT,
    touchpoint_type: list[str] | None = TOUCHPOINT_TYPE,
    store: list[int] | None = STORE,
    guide: list[int] | None = GUIDE,
    segment: str | None = SEGMENT,
    json_out: bool = JSON,
) -> None:
    """Cohorts of buyers and how many bought again k periods later."""
    from siyu.analytics import retention as report

    query = {
        "period": _or_fail(period_of, start, end),
        "unit": unit,
        "mode": mode,
        "cohort_by": cohort_by,
        "periods": periods,
        "filters": filters(touchpoint, touchpoint_type, store, guide, segment),
    }
    show(report, query, json_out)


@app.command()
def rfm(
    as_of: str | None = typer.Option(None, "--as-of", help="Score at the end of this day."),
    compare_to: str | None = typer.Option(None, "--compare-to", help="An earlier day: moves."),
    touchpoint: list[str] | None = TOUCHPOINT,
    touchpoint_type: list[str] | None = TOUCHPOINT_TYPE,
    store: list[int] | None = STORE,
    guide: list[int] | None = GUIDE,
    segment: str | None = SEGMENT,
    json_out: bool = JSON,
) -> None:
    """RFM scores, the eight layers, and moves between layers since --compare-to."""
    from siyu.analytics import rfm as report

    query = {
        "as_of": _or_fail(period_of, None, as_of)["end"],
        "compare_to": compare_to,
        "filters": filters(touchpoint, touchpoint_type, store, guide, segment),
    }
    show(report, query, json_out)


@app.command()
def attribution(
    start: str | None = START,
    end: str | None = END,
    model: str = typer.Option(
        "last_touch", help="first_touch, last_touch, linear, time_decay, position or markov"
    ),
    lookback_days: int = typer.Option(30, "--lookback-days", help="Touches this long before."),
    half_life_days: float = typer.Option(7.0, "--half-life-days", help="For time_decay."),
    touchpoint: list[str] | None = TOUCHPOINT,
    touchpoint_type: list[str] | None = TOUCHPOINT_TYPE,
    store: list[int] | None = STORE,
    guide: list[int] | None = GUIDE,
    segment: str | None = SEGMENT,
    json_out: bool = JSON,
) -> None:
    """Conversions and revenue (yuan; revenue_fen in fen) by touchpoint and entry type, ROI."""
    from siyu.analytics import attribution as report

    query = {
        "period": _or_fail(period_of, start, end),
        "model": model,
        "lookback_days": lookback_days,
        "half_life_days": half_life_days,
        "filters": filters(touchpoint, touchpoint_type, store, guide, segment),
    }
    show(report, query, json_out)


@app.command()
def funnels(
    start: str | None = START,
    end: str | None = END,
    step: list[str] | None = typer.Option(
        None, "--step", help="An event, or events with | between (repeat, in order)."
    ),
    template: str | None = typer.Option(
        None, help="aarrr or rarra instead of --step (default: aarrr, as the console)"
    ),
    order: str = typer.Option("ordered", help="ordered or any"),
    window_hours: int = typer.Option(168, "--window-hours", help="Conversion window."),
    exclude: list[str] | None = typer.Option(None, "--exclude", help="Exclusion event."),
    breakdown: str | None = typer.Option(None, help="touchpoint or touchpoint_type"),
    touchpoint: list[str] | None = TOUCHPOINT,
    touchpoint_type: list[str] | None = TOUCHPOINT_TYPE,
    store: list[int] | None = STORE,
    guide: list[int] | None = GUIDE,
    segment: str | None = SEGMENT,
    json_out: bool = JSON,
) -> None:
    """Customers through ordered steps within a window, and time to convert."""
    from siyu.analytics import funnels as report

    query = {
        "period": _or_fail(period_of, start, end),
        "steps": [{"events": [e.strip() for e in s.split("|")]} for s in step or ()],
        "template": template or (None if step else "aarrr"),
        "order": order,
        "window_hours": window_hours,
        "exclusions": exclude or (),
        "breakdown": breakdown,
        "filters": filters(touchpoint, touchpoint_type, store, guide, segment),
    }
    show(report, query, json_out)


@app.command()
def ltv(
    calibration_end: str | None = typer.Option(
        None,
        "--calibration-end",
        help="Fit on orders to here (default, as the console: 30 days ago, so the last 30 days "
        "test the prediction).",
    ),
    holdout_end: str | None = typer.Option(
        None, "--holdout-end", help="Compare predicted with actual purchases up to here."
    ),
    period: str = typer.Option("week", "--period", help="day, week or month"),
    horizon: int = typer.Option(52, help="Periods ahead to predict."),
    touchpoint: list[str] | None = TOUCHPOINT,
    touchpoint_type: list[str] | None = TOUCHPOINT_TYPE,
    store: list[int] | None = STORE,
    guide: list[int] | None = GUIDE,
    segment: str | None = SEGMENT,
    json_out: bool = JSON,
) -> None:
    """BG/NBD and Gamma-Gamma parameters, predicted value, and predicted vs actual."""
    from siyu.analytics import ltv as report

    last_days = _or_fail(period_of, None, None)
    shown = {"calibration_end": calibration_end or "", "holdout_end": holdout_end or ""}
    query = {
        **report.form_query(shown, last_days["start"], last_days["end"]),
        "period": period,
        "horizon": horizon,
        "filters": filters(touchpoint, touchpoint_type, store, guide, segment),
    }
    show(report, query, json_out)


@app.command()
def guides(
    start: str | None = START,
    end: str | None = END,
    touchpoint: list[str] | None = TOUCHPOINT,
    touchpoint_type: list[str] | None = TOUCHPOINT_TYPE,
    store: list[int] | None = STORE,
    guide: list[int] | None = GUIDE,
    segment: str | None = SEGMENT,
    json_out: bool = JSON,
) -> None:
    """Each guide's customers: owned, new, lost, messages, tasks and their execution rate,
    orders and GMV."""
    from siyu.analytics import guides as report

    query = {
        "period": _or_fail(period_of, start, end),
        "filters": filters(touchpoint, touchpoint_type, store, guide, segment),
    }
    show(report, query, json_out)


@app.command()
def goods(
    start: str | None = START,
    end: str | None = END,
    level: str = typer.Option("product", help="product or category"),
    touchpoint: list[str] | None = TOUCHPOINT,
    touchpoint_type: list[str] | None = TOUCHPOINT_TYPE,
    store: list[int] | None = STORE,
    guide: list[int] | None = GUIDE,
    segment: str | None = SEGMENT,
    json_out: bool = JSON,
) -> None:
    """Purchase frequency × average order value per product or category, in four quadrants."""
    from siyu.analytics import goods as report

    query = {
        "period": _or_fail(period_of, start, end),
        "level": level,
        "filters": filters(touchpoint, touchpoint_type, store, guide, segment),
    }
    show(report, query, json_out)
