"""The brand's reach policy: frequency caps, quiet hours and each platform's own limits, read
with the brand's defaults where nothing is set, and written only after validation.

Defaults (a Chinese consumer brand that wants to be remembered, not muted):
- marketing messages at most 1 a day and 3 a week across every channel, SMS at most 2 a month
  and outbound calls at most 1 a month (one-way channels are the ones customers resent);
- quiet hours 21:00-09:00 on every channel, in the recipient's own time zone;
- WeCom 群发: the platform's own rule (below).
A table with no rows means "the defaults"; a cap is lifted by raising it, quiet hours by a window
whose start equals its end (an empty window). Transactional messages (an order shipped) are
exempt from caps and quiet hours; platform limits bind every message, as the platform does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from siyu.core.errors import InvalidInput
from siyu.messaging.models import CAP_PERIODS, CHANNELS, Channel, FrequencyCap, QuietHours

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
# How far any single cap may go: more than a message an hour every hour of a month is no cap.
MAX_CAP = 744


@dataclass(frozen=True)
class Cap:
    """At most `max_messages` on `channel` (None: across channels) per `period`."""

    channel: str | None
    period: str  # day | week (from Monday) | month
    max_messages: int


@dataclass(frozen=True)
class Window:
    """Quiet hours [start, end) in local wall time; start > end wraps midnight; start == end is
    no quiet time at all."""

    start: time
    end: time

    @property
    def is_empty(self) -> bool:
        return self.start == self.end

    def is_quiet(self, at: time) -> bool:
        if self.start < self.end:
            return self.start <= at < self.end
        if self.start > self.end:
            return at >= self.start or at < self.end
        return False

    def text(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class PlatformLimit:
    """A platform's own per-customer limit on one channel, counted in the brand's (the
    platform's) calendar: at most `max_messages` per `period`; None means "the number of days
    in that month" (WeCom's default rule)."""

    channel: str
    period: str
    max_messages: int | None


# WeCom 群发 (externalcontact/add_msg_template), as its documentation states it (企业微信开发者
# 中心, 创建企业群发, developer.work.weixin.qq.com/document/path/92135, updated 2025-11-17):
# "每位客户/每个客户群每月最多可接收条数为当月天数 … 可在企业微信-群发助手-设置群发规则中调整为
# 每周接收七条或每天接收一条" — a customer receives at most as many as the month has days, or, as
# the admin chooses in WeCom, 7 a week or 1 a day. Channel.config["group_send_rule"] says which
# the brand's WeCom is set to: month_days (WeCom's default), week_7 or day_1.
WECOM_RULES: dict[str, PlatformLimit] = {
    "month_days": PlatformLimit("wecom", "month", None),
    "week_7": PlatformLimit("wecom", "week", 7),
    "day_1": PlatformLimit("wecom", "day", 1),
}

DEFAULT_CAPS = (
    Cap(None, "day", 1),
    Cap(None, "week", 3),
    Cap("sms", "month", 2),
    Cap("call", "month", 1),
)
DEFAULT_QUIET: dict[str | None, Window] = {None: Window(time(21), time(9))}


@dataclass(frozen=True)
class Policy:
    caps: tuple[Cap, ...] = DEFAULT_CAPS
    quiet: Mapping[str | None, Window] = field(default_factory=lambda: dict(DEFAULT_QUIET))
    platform: tuple[PlatformLimit, ...] = (WECOM_RULES["month_days"],)
    # The provider's account-wide daily quota per channel (an SMS package's daily limit): read
    # where messages are handed over, not per customer.
    daily_quota: Mapping[str, int] = field(default_factory=dict)

    def window_for(self, channel: str) -> Window | None:
        """The channel's own quiet hours, else the brand-wide ones; None or empty: none."""
        window = self.quiet.get(channel, self.quiet.get(None))
        return None if window is None or window.is_empty else window

    def caps_for(self, channel: str) -> list[Cap]:
        return [c for c in self.caps if c.channel in (None, channel)]

    def limits_for(self, channel: str) -> list[PlatformLimit]:
        return [p for p in self.platform if p.channel == channel]


def parse_time(value: object, field_name: str) -> time:
    if not isinstance(value, str) or not _HHMM.match(value):
        raise InvalidInput(f"{field_name} must be a time as HH:MM (00:00-23:59)", field=field_name)
    return time(int(value[:2]), int(value[3:]))


def _channel(value: object, field_name: str, *, allow_all: bool = True) -> str | None:
    if value is None and allow_all:
        return None
    if value not in CHANNELS:
        raise InvalidInput(
            f"{field_name} must be one of {', '.join(CHANNELS)}"
            + (" or null (every channel)" if allow_all else ""),
            field=field_name,
        )
    return str(value)


def _count(value: object, field_name: str, *, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_CAP:
        raise InvalidInput(f"{field_name} must be a whole number {low}-{MAX_CAP}", field=field_name)
    return value


def validate_caps(rows: Iterable[Mapping[str, Any]]) -> list[Cap]:
    """Caps from their JSON form ({"channel": "sms"|null, "period": "month", "max": 2})."""
    caps: list[Cap] = []
    seen: set[tuple[str | None, str]] = set()
    for i, row in enumerate(rows):
        where = f"caps[{i}]"
        if not isinstance(row, Mapping):
            raise InvalidInput(f"{where} must be an object", field=where)
        channel = _channel(row.get("channel"), f"{where}.channel")
        period = row.get("period")
        if period not in CAP_PERIODS:
            raise InvalidInput(
                f"{where}.period must be one of {', '.join(CAP_PERIODS)}", field=f"{where}.period"
            )
        if (channel, str(period)) in seen:
            raise InvalidInput(f"{where} repeats a channel and period", field=f"{where}.period")
        seen.add((channel, str(period)))
        caps.append(Cap(channel, str(period), _count(row.get("max"), f"{where}.max")))
    return caps


def validate_quiet_hours(rows: Iterable[Mapping[str, Any]]) -> dict[str | None, Window]:
    """Windows from their JSON form ({"channel": null, "start": "21:00", "end": "09:00"})."""
    windows: dict[str | None, Window] = {}
    for i, row in enumerate(rows):
        where = f"quiet_hours[{i}]"
        if not isinstance(row, Mapping):
            raise InvalidInput(f"{where} must be an object", field=where)
        channel = _channel(row.get("channel"), f"{where}.channel")
        if channel in windows:
            raise InvalidInput(f"{where} repeats a channel", field=f"{where}.channel")
        windows[channel] = Window(
            parse_time(row.get("start"), f"{where}.start"),
            parse_time(row.get("end"), f"{where}.end"),
        )
    return windows


def validate_platform(channel: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """A channel's platform keys: per_customer ({"day"|"week"|"month": n}), daily_quota (n),
    and for WeCom group_send_rule (month_days | week_7 | day_1)."""
    _channel(channel, "channel", allow_all=False)
    clean: dict[str, Any] = {}
    if "group_send_rule" in config:
        if channel != "wecom" or config["group_send_rule"] not in WECOM_RULES:
            raise InvalidInput(
                f"group_send_rule is WeCom's: one of {', '.join(WECOM_RULES)}",
                field="group_send_rule",
            )
        clean["group_send_rule"] = config["group_send_rule"]
    if "per_customer" in config:
        limits = config["per_customer"]
        if not isinstance(limits, Mapping) or any(p not in CAP_PERIODS for p in limits):
            raise InvalidInput(
                f"per_customer must map {', '.join(CAP_PERIODS)} to a number",
                field="per_customer",
            )
        clean["per_customer"] = {
            p: _count(n, f"per_customer.{p}", low=1) for p, n in limits.items()
        }
    if "daily_quota" in config:
        quota = config["daily_quota"]
        if isinstance(quota, bool) or not isinstance(quota, int) or quota < 1:
            raise InvalidInput("daily_quota must be a whole number above 0", field="daily_quota")
        clean["daily_quota"] = quota
    return clean


def load_policy(session: Session) -> Policy:
    """The brand's policy now: its rows, or the defaults where a table has none."""
    cap_rows = session.scalars(select(FrequencyCap).order_by(FrequencyCap.id)).all()
    quiet_rows = session.scalars(select(QuietHours).order_by(QuietHours.id)).all()
    configs = {c.channel: c.config or {} for c in session.scalars(select(Channel))}
    caps = (
        tuple(Cap(r.channel, r.period, r.max_messages) for r in cap_rows)
        if cap_rows
        else DEFAULT_CAPS
    )
    quiet = (
        {
            r.channel: Window(parse_time(r.start, "start"), parse_time(r.end, "end"))
            for r in quiet_rows
        }
        if quiet_rows
        else dict(DEFAULT_QUIET)
    )
    return Policy(caps=caps, quiet=quiet, **_platform(configs))


def _platform(configs: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    limits = [WECOM_RULES[configs.get("wecom", {}).get("group_send_rule", "month_days")]]
    quota: dict[str, int] = {}
    for channel, config in configs.items():
        for period, n in (config.get("per_customer") or {}).items():
            limits.append(PlatformLimit(channel, period, int(n)))
        if config.get("daily_quota"):
            quota[channel] = int(config["daily_quota"])
    return {"platform": tuple(limits), "daily_quota": quota}


def set_caps(session: Session, rows: Iterable[Mapping[str, Any]]) -> list[Cap]:
    """Replace the brand's caps (validated whole first; an empty list restores the defaults)."""
    caps = validate_caps(rows)
    session.execute(delete(FrequencyCap))
    session.add_all(
        FrequencyCap(channel=c.channel, period=c.period, max_messages=c.max_messages) for c in caps
    )
    session.flush()
    return caps


def set_quiet_hours(
    session: Session, rows: Iterable[Mapping[str, Any]]
) -> dict[str | None, Window]:
    """Replace the brand's quiet hours (an empty list restores the defaults)."""
    windows = validate_quiet_hours(rows)
    session.execute(delete(QuietHours))
    session.add_all(
        QuietHours(channel=ch, start=f"{w.start:%H:%M}", end=f"{w.end:%H:%M}")
        for ch, w in windows.items()
    )
    session.flush()
    return windows


def set_platform_limits(
    session: Session, channel: str, config: Mapping[str, Any], *, actor: str | None = None
) -> dict[str, Any]:
    """Write a channel's platform keys into its Channel.config, keeping its other settings."""
    clean = validate_platform(channel, config)
    row = session.get(Channel, channel)
    if row is None:
        row = Channel(channel=channel, config={})
        session.add(row)
    row.config = {**(row.config or {}), **clean}
    row.updated_by = actor
    session.flush()
    return clean


def describe(policy: Policy) -> dict[str, Any]:
    """The policy as JSON: what the console and `--json` show."""
    return {
        "caps": [
            {"channel": c.channel, "period": c.period, "max": c.max_messages} for c in policy.caps
        ],
        "quiet_hours": [
            {"channel": ch, "start": f"{w.start:%H:%M}", "end": f"{w.end:%H:%M}"}
            for ch, w in policy.quiet.items()
        ],
        "platform": [
            {"channel": p.channel, "period": p.period, "max": p.max_messages}
            for p in policy.platform
        ],
        "daily_quota": dict(policy.daily_quota),
    }
