"""The planner against a plain-Python oracle written here from the rules, sharing no code with
it: random caps, quiet windows (wrapping midnight, empty), zones with and without daylight
saving, send times near the transitions and recent deliveries. `plan` (set-based SQL, on the
test database: SQLite, or PostgreSQL with SIYU_TEST_DATABASE_URL) and `decide` (one recipient)
must both match it, customer by customer."""

from __future__ import annotations

import calendar
import hashlib
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from siyu.core import db
from siyu.customers.models import Customer, Identity
from siyu.messaging import planner
from siyu.messaging.models import Channel, Consent, Delivery, FrequencyCap, QuietHours, Suppression
from siyu.messaging.policy import load_policy
from siyu.staff.models import Staff

CHANNELS = ["wecom", "official_account", "sms", "email", "call"]
IDENTITY = {
    "wecom": "wecom_external_userid",
    "official_account": "wechat_openid",
    "sms": "phone",
    "call": "phone",
    "email": "email",
}
ZONES = ["America/New_York", "Europe/Berlin", "Asia/Shanghai", "UTC", "Mars/Olympus", None]
BRAND = ZoneInfo("Asia/Shanghai")
# Daylight-saving changes of 2026, in UTC: New York's and Berlin's, spring and autumn.
TRANSITIONS = [
    datetime(2026, 3, 8, 7, tzinfo=UTC),
    datetime(2026, 11, 1, 6, tzinfo=UTC),
    datetime(2026, 3, 29, 1, tzinfo=UTC),
    datetime(2026, 10, 25, 1, tzinfo=UTC),
]
PREFIX = "broadcast:7:"

clock = st.builds(time, st.integers(0, 23), st.sampled_from([0, 30, 59]))
customer = st.fixed_dictionaries(
    {
        "zone": st.sampled_from(ZONES),
        "merged": st.sampled_from([False, False, False, True]),
        "guide": st.sampled_from([None, "active", "left", "no_userid"]),
        # per identity type: how many addresses (0-2)
        "addresses": st.fixed_dictionaries(
            {t: st.integers(0, 2) for t in sorted(set(IDENTITY.values()))}
        ),
        "consent": st.fixed_dictionaries(
            {c: st.sampled_from([None, "subscribed", "unsubscribed"]) for c in CHANNELS}
        ),
        # (channel, address index, reason)
        "suppressed": st.lists(
            st.tuples(
                st.sampled_from(CHANNELS),
                st.integers(0, 1),
                st.sampled_from(["bounced", "replied_unsubscribe", "do_not_call", "manual"]),
            ),
            max_size=3,
        ),
        # (channel, minutes from the planning time, purpose, status)
        "recent": st.lists(
            st.tuples(
                st.sampled_from(CHANNELS),
                st.integers(-40 * 1440, 2 * 1440),
                st.sampled_from(["marketing", "marketing", "transactional"]),
                st.sampled_from(
                    ["sent", "delivered", "planned", "failed", "left_out", "cancelled"]
                ),
            ),
            max_size=6,
        ),
    }
)
scenario = st.fixed_dictionaries(
    {
        "at": st.builds(
            lambda t, minutes, seconds: t + timedelta(minutes=minutes, seconds=seconds),
            st.sampled_from(TRANSITIONS),
            st.integers(-36 * 60, 36 * 60),
            st.integers(0, 59),
        ),
        "caps": st.dictionaries(
            st.tuples(
                st.sampled_from([None, *CHANNELS]), st.sampled_from(["day", "week", "month"])
            ),
            st.integers(0, 3),
            max_size=4,
        ),
        "quiet": st.dictionaries(
            st.sampled_from([None, *CHANNELS]), st.tuples(clock, clock), max_size=3
        ),
        "group_send_rule": st.sampled_from(["month_days", "week_7", "day_1"]),
        "sms_per_day": st.sampled_from([None, 1, 2]),
        "channels": st.permutations(CHANNELS).flatmap(
            lambda order: st.integers(1, 3).map(lambda n: list(order[:n]))
        ),
        "purpose": st.sampled_from(["marketing", "marketing", "transactional"]),
        "holdout": st.sampled_from([0, 10, 50]),
        "customers": st.lists(customer, min_size=1, max_size=4),
    }
)


# ---- the oracle: the rules as loops over datetimes ----------------------------------------------


def quiet_at(local: time, window: tuple[time, time] | None) -> bool:
    if window is None:
        return False
    start, end = window
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def window_of(s: dict, channel: str) -> tuple[time, time] | None:
    quiet = s["quiet"] or {None: (time(21), time(9))}  # nothing set: the brand's default
    return quiet.get(channel, quiet.get(None))


def oracle_send_at(at: datetime, zone: ZoneInfo, window: tuple[time, time] | None) -> datetime:
    """Walk minute by minute until the wall clock is outside the window."""
    if not quiet_at(at.astimezone(zone).time(), window):
        return at
    moment = at.replace(second=0) + timedelta(minutes=1)
    while quiet_at(moment.astimezone(zone).time(), window):
        moment += timedelta(minutes=1)
    return moment


def period_key(moment: datetime, zone: ZoneInfo, period: str) -> tuple[int, ...]:
    local = moment.astimezone(zone).date()
    if period == "day":
        return (local.year, local.month, local.day)
    if period == "week":
        return tuple(local.isocalendar())[:2]
    return (local.year, local.month)


def oracle(s: dict, c: dict, info: dict) -> tuple[str, str | None, str | None, datetime | None]:
    """(status, reason, channel, send_at) for one customer."""
    marketing = s["purpose"] == "marketing"
    zone = ZoneInfo(c["zone"]) if c["zone"] in ZONES[:4] else BRAND
    caps = s["caps"] or {
        (None, "day"): 1,
        (None, "week"): 3,
        ("sms", "month"): 2,
        ("call", "month"): 1,
    }
    counted = [r for r in info["recent"] if r[3] in ("sent", "delivered", "planned")]
    best = 0
    for channel in s["channels"]:
        level, at_ = 0, s["at"]
        send_at = at_
        addresses = info["addresses"].get(IDENTITY[channel], [])
        if channel == "wecom" and c["guide"] != "active":
            addresses = []
        blocking = {
            a
            for ch, a, reason in info["suppressed"]
            if ch == channel and (marketing or reason in ("bounced", "do_not_call", "unfollowed"))
        }
        usable = sorted(a for a in addresses if a not in blocking)
        consent = c["consent"][channel]
        if not addresses:
            level = 1
        elif not usable:
            level = 2
        elif marketing and (
            consent != "subscribed"
            if channel in ("sms", "email", "call")
            else consent == "unsubscribed"
        ):
            level = 3
        else:
            if marketing:
                send_at = oracle_send_at(at_, zone, window_of(s, channel))
                for (cap_channel, period), most in caps.items():
                    if cap_channel not in (None, channel):
                        continue
                    n = 0
                    for ch, when, purpose, _ in counted:
                        if (
                            purpose == "marketing"
                            and (cap_channel is None or ch == channel)
                            and period_key(when, zone, period) == period_key(send_at, zone, period)
                        ):
                            n += 1
                    if n >= most:
                        level = 4
                        break
            if level == 0:
                limits = []
                if channel == "wecom":
                    rule = s["group_send_rule"]
                    limits.append(
                        {"month_days": ("month", None), "week_7": ("week", 7), "day_1": ("day", 1)}[
                            rule
                        ]
                    )
                if channel == "sms" and s["sms_per_day"]:
                    limits.append(("day", s["sms_per_day"]))
                for period, most in limits:
                    if most is None:
                        local = send_at.astimezone(BRAND)
                        most = calendar.monthrange(local.year, local.month)[1]
                    n = sum(
                        1
                        for ch, when, _, _ in counted
                        if ch == channel
                        and period_key(when, BRAND, period) == period_key(send_at, BRAND, period)
                    )
                    if n >= most:
                        level = 5
                        break
        if level == 0:
            return "planned", None, channel, send_at
        best = max(best, level)
    names = {1: "no_channel", 2: "suppressed", 3: "no_consent", 4: "capped", 5: "platform_limit"}
    return "left_out", names[best], None, None


def oracle_bucket(customer_id: int) -> int:
    """The arm hash as docs/messaging.md states it."""
    p = 2_147_483_647
    seed = int.from_bytes(hashlib.sha256(b"broadcast:7").digest()[:8], "big") % p
    mixed = ((customer_id + seed) % p * 48271 + 11) % p * 69621 % p
    return (mixed * mixed + seed) % p % 10_000


# ---- the scenario in the database ----------------------------------------------------------------


def store(session, s: dict) -> dict[int, dict]:
    for (channel, period), most in s["caps"].items():
        session.add(FrequencyCap(channel=channel, period=period, max_messages=most))
    for channel, (start, end) in s["quiet"].items():
        session.add(QuietHours(channel=channel, start=f"{start:%H:%M}", end=f"{end:%H:%M}"))
    session.add(Channel(channel="wecom", config={"group_send_rule": s["group_send_rule"]}))
    if s["sms_per_day"]:
        session.add(Channel(channel="sms", config={"per_customer": {"day": s["sms_per_day"]}}))
    guides = {
        "active": Staff(name="g1", wecom_userid="g1", status="active"),
        "left": Staff(name="g2", wecom_userid="g2", status="left"),
        "no_userid": Staff(name="g3", status="active"),
    }
    session.add_all(guides.values())
    session.flush()
    infos: dict[int, dict] = {}
    for n, c in enumerate(s["customers"]):
        traits = {"timezone": c["zone"]} if c["zone"] else {}
        guide = guides[c["guide"]].id if c["guide"] else None
        row = Customer(traits=traits, owner_id=guide)
        session.add(row)
        session.flush()
        if c["merged"]:
            row.merged_into_id = row.id  # points anywhere: it is no longer a customer of its own
        info: dict = {"addresses": {}, "suppressed": [], "recent": []}
        for kind, count in c["addresses"].items():
            values = [
                f"{kind[:3]}{n}x{i}" if kind != "phone" else f"1380000{n:02d}{i:02d}"
                for i in range(count)
            ]
            values = [f"{v}@x.cn" if kind == "email" else v for v in values]
            info["addresses"][kind] = values
            session.add_all(Identity(type=kind, value=v, customer_id=row.id) for v in values)
        for channel, status in c["consent"].items():
            if status:
                session.add(
                    Consent(
                        customer_id=row.id,
                        channel=channel,
                        status=status,
                        method="api",
                        source="t",
                        changed_by="t",
                    )
                )
        for channel, index, reason in c["suppressed"]:
            values = info["addresses"].get(IDENTITY[channel], [])
            if index < len(values) and (channel, values[index]) not in {
                (a, b) for a, b, _ in info["suppressed"]
            }:
                info["suppressed"].append((channel, values[index], reason))
                session.add(
                    Suppression(channel=channel, address=values[index], reason=reason, source="t")
                )
        for i, (channel, minutes, purpose, status) in enumerate(c["recent"]):
            when = s["at"] + timedelta(minutes=minutes)
            info["recent"].append((channel, when, purpose, status))
            session.add(
                Delivery(
                    key=f"old:{row.id}:{i}",
                    origin="test",
                    customer_id=row.id,
                    channel=channel,
                    purpose=purpose,
                    status=status,
                    send_at=when,
                )
            )
        infos[row.id] = info
    session.flush()
    return infos


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenario)
def test_plan_and_decide_match_the_oracle(s):
    with db.session_factory()() as session:
        try:
            infos = store(session, s)
            check(session, s, infos)
        finally:
            session.rollback()


def check(session, s: dict, infos: dict[int, dict]) -> None:
    ids = list(infos)
    counts = planner.plan(
        session,
        select(Customer.id).where(Customer.id.in_(ids)),
        origin="broadcast",
        origin_id=7,
        channels=s["channels"],
        purpose=s["purpose"],
        at=s["at"],
        holdout_percent=s["holdout"],
        variants=[("A", 1), ("B", 1)],
        key_prefix=PREFIX,
    )
    rows = {
        d.customer_id: d
        for d in session.scalars(select(Delivery).where(Delivery.key.startswith(PREFIX)))
    }
    policy = load_policy(session)
    live = [cid for cid, c in zip(ids, s["customers"], strict=True) if not c["merged"]]
    assert sorted(rows) == sorted(live)
    assert counts.total == len(live) and counts.inserted == len(live)
    for cid, c in zip(ids, s["customers"], strict=True):
        if c["merged"]:
            assert planner.recipient(session, cid, at=s["at"]) is None
            continue
        status, reason, channel, send_at = oracle(s, c, infos[cid])
        row = rows[cid]
        if status == "planned" and oracle_bucket(cid) < s["holdout"] * 100:
            status = "held_out"
        assert (row.status, row.reason) == (status, reason), (cid, c)
        if channel:
            assert (row.channel, row.send_at) == (channel, send_at), (cid, c)
        one = planner.recipient(session, cid, at=s["at"], exclude_key_prefix=PREFIX)
        assert one is not None
        decision = planner.decide(
            one, channels=s["channels"], purpose=s["purpose"], at=s["at"], policy=policy
        )
        assert (decision.channel, decision.send_at, decision.reason) == (
            channel,
            send_at,
            reason,
        ), (cid, c)
    again = planner.plan(
        session,
        select(Customer.id).where(Customer.id.in_(ids)),
        origin="broadcast",
        origin_id=7,
        channels=s["channels"],
        purpose=s["purpose"],
        at=s["at"],
        holdout_percent=s["holdout"],
        variants=[("A", 1), ("B", 1)],
        key_prefix=PREFIX,
    )
    assert again.inserted == 0 and again.as_dict() | {"inserted": 0} == counts.as_dict() | {
        "inserted": 0
    }
