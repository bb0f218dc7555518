"""`siyu wechat`: the official account's scene QR codes."""

from __future__ import annotations

import typer
from wechatpy.exceptions import WeChatClientException

from siyu.core.audit import acting_as
from siyu.core.console_out import console, emit_json, fail
from siyu.core.db import unit_of_work, upgrade
from siyu.core.errors import PlatformRefused, SiyuError
from siyu.wechat import service

app = typer.Typer(help="The official account (公众号).", no_args_is_help=True)


@app.command("qr")
def scene_qr(code: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Make a permanent scene QR code for a channel code (follows are attributed to it)."""
    upgrade()
    try:
        with acting_as("cli:wechat"), unit_of_work() as session:
            qr = service.create_scene_qr(session, code)
            result = {
                "code": qr.code,
                "ticket": qr.ticket,
                "url": qr.url,
                "image": service.image_url(qr),
            }
    except SiyuError as error:
        fail(error)
    except WeChatClientException as error:
        fail(PlatformRefused.of("WeChat", error))
    if as_json:
        emit_json(result)
    else:
        console.print(f"{code}: {result['url']}\nimage: {result['image']}")
