"""`siyu wecom`: the full customer re-sync, contact ways for codes, transfers, the enterprise
tag push, status."""

from __future__ import annotations

from dataclasses import asdict

import typer
from wechatpy.exceptions import WeChatClientException

from siyu.core.audit import acting_as
from siyu.core.console_out import console, emit_json, fail, progress_bar
from siyu.core.db import session_factory, unit_of_work, upgrade
from siyu.core.errors import PlatformRefused, SiyuError
from siyu.wecom import service, tag_push
from siyu.wecom.client import get_client
from siyu.wecom.sync import sync_customers

app = typer.Typer(
    help="WeCom (企业微信): customers, contact ways, transfers, tags.", no_args_is_help=True
)


def _run_sync(as_json: bool) -> dict:
    client = get_client()
    with acting_as("cli:wecom"), unit_of_work() as session:
        if as_json:
            run = sync_customers(session, client)
        else:
            with progress_bar() as bar:
                task = bar.add_task("guides", total=None)

                def on_page(run) -> None:
                    bar.update(task, total=len(run.userids), completed=run.user_index)
                    bar.update(task, description=f"guides · {run.customers} customers")

                run = sync_customers(session, client, on_page=on_page)
        return _run_dict(run)


def _run_dict(run) -> dict:
    return {
        "run": run.id,
        "status": run.status,
        "guides": len(run.userids),
        "guides_done": run.user_index,
        "customers": run.customers,
        "calls": run.calls,
        "error": run.error,
    }


@app.command("sync")
def sync(as_json: bool = typer.Option(False, "--json")) -> None:
    """Re-sync every guide's customers from WeCom (resumes a stopped run where it was)."""
    upgrade()
    try:
        result = _run_sync(as_json)
    except SiyuError as error:
        fail(error)
    except WeChatClientException as error:
        fail(PlatformRefused.of("WeCom", error))
    if as_json:
        emit_json(result)
    else:
        console.print(
            f"synced {result['customers']} customers of {result['guides']} guides "
            f"in {result['calls']} calls"
        )


@app.command("contact-way")
def contact_way(code: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Make a WeCom 联系我 QR code whose `state` is this channel code."""
    upgrade()
    try:
        with acting_as("cli:wecom"), unit_of_work() as session:
            way = service.create_contact_way(session, code)
            result = {
                "code": way.code,
                "config_id": way.config_id,
                "qr_code": way.qr_code,
                "userids": way.userids,
            }
    except SiyuError as error:
        fail(error)
    except WeChatClientException as error:
        fail(PlatformRefused.of("WeCom", error))
    if as_json:
        emit_json(result)
    else:
        console.print(f"{code}: {result['qr_code']}")


@app.command("transfers")
def transfers(as_json: bool = typer.Option(False, "--json")) -> None:
    """Send pending handover moves to WeCom, then apply the results WeCom has."""
    upgrade()
    try:
        with acting_as("cli:wecom"), unit_of_work() as session:
            asked = service.push_transfers(session)
            settled = service.poll_transfers(session)
    except SiyuError as error:
        fail(error)
    except WeChatClientException as error:
        fail(PlatformRefused.of("WeCom", error))
    result = {"asked": asked, "settled": settled}
    if as_json:
        emit_json(result)
    else:
        console.print(f"{asked} customers sent to WeCom; {settled} results applied")


@app.command("push-tags")
def push_tags(
    group: str = typer.Option(
        "", "--group", help="WeCom tag group for tags created there (kept; default Siyu)."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Push enterprise tag changes made in Siyu to WeCom, from where the last push stopped."""
    upgrade()
    try:
        client = get_client()
        with acting_as("cli:wecom"), unit_of_work() as session:
            if group:
                tag_push.set_group(session, group)
            pushed = tag_push.push_tags(session, client)
    except SiyuError as error:
        fail(error)
    except WeChatClientException as error:
        fail(PlatformRefused.of("WeCom", error))
    if as_json:
        emit_json(asdict(pushed))
        return
    console.print(
        f"pushed {pushed.changes} tag changes to {pushed.contacts} WeCom contacts; "
        f"{pushed.created} tags created in WeCom; {pushed.not_contacts} changes of customers "
        f"who are not WeCom contacts; {len(pushed.failures)} refused"
    )
    for failure in pushed.failures:
        who = failure.get("external_userid") or failure.get("tag")
        console.print(f"  refused {who}: {failure['errcode']} {failure['errmsg']}")


@app.command("status")
def status(as_json: bool = typer.Option(False, "--json")) -> None:
    """Is WeCom configured, how many callbacks are waiting, and the last sync."""
    upgrade()
    config = service.configuration()
    with session_factory()() as session:
        run = service.latest_sync(session)
        result = {
            "callback_configured": config.has_callback,
            "api_configured": config.has_api,
            "corp_id": config.corp_id,
            "callbacks": service.callback_counts(session),
            "last_sync": _run_dict(run) if run else None,
            "loss_alerts": len(service.loss_alerts(session)),
            "tag_push": _tag_push_dict(tag_push.read_state(session)),
        }
    if as_json:
        emit_json(result)
        return
    for name, value in result.items():
        console.print(f"{name}: {value}")


def _tag_push_dict(state: tag_push.PushState) -> dict:
    return {
        "position": state.position,
        "group": state.group,
        "pushed": state.pushed,
        "failed": state.failed,
        "last_failure": state.failures[-1] if state.failures else None,
    }
