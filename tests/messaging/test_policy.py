"""The brand's reach policy: defaults when nothing is set, validated writes naming the field."""

from __future__ import annotations

from datetime import time

import pytest

from siyu.core.errors import InvalidInput
from siyu.messaging.policy import (
    DEFAULT_CAPS,
    Window,
    describe,
    load_policy,
    set_caps,
    set_platform_limits,
    set_quiet_hours,
)


def test_nothing_set_reads_the_brand_defaults(session):
    policy = load_policy(session)
    assert policy.caps == DEFAULT_CAPS
    assert policy.window_for("sms") == Window(time(21), time(9))
    assert [(p.channel, p.period, p.max_messages) for p in policy.platform] == [
        ("wecom", "month", None)
    ]
    assert {(c["channel"], c["period"], c["max"]) for c in describe(policy)["caps"]} >= {
        (None, "day", 1),
        ("sms", "month", 2),
    }


def test_written_caps_and_windows_replace_the_defaults(session):
    set_caps(session, [{"channel": "email", "period": "week", "max": 2}])
    set_quiet_hours(
        session,
        [
            {"channel": None, "start": "22:00", "end": "08:00"},
            {"channel": "email", "start": "00:00", "end": "00:00"},
        ],
    )
    set_platform_limits(session, "wecom", {"group_send_rule": "day_1"})
    set_platform_limits(session, "sms", {"per_customer": {"day": 2}, "daily_quota": 5000})
    policy = load_policy(session)
    assert [(c.channel, c.period, c.max_messages) for c in policy.caps] == [("email", "week", 2)]
    assert policy.window_for("sms") == Window(time(22), time(8))
    assert policy.window_for("email") is None  # an empty window: no quiet hours on email
    assert {(p.channel, p.period, p.max_messages) for p in policy.platform} == {
        ("wecom", "day", 1),
        ("sms", "day", 2),
    }
    assert policy.daily_quota == {"sms": 5000}


@pytest.mark.parametrize(
    ("write", "field"),
    [
        (lambda s: set_caps(s, [{"channel": "fax", "period": "day", "max": 1}]), "caps[0].channel"),
        (lambda s: set_caps(s, [{"channel": None, "period": "year", "max": 1}]), "caps[0].period"),
        (lambda s: set_caps(s, [{"channel": None, "period": "day", "max": -1}]), "caps[0].max"),
        (
            lambda s: set_caps(
                s,
                [
                    {"channel": None, "period": "day", "max": 1},
                    {"channel": None, "period": "day", "max": 2},
                ],
            ),
            "caps[1].period",
        ),
        (
            lambda s: set_quiet_hours(s, [{"channel": None, "start": "24:00", "end": "09:00"}]),
            "quiet_hours[0].start",
        ),
        (
            lambda s: set_quiet_hours(s, [{"channel": "sms", "start": "21:00", "end": "9"}]),
            "quiet_hours[0].end",
        ),
        (lambda s: set_platform_limits(s, "sms", {"group_send_rule": "day_1"}), "group_send_rule"),
        (lambda s: set_platform_limits(s, "sms", {"per_customer": {"hour": 1}}), "per_customer"),
        (lambda s: set_platform_limits(s, "sms", {"daily_quota": 0}), "daily_quota"),
    ],
)
def test_invalid_policy_is_refused_naming_the_field(session, write, field):
    with pytest.raises(InvalidInput) as refused:
        write(session)
    assert refused.value.field == field


def test_a_wrapping_window_is_quiet_across_midnight():
    window = Window(time(21), time(9))
    assert (
        window.is_quiet(time(23, 59)) and window.is_quiet(time(0)) and window.is_quiet(time(8, 59))
    )
    assert not window.is_quiet(time(9)) and not window.is_quiet(time(20, 59))
