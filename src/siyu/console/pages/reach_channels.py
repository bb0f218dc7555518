"""Reach's channels in the console: each channel's mode (off / log only / live), provider and
non-secret settings, whether the secrets a live channel needs are set (which SIYU_* are
missing: the values are never shown), and the brand's policy: frequency caps per channel and
across channels, quiet hours, platform limits (messaging.policy), with errors beside fields."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from siyu.console.web import N_, allowed, render
from siyu.core.deps import FormDep, SessionDep
from siyu.core.errors import InvalidInput
from siyu.core.forms import FieldError
from siyu.core.settings import Settings, get_settings
from siyu.messaging import policy
from siyu.messaging.labels import CHANNEL_LABELS, MODE_LABELS
from siyu.messaging.models import CAP_PERIODS, CHANNELS, Channel
from siyu.users.models import User

router = APIRouter(include_in_schema=False)
Manager = Annotated[User, allowed("channels.manage")]

MODES = ("off", "console", "live")
SMS_PROVIDERS = ("aliyun", "tencent")
PROVIDER_LABELS = {"aliyun": N_("Alibaba Cloud SMS"), "tencent": N_("Tencent Cloud SMS")}
PERIOD_LABELS = {"day": N_("per day"), "week": N_("per week"), "month": N_("per month")}
RULE_LABELS = {
    "month_days": N_("As many a month as the month has days (WeCom's default)"),
    "week_7": N_("7 a week"),
    "day_1": N_("1 a day"),
}
MODE_HELP = {
    "off": N_("Nothing is sent on this channel; its messages are left out."),
    "console": N_("Messages are written to the log instead of being sent: for trying things out."),
    "live": N_("Messages are sent through the provider."),
}
# The settings a live channel needs (secrets: only whether they are set is shown).
NEEDS: dict[str, tuple[str, ...]] = {
    "email": ("smtp_url", "mail_from"),
    "wecom": ("wecom_corp_id", "wecom_secret"),
    "official_account": ("wechat_app_id", "wechat_secret"),
    "call": (),
}
SMS_NEEDS = {
    "aliyun": ("aliyun_access_key_id", "aliyun_access_key_secret"),
    "tencent": ("tencent_secret_id", "tencent_secret_key", "tencent_sms_sdk_app_id"),
    "": ("sms_provider",),
}
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
BAD_TIME = N_("enter a time as HH:MM")
BAD_COUNT = N_("enter a whole number from 0 to %(max)s, or leave it blank")


def _env(name: str) -> str:
    return f"SIYU_{name.upper()}"


def _missing(channel: str, row: Channel | None, settings: Settings) -> list[str]:
    if channel == "sms":
        provider = (row.provider if row else None) or settings.sms_provider or ""
        needs = SMS_NEEDS.get(provider, SMS_NEEDS[""])
    else:
        needs = NEEDS.get(channel, ())
    return [_env(name) for name in needs if not getattr(settings, name, "")]


def _channel_rows(session: Session) -> list[dict[str, Any]]:
    settings = get_settings()
    rows = {row.channel: row for row in session.scalars(select(Channel))}
    found = []
    for channel in CHANNELS:
        row = rows.get(channel)
        config = dict(row.config or {}) if row else {}
        found.append(
            {
                "channel": channel,
                "mode": row.mode if row else "console",
                "provider": (row.provider if row else None) or settings.sms_provider or "",
                "config": config,
                "missing": _missing(channel, row, settings),
                "updated_at": row.updated_at if row else None,
                "updated_by": row.updated_by if row else None,
            }
        )
    return found


def _page(request: Request, session: Session, status_code: int = 200, **context: Any):
    current = policy.load_policy(session)
    caps = {(c.channel or "all", c.period): c.max_messages for c in current.caps}
    quiet = {(ch or "all"): w for ch, w in current.quiet.items()}
    return render(
        request,
        "reach_channels.html",
        status_code=status_code,
        rows=_channel_rows(session),
        caps=caps,
        quiet=quiet,
        platform=current.platform,
        scopes=("all", *CHANNELS),
        periods=CAP_PERIODS,
        modes=MODES,
        providers=SMS_PROVIDERS,
        provider_labels=PROVIDER_LABELS,
        mode_labels=MODE_LABELS,
        mode_help=MODE_HELP,
        channel_labels=CHANNEL_LABELS,
        period_labels=PERIOD_LABELS,
        rule_labels=RULE_LABELS,
        max_cap=policy.MAX_CAP,
        public_url=get_settings().public_url,
        **context,
    )


@router.get("/reach/channels", response_class=HTMLResponse)
def channels_page(request: Request, session: SessionDep, user: Manager, done: str = ""):
    return _page(request, session, done=done)


def _count(form: FormData, name: str, errors: dict[str, FieldError], low: int = 0) -> int | None:
    text = str(form.get(name) or "").strip()
    if not text:
        return None
    if not text.isdigit() or not low <= int(text) <= policy.MAX_CAP:
        errors[name] = FieldError(BAD_COUNT, {"max": policy.MAX_CAP})
        return None
    return int(text)


def _values(form: FormData) -> dict[str, str]:
    return {k: v for k, v in form.multi_items() if k != "csrf_token" and isinstance(v, str)}


@router.post("/reach/channels/{channel}", response_class=HTMLResponse)
def save_channel(request: Request, session: SessionDep, user: Manager, channel: str, form: FormDep):
    """One channel's mode, provider and settings."""
    if channel not in CHANNELS:
        raise InvalidInput(N_("no such channel"), field="channel")
    errors: dict[str, FieldError] = {}
    mode = str(form.get("mode") or "")
    if mode not in MODES:
        errors["mode"] = FieldError(N_("choose one of the listed values"))
    provider = str(form.get("provider") or "")
    if channel == "sms" and provider not in ("", *SMS_PROVIDERS):
        errors["provider"] = FieldError(N_("choose one of the listed values"))
    config: dict[str, Any] = {}
    per_customer = {}
    for period in CAP_PERIODS:
        n = _count(form, f"per_{period}", errors, low=1)
        if n is not None:
            per_customer[period] = n
    quota = _count(form, "daily_quota", errors, low=1)
    rule = str(form.get("group_send_rule") or "")
    if channel == "wecom" and rule and rule not in policy.WECOM_RULES:
        errors["group_send_rule"] = FieldError(N_("choose one of the listed values"))
    if errors:
        return _page(request, session, 400, errors={channel: errors}, values=_values(form))
    row = session.get(Channel, channel)
    if row is None:
        row = Channel(channel=channel, config={})
        session.add(row)
    config = {
        k: v
        for k, v in dict(row.config or {}).items()
        if k not in ("per_customer", "daily_quota", "sign_name", "from_name", "group_send_rule")
    }
    if per_customer:
        config["per_customer"] = per_customer
    if quota:
        config["daily_quota"] = quota
    if channel == "wecom" and rule:
        config["group_send_rule"] = rule
    for key in {"sms": "sign_name", "email": "from_name"}.get(channel, "").split():
        text = str(form.get(key) or "").strip()[:100]
        if text:
            config[key] = text
    row.mode = mode
    row.provider = (provider or None) if channel == "sms" else row.provider
    row.config = config
    row.updated_by = f"user:{user.email}"
    session.flush()
    return RedirectResponse(f"/reach/channels?done=saved#ch-{channel}", status_code=303)


@router.post("/reach/channels-caps", response_class=HTMLResponse)
def save_caps(request: Request, session: SessionDep, user: Manager, form: FormDep):
    """The caps grid: a number per scope (across channels, or one channel) and period; blank
    is no cap. Every box blank restores the brand's defaults."""
    errors: dict[str, FieldError] = {}
    rows = []
    for scope in ("all", *CHANNELS):
        for period in CAP_PERIODS:
            n = _count(form, f"cap_{scope}_{period}", errors)
            if n is not None:
                rows.append(
                    {"channel": None if scope == "all" else scope, "period": period, "max": n}
                )
    if errors:
        return _page(request, session, 400, errors={"caps": errors}, values=_values(form))
    policy.set_caps(session, rows)
    return RedirectResponse("/reach/channels?done=caps#caps", status_code=303)


@router.post("/reach/channels-quiet", response_class=HTMLResponse)
def save_quiet(request: Request, session: SessionDep, user: Manager, form: FormDep):
    """Quiet hours: across channels and a channel's own (blank: the across-channels window);
    a window may wrap midnight (21:00–09:00); start = end is no quiet time."""
    errors: dict[str, FieldError] = {}
    rows = []
    for scope in ("all", *CHANNELS):
        start = str(form.get(f"quiet_{scope}_start") or "").strip()
        end = str(form.get(f"quiet_{scope}_end") or "").strip()
        if not start and not end:
            continue
        for name, text in ((f"quiet_{scope}_start", start), (f"quiet_{scope}_end", end)):
            if not _HHMM.match(text):
                errors[name] = FieldError(BAD_TIME)
        rows.append({"channel": None if scope == "all" else scope, "start": start, "end": end})
    if errors:
        return _page(request, session, 400, errors={"quiet": errors}, values=_values(form))
    policy.set_quiet_hours(session, rows)
    return RedirectResponse("/reach/channels?done=quiet#quiet", status_code=303)
