"""`siyu codes`: create channel codes one by one or in one-item-one-code batches; list, show."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from siyu.codes import batch as batches
from siyu.codes import service
from siyu.codes.models import KINDS, TARGET_KINDS, ChannelCode
from siyu.codes.qr import PRINT_PX, qr_png, qr_svg
from siyu.core.audit import acting_as
from siyu.core.console_out import brand_time, console, emit_json, errors, fail, progress_bar
from siyu.core.db import session_factory, unit_of_work, upgrade
from siyu.core.errors import NotFound, SiyuError
from siyu.core.settings import get_settings
from siyu.staff.routing import Route
from siyu.touchpoints.models import Touchpoint

app = typer.Typer(
    help="Channel codes (渠道活码): QR codes that attribute every scan.", no_args_is_help=True
)
LOCAL = "http://127.0.0.1:8000"
PLATFORMS = {"wecom_contact_way": "WeCom", "official_account_qr": "The official account"}


def _base(base_url: str | None) -> str:
    return base_url.rstrip("/") if base_url else get_settings().public_base(LOCAL)


BASE_URL = typer.Option(
    None,
    "--base-url",
    callback=_base,  # each command gets the address, given or not
    help="Where phones reach Siyu (the landing). Default: SIYU_PUBLIC_URL, else " + LOCAL + ".",
)


def code_dict(session, channel: ChannelCode, base_url: str) -> dict:
    touchpoint = session.get(Touchpoint, channel.touchpoint_id)
    return {
        "code": channel.code,
        "name": channel.name,
        "kind": channel.kind,
        "touchpoint": touchpoint.code if touchpoint else None,
        "store_id": channel.store_id,
        "staff_id": channel.staff_id,
        "target_kind": channel.target_kind,
        "target": channel.target,
        "tag_names": channel.tag_names,
        "welcome_message": channel.welcome_message,
        "url": service.landing_url(base_url, channel.code),
        "routes": [
            {
                "staff_id": r.staff_id,
                "weight": r.weight,
                "weekdays": r.weekdays,
                "start_time": r.start_time,
                "end_time": r.end_time,
                "daily_limit": r.daily_limit,
                "is_backup": r.is_backup,
            }
            for r in service.routes_of(session, channel.id)
        ],
        "created_at": channel.created_at.isoformat(),
    }


@app.command("create")
def create(
    name: str = typer.Option(..., "--name"),
    code: str | None = typer.Option(None, "--code", help="Default: a random code."),
    kind: str = typer.Option("other", "--kind", help=", ".join(KINDS)),
    touchpoint: str | None = typer.Option(None, "--touchpoint", help="A touchpoint code."),
    store_id: int | None = typer.Option(None, "--store-id"),
    staff_id: int | None = typer.Option(None, "--staff-id", help="The guide the code belongs to."),
    target_kind: str = typer.Option("url", "--target-kind", help=", ".join(TARGET_KINDS)),
    target: str = typer.Option("", "--target", help="URL or mini-program path."),
    tags: list[str] = typer.Option([], "--tag", help="A tag for customers it brings (repeat)."),
    welcome: str | None = typer.Option(None, "--welcome", help="Welcome message."),
    guides: list[str] = typer.Option(
        [], "--guide", help="Route to STAFF_ID[:WEIGHT[:LIMIT]] (repeat); '!' before = backup."
    ),
    base_url: str = BASE_URL,
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Create a channel code (one per touchpoint, store, guide, poster or product)."""
    upgrade()
    try:
        routes = [_route(spec) for spec in guides]
        with acting_as("cli"), unit_of_work() as session:
            channel = service.create_code(
                session,
                name,
                code=code,
                kind=kind,
                touchpoint=touchpoint,
                store_id=store_id,
                staff_id=staff_id,
                target_kind=target_kind,
                target=target,
                tag_names=tags,
                welcome_message=welcome,
                routes=routes,
            )
            shown = code_dict(session, channel, base_url)
    except SiyuError as error:
        fail(error)
    missing = service.missing_settings(target_kind)
    if json_out:
        return emit_json(shown | {"missing_settings": missing})
    console.print(f"code {shown['code']} created: {shown['url']}")
    if missing:
        errors.print(
            f"[yellow]warning:[/yellow] {PLATFORMS[target_kind]} is not connected: set "
            f"{', '.join(missing)} and restart Siyu. Until then a scan goes to --target, or to a "
            "page with the guide's QR code, the store and the brand's page, and new contacts "
            "are not counted under this code.",
            soft_wrap=True,
        )


def _route(spec: str) -> Route:
    is_backup = spec.startswith("!")
    parts = spec.lstrip("!").split(":")
    try:
        numbers = [int(p) if p else None for p in parts]
    except ValueError:
        raise typer.BadParameter(f"--guide {spec}: STAFF_ID[:WEIGHT[:LIMIT]]") from None
    staff_id, weight, limit = (numbers + [None, None])[:3]
    if staff_id is None:
        raise typer.BadParameter(f"--guide {spec}: STAFF_ID[:WEIGHT[:LIMIT]]")
    return Route(staff_id, weight or 1, daily_limit=limit, is_backup=is_backup)


@app.command("batch")
def batch(
    name: str = typer.Option(..., "--name", help="What the codes are printed on."),
    prefix: str = typer.Option(..., "--prefix", help="Starts every code, e.g. TEA2611."),
    count: int = typer.Option(..., "--count", help="How many codes (up to 100,000)."),
    touchpoint: str | None = typer.Option(None, "--touchpoint", help="Default: the prefix."),
    target_kind: str = typer.Option("url", "--target-kind", help=", ".join(TARGET_KINDS)),
    target: str = typer.Option("", "--target"),
    out: Path | None = typer.Option(None, "--out", help="Copy the ZIP here."),
    base_url: str = BASE_URL,
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """One-item-one-code (一物一码): COUNT codes into a ZIP of PNG and SVG images plus a CSV."""
    upgrade()
    try:
        with acting_as("cli"), unit_of_work() as session:
            made = batches.create_batch(
                session,
                name,
                prefix,
                count,
                touchpoint=touchpoint,
                target_kind=target_kind,
                target=target,
            )
            batch_id = made.id
    except SiyuError as error:
        fail(error)
    if json_out:  # machines read stdout: no bar there
        path = batches.write_archive(batch_id, base_url)
    else:
        with progress_bar() as bar:
            task = bar.add_task("QR images", total=count)
            path = batches.write_archive(
                batch_id, base_url, lambda done, _: bar.update(task, completed=done)
            )
    if out is not None:
        out.write_bytes(path.read_bytes())
        path = out
    if json_out:
        return emit_json({"batch_id": batch_id, "count": count, "archive": str(path)})
    console.print(f"{count:,} codes in {path}")


@app.command("list")
def list_cmd(
    kind: str | None = typer.Option(None, "--kind"),
    base_url: str = BASE_URL,
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Channel codes made one by one, newest first (batches: see the console)."""
    upgrade()
    with session_factory()() as session:
        rows = [code_dict(session, c, base_url) for c in service.list_codes(session, kind)]
    if json_out:
        return emit_json(rows)
    table = Table("code", "name", "kind", "touchpoint", "target", "guides")
    for row in rows:
        table.add_row(
            row["code"],
            row["name"],
            row["kind"],
            row["touchpoint"] or "",
            row["target_kind"],
            str(len(row["routes"])),
        )
    console.print(table)


@app.command("show")
def show(
    code: str,
    png: Path | None = typer.Option(None, "--png", help="Write the QR image here."),
    size: int = typer.Option(
        PRINT_PX, "--size", min=100, max=10_000, help="The PNG's least width in pixels."
    ),
    svg: Path | None = typer.Option(None, "--svg", help="Write the QR as SVG here."),
    base_url: str = BASE_URL,
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """One code: its target, tags, routing and landing URL; optionally its QR image."""
    upgrade()
    with session_factory()() as session:
        channel = service.find_code(session, code)
        if channel is None:
            fail(NotFound(f"no code {code!r}", field="code"))
        shown = code_dict(session, channel, base_url)
    if png:
        png.write_bytes(qr_png(shown["url"], size))
    if svg:
        svg.write_bytes(qr_svg(shown["url"]))
    if json_out:
        return emit_json(shown)
    for key, value in shown.items():
        if key.endswith("_at") and value:  # a time, as people read it: in the brand's zone
            key, value = f"{key} (brand)", brand_time(value)
        console.print(f"[bold]{key}[/bold]: {value}")
