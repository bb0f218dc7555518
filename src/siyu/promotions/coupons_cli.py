"""`siyu coupons`: write coupon templates, issue coupons to customers or a segment, redeem one
at a till, and see what each template cost and brought in."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from siyu.core.audit import acting_as
from siyu.core.console_out import (
    console,
    emit_json,
    fail,
    option_fen,
    option_time,
    progress_bar,
)
from siyu.core.db import session_factory, unit_of_work, upgrade
from siyu.core.errors import InvalidInput, SiyuError
from siyu.customers import service as customers
from siyu.promotions import coupon_templates as templates
from siyu.promotions import coupons
from siyu.promotions.models import CouponTemplate

app = typer.Typer(
    help="Coupons (券): templates, issuing, redeeming and what they brought in.",
    no_args_is_help=True,
)
JSON = typer.Option(False, "--json", help="Print JSON.")


def _list(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def summary(template: CouponTemplate, stats: templates.TemplateStats) -> dict[str, Any]:
    """What `show --json` prints."""
    return {
        "key": template.key,
        "name": template.name,
        "kind": template.kind,
        "status": template.status,
        "amount": template.amount_fen / 100 if template.amount_fen else None,
        "percent": template.percent or None,
        "cap": template.cap_fen / 100 if template.cap_fen else None,
        "threshold": template.threshold_fen / 100 if template.threshold_fen else None,
        "free_item": template.free_item,
        "valid_from": template.valid_from.isoformat() if template.valid_from else None,
        "valid_until": template.valid_until.isoformat() if template.valid_until else None,
        "valid_days": template.valid_days,
        "stock": template.stock,
        "per_customer": template.per_customer,
        "issued": stats.issued,
        "redeemed": stats.redeemed,
        "expired": stats.expired,
        "redemption_rate": stats.redemption_rate,
        "cost": stats.discount_fen / 100,
        "redeemed_order_amount": stats.order_fen / 100,
    }


@app.command("create")
def create(
    key: str = typer.Option(..., "--key", help="Lowercase letters, digits, '-' or '_'."),
    name: str = typer.Option(..., "--name"),
    kind: str = typer.Option(
        "amount", "--kind", help="amount, percent, threshold (满减) or free_item."
    ),
    amount: str | None = typer.Option(None, "--amount", help="Yuan off (amount, threshold)."),
    percent: int = typer.Option(0, "--percent", help="Percent off (percent)."),
    cap: str | None = typer.Option(None, "--cap", help="A percent coupon's most, in yuan."),
    threshold: str | None = typer.Option(None, "--threshold", help="The least order, in yuan."),
    free_item: str | None = typer.Option(None, "--free-item", help="The free item's SKU."),
    valid_days: int | None = typer.Option(None, "--valid-days", help="Days from issue."),
    valid_from: str | None = typer.Option(None, "--valid-from", help="ISO 8601 time."),
    valid_until: str | None = typer.Option(None, "--valid-until", help="ISO 8601 time."),
    stock: int | None = typer.Option(None, "--stock", help="How many may be issued (no limit)."),
    per_customer: int = typer.Option(1, "--per-customer"),
    stores: str | None = typer.Option(None, "--stores", help="Store codes, comma-separated."),
    products: str | None = typer.Option(None, "--products", help="SKUs, comma-separated."),
    categories: str | None = typer.Option(None, "--categories", help="Comma-separated."),
    stacks: bool = typer.Option(False, "--stacks", help="Stacks with other coupons."),
    no_return: bool = typer.Option(False, "--no-return", help="A refund does not return it."),
    claimable: bool = typer.Option(False, "--claimable", help="Customers may claim it."),
    json_out: bool = JSON,
) -> None:
    """Write a coupon template."""
    upgrade()
    try:
        with acting_as("cli"), unit_of_work() as session:
            template = templates.create_template(
                session,
                key,
                name,
                kind,
                amount_fen=option_fen(amount, "--amount") or 0,
                percent=percent,
                cap_fen=option_fen(cap, "--cap"),
                threshold_fen=option_fen(threshold, "--threshold") or 0,
                free_item=free_item,
                valid_from=option_time(valid_from, "--valid-from"),
                valid_until=option_time(valid_until, "--valid-until"),
                valid_days=valid_days,
                stock=stock,
                per_customer=per_customer,
                stores=_list(stores),
                products=_list(products),
                categories=_list(categories),
                stacks=stacks,
                returnable=not no_return,
                claimable=claimable,
                actor="cli",
            )
            shown = summary(template, templates.stats(session, [template.id])[template.id])
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(shown)
    console.print(f"coupon template [bold]{escape(key)}[/bold] created")


@app.command("list")
def list_templates(json_out: bool = JSON) -> None:
    """Every template with its issued, redeemed and cost."""
    upgrade()
    with session_factory()() as session:
        found = templates.list_templates(session)
        stats = templates.stats(session, [t.id for t in found])
        rows = [summary(t, stats[t.id]) for t in found]
    if json_out:
        return emit_json(rows)
    table = Table("key", "name", "kind", "status", "issued", "redeemed", "rate", "cost ¥")
    for row in rows:
        rate = row["redemption_rate"]
        table.add_row(
            row["key"],
            escape(row["name"]),
            row["kind"],
            row["status"],
            str(row["issued"]),
            str(row["redeemed"]),
            f"{rate:.1%}" if rate is not None else "—",
            f"{row['cost']:,.2f}",
        )
    console.print(table)


@app.command("show")
def show(key: str = typer.Argument(...), json_out: bool = JSON) -> None:
    """A template, its coupons' counts, what they cost and the orders that redeemed them."""
    upgrade()
    try:
        with session_factory()() as session:
            template = templates.find_template(session, key)
            shown = summary(template, templates.stats(session, [template.id])[template.id])
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(shown)
    for name, value in shown.items():
        console.print(f"{name}: {escape(str(value))}")


def _set(key: str, status: str, json_out: bool) -> None:
    upgrade()
    try:
        with acting_as("cli"), unit_of_work() as session:
            template = templates.set_status(session, key, status)
            shown = summary(template, templates.stats(session, [template.id])[template.id])
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(shown)
    console.print(f"{key}: {status}")


@app.command("pause")
def pause(key: str = typer.Argument(...), json_out: bool = JSON) -> None:
    """No new coupons; the issued ones still redeem."""
    _set(key, "paused", json_out)


@app.command("resume")
def resume(key: str = typer.Argument(...), json_out: bool = JSON) -> None:
    """Issue again."""
    _set(key, "active", json_out)


@app.command("end")
def end(key: str = typer.Argument(...), json_out: bool = JSON) -> None:
    """No new coupons, and the issued ones no longer redeem."""
    _set(key, "ended", json_out)


@app.command("issue")
def issue(
    key: str = typer.Argument(..., help="The template's key."),
    customer: list[str] = typer.Option(
        [], "--customer", help="A customer id or identity (phone); repeat it."
    ),
    segment: str | None = typer.Option(None, "--segment", help="Every member of a segment."),
    list_file: Path | None = typer.Option(
        None, "--list", help="A CSV whose first column is a customer id or phone.", exists=True
    ),
    json_out: bool = JSON,
) -> None:
    """Issue one coupon to each customer, within the stock and each one's limit. Large
    audiences go in chunks, each committed: run again after a failure and the per-customer
    limit keeps anyone from getting a second."""
    upgrade()
    chosen = [bool(customer), segment is not None, list_file is not None]
    try:
        if sum(chosen) != 1:
            raise InvalidInput(
                "give --customer, --segment or --list (one of them)", field="customer"
            )
        with session_factory()() as session:
            refs = [] if segment is not None else customer or _list_file(list_file)
            ids, named_no_one = coupons.audience(session, segment, refs)
            via, unknown = ("segment" if segment is not None else "list"), len(set(named_no_one))
        done, skipped = 0, Counter[str]()
        with acting_as("cli"), progress_bar() as bar:
            task = bar.add_task(f"issue {key}", total=len(ids))
            for start in range(0, len(ids), coupons.CHUNK):
                with unit_of_work() as session:
                    chunk = ids[start : start + coupons.CHUNK]
                    result = coupons.issue(session, key, chunk, via, segment)
                done += len(result.coupons)
                skipped.update(result.skipped)
                bar.update(task, advance=len(chunk))
    except SiyuError as error:
        fail(error)
    answer = {"issued": done, "skipped": dict(+skipped), "unknown": unknown}
    if json_out:
        return emit_json(answer)
    console.print(f"{key}: {done} issued; skipped {dict(+skipped) or 0}; {unknown} not found")


def _list_file(path: Path | None) -> list[str]:
    return customers.read_list(path.read_bytes()) if path else []


@app.command("redeem")
def redeem(
    code: str = typer.Argument(...),
    order: str = typer.Option(..., "--order", help="The order's id."),
    amount: str = typer.Option(..., "--amount", help="The order's amount, in yuan."),
    store: str | None = typer.Option(None, "--store"),
    json_out: bool = JSON,
) -> None:
    """Use a coupon on an order (a till without the API); again with the same order: no change."""
    upgrade()
    try:
        with acting_as("cli"), unit_of_work() as session:
            done = coupons.redeem(
                session, code, order, option_fen(amount, "--amount") or 0, store=store
            )
            answer = {
                "code": done.coupon.code,
                "order_id": done.coupon.order_id,
                "discount": done.coupon.discount_fen / 100,
                "again": done.replayed,
            }
    except SiyuError as error:
        fail(error)
    if json_out:
        return emit_json(answer)
    console.print(f"{answer['code']}: ¥{answer['discount']:.2f} off order {escape(order)}")


@app.command("expire")
def expire(json_out: bool = JSON) -> None:
    """Expire coupons past their end and remind of those ending soon, now (the worker does it
    every quarter hour)."""
    upgrade()
    with acting_as("cli"), unit_of_work() as session:
        answer = {"expired": coupons.expire_due(session), "reminded": coupons.remind_due(session)}
    if json_out:
        return emit_json(answer)
    console.print(f"{answer['expired']} expired, {answer['reminded']} reminded")
