"""`siyu bench reach`: planning a broadcast to 1,000,000 customers (consent, suppressions, caps,
quiet hours, holdout, variants) through `siyu.messaging.planner.plan`, next to one hand-written
SQL statement doing the same filtering, in the same run, on the same SQLite database; then the
journey engine's part (benchmarks/reach_journey.py: customers through a three-step journey with
their timers due at once, in events/s).

The database (customers with time zones, identities on every channel, consent, suppressions,
a month of earlier deliveries, guides) is built with SQLite's own recursive SQL, outside the
timing, and cached under data/bench/reach-v<N>-<customers>.db. Each timed run writes its
deliveries (INSERT … SELECT, the real write) and is rolled back, so every run starts equal; the
counts by status and reason of both sides must be the same. SIYU_BENCH_CUSTOMERS makes a
smaller database for a quick look.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from benchmarks import reach_journey
from benchmarks.ingest import machine

ROOT = Path(__file__).resolve().parents[1]
VERSION = 2  # bump when the generated database changes
CUSTOMERS = int(os.environ.get("SIYU_BENCH_CUSTOMERS", "1000000"))
GUIDES = 400
# Saturday 22:30 in Shanghai: inside the default quiet hours, so most sends are deferred.
AT = datetime(2026, 12, 5, 14, 30, tzinfo=UTC)
CHANNELS = ["wecom", "official_account", "sms"]
HOLDOUT = 10
VARIANTS = [("A", 1), ("B", 1)]
PREFIX = "broadcast:1:"
TARGET = 1.5
log = Console(stderr=True)


def db_path(customers: int) -> Path:
    return ROOT / "data" / "bench" / f"reach-v{VERSION}-{customers}.db"


# Every draw is a hash of the row number: the database is the same on every machine.
def _h(salt: int) -> str:
    return f"((i * 2654435761 + {salt * 40503}) % 4294967296 % 1000)"


BUILD = [
    "CREATE TEMP TABLE n AS WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r "
    "WHERE i < :customers) SELECT i FROM r",
    """INSERT INTO staff (id, name, role, wecom_userid, status, created_at, needs_sync)
       SELECT i, 'guide ' || i, 'guide', CASE WHEN i % 10 = 0 THEN NULL ELSE 'g' || i END,
              CASE WHEN i % 25 = 0 THEN 'left' ELSE 'active' END, '2026-01-01 00:00:00.000000', 0
       FROM n WHERE i <= :guides""",
    f"""INSERT INTO customers (id, traits, created_at, updated_at, owner_id, is_identified,
                               merged_into_id)
       SELECT i, CASE WHEN {_h(1)} < 50 THEN '{{"timezone": "America/New_York"}}'
                      WHEN {_h(1)} < 70 THEN '{{"timezone": "Europe/Berlin"}}'
                      WHEN {_h(1)} < 75 THEN '{{"timezone": "Nowhere/Land"}}'
                      ELSE '{{}}' END,
              '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000',
              CASE WHEN {_h(2)} < 600 THEN 1 + i % :guides END, 1,
              CASE WHEN {_h(3)} < 10 AND i > 1 THEN i - 1 END
       FROM n""",
    f"""INSERT INTO identities (type, value, customer_id, created_at)
       SELECT 'phone', '13' || printf('%09d', i), i, '2026-01-01 00:00:00.000000'
       FROM n WHERE {_h(4)} < 800""",
    f"""INSERT INTO identities (type, value, customer_id, created_at)
       SELECT 'wecom_external_userid', 'wm' || i, i, '2026-01-01 00:00:00.000000'
       FROM n WHERE {_h(5)} < 500""",
    f"""INSERT INTO identities (type, value, customer_id, created_at)
       SELECT 'wechat_openid', 'o' || i, i, '2026-01-01 00:00:00.000000'
       FROM n WHERE {_h(6)} < 350""",
    f"""INSERT INTO consents (customer_id, channel, status, method, source, changed_at,
                              changed_by)
       SELECT i, 'sms', CASE WHEN {_h(8)} < 50 THEN 'unsubscribed' ELSE 'subscribed' END,
              'import', 'bench', '2026-01-01 00:00:00.000000', 'bench'
       FROM n WHERE {_h(7)} < 450""",
    f"""INSERT INTO consents (customer_id, channel, status, method, source, changed_at,
                              changed_by)
       SELECT i, 'wecom', 'unsubscribed', 'console', 'bench', '2026-01-01 00:00:00.000000',
              'bench'
       FROM n WHERE {_h(9)} < 30""",
    f"""INSERT INTO suppressions (channel, address, customer_id, reason, source, created_at)
       SELECT 'sms', '13' || printf('%09d', i), i, 'replied_unsubscribe', 'bench',
              '2026-01-01 00:00:00.000000'
       FROM n WHERE {_h(4)} < 800 AND {_h(10)} < 15""",
    f"""INSERT INTO suppressions (channel, address, customer_id, reason, source, created_at)
       SELECT 'official_account', 'o' || i, i, 'unfollowed', 'bench',
              '2026-01-01 00:00:00.000000'
       FROM n WHERE {_h(6)} < 350 AND {_h(11)} < 80""",
    # Earlier messages: about 1.5 per customer over the last 10 days.
    f"""INSERT INTO deliveries (key, origin, origin_id, customer_id, channel, purpose, content,
                                status, send_at, attempts, created_at)
       SELECT 'old:' || i || ':' || k, 'broadcast', 100 + k, i,
              CASE (i + k) % 3 WHEN 0 THEN 'wecom' WHEN 1 THEN 'official_account' ELSE 'sms' END,
              CASE WHEN k = 2 THEN 'transactional' ELSE 'marketing' END, '{{}}',
              CASE WHEN (i + k) % 11 = 0 THEN 'failed' ELSE 'sent' END,
              strftime('%Y-%m-%d %H:%M:%S.000000', '2026-12-05 14:30:00',
                       '-' || ((i * 7919 + k * 104729) % 14400) || ' minutes'),
              1, '2026-11-01 00:00:00.000000'
       FROM n, (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2)
       WHERE {_h(12 + 0)} < 500 + 250 * k""",
    # The audience: a saved segment holding every customer (merged ones included, as a
    # segment refreshed before a merge would).
    """INSERT INTO segments (id, key, name, description, rule, schedule, created_at, updated_at)
       VALUES (1, 'everyone', 'Everyone', '', '{}', 'daily', '2026-01-01 00:00:00.000000',
               '2026-01-01 00:00:00.000000')""",
    """INSERT INTO segment_members (segment_id, customer_id, entered_at)
       SELECT 1, i, '2026-01-01 00:00:00.000000' FROM n""",
    "ANALYZE",
]


def build(path: Path, customers: int) -> None:
    """The database, migrated by Alembic and filled by SQL (no Python loop over rows)."""
    from siyu.core import db

    temp = path.with_suffix(".building")
    for stale in (temp, Path(f"{temp}-wal"), Path(f"{temp}-shm")):
        stale.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    db.upgrade(f"sqlite:///{temp}")
    db.dispose_engines()
    con = sqlite3.connect(temp)
    con.execute("PRAGMA journal_mode = WAL")
    with Progress(console=log, transient=True) as progress:
        task = progress.add_task(f"building {customers:,} customers", total=len(BUILD))
        for statement in BUILD:
            con.execute(statement, {"customers": customers, "guides": GUIDES})
            progress.advance(task)
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    temp.rename(path)


def ensure_db(customers: int) -> Path:
    path = db_path(customers)
    if not path.exists():
        started = time.perf_counter()
        build(path, customers)
        log.print(f"built {path.name} in {time.perf_counter() - started:.0f} s")
    return path


def siyu_plan(session: Any) -> Counter[tuple[str, str | None]]:
    from siyu.messaging import planner

    planner.plan(
        session,
        audience(),
        origin="broadcast",
        origin_id=1,
        channels=CHANNELS,
        at=AT,
        holdout_percent=HOLDOUT,
        variants=VARIANTS,
        key_prefix=PREFIX,
    )
    return _written(session)


def audience() -> Any:
    """The segment's current members, as a broadcast to a segment names them."""
    from sqlalchemy import select

    from siyu.segments.models import SegmentMember

    return select(SegmentMember.customer_id).where(
        SegmentMember.segment_id == 1, SegmentMember.exited_at.is_(None)
    )


def _written(session: Any) -> Counter[tuple[str, str | None]]:
    from sqlalchemy import text

    rows = session.execute(
        text(
            "SELECT status, reason, channel, variant, count(*) FROM deliveries "
            "WHERE origin = 'broadcast' AND origin_id = 1 GROUP BY 1, 2, 3, 4"
        )
    )
    return Counter({(s, r, c, v): n for s, r, c, v, n in rows})


def baseline_sql(session: Any) -> str:
    """The same plan written by hand: the zone rows (send time after quiet hours and the
    calendar bounds of each cap, per recipient zone) computed as the product does, then one
    INSERT … SELECT with joins and grouped counts."""
    from siyu.core.settings import get_settings
    from siyu.messaging import arms, clock, plan_sql
    from siyu.messaging.policy import load_policy

    policy = load_policy(session)
    zones = {"": get_settings().zone}
    for name in ("America/New_York", "Europe/Berlin"):
        zones[name] = ZoneInfo(name)
    brand = zones[""]
    rows = []
    for key, zone in zones.items():
        cells = [f"'{key}' AS zkey"]
        for k, channel in enumerate(CHANNELS):
            send_at = clock.opening(AT, zone, policy.window_for(channel))
            cells.append(f"'{_ts(send_at)}' AS send_{k}")
            for cap in policy.caps_for(channel):
                lo, hi = clock.period_bounds(send_at, zone, cap.period)
                name = f"{k}_{cap.channel or 'all'}_{cap.period}"
                cells += [f"'{_ts(lo)}' AS lo_{name}", f"'{_ts(hi)}' AS hi_{name}"]
            for limit in policy.limits_for(channel):
                lo, hi = clock.period_bounds(send_at, brand, limit.period)
                most = limit.max_messages or clock.days_in_month(send_at, brand)
                cells += [
                    f"'{_ts(lo)}' AS plo_{k}",
                    f"'{_ts(hi)}' AS phi_{k}",
                    f"{most} AS pmax_{k}",
                ]
        rows.append("SELECT " + ", ".join(cells))
    zone_sql = " UNION ALL ".join(rows)

    def level(k: int, channel: str) -> str:
        whens = []
        if channel == "wecom":
            whens.append("WHEN r.guide_id IS NULL THEN 1")
        whens.append(f"WHEN r.addr_{k} IS NULL AND r.has_{k} = 0 THEN 1")
        whens.append(f"WHEN r.addr_{k} IS NULL THEN 2")
        if channel in plan_sql.OPT_IN:
            whens.append(f"WHEN r.consent_{k} IS NULL OR r.consent_{k} <> 'subscribed' THEN 3")
        else:
            whens.append(f"WHEN r.consent_{k} = 'unsubscribed' THEN 3")
        for cap in policy.caps_for(channel):
            name = f"{k}_{cap.channel or 'all'}_{cap.period}"
            on_channel = f" AND d.channel = '{channel}'" if cap.channel else ""
            whens.append(
                "WHEN (SELECT count(*) FROM deliveries d WHERE d.customer_id = r.id AND "
                "d.status IN ('planned','sending','pending','sent','delivered') AND "
                f"d.purpose = 'marketing'{on_channel} AND d.send_at >= z.lo_{name} AND "
                f"d.send_at < z.hi_{name}) >= {cap.max_messages} THEN 4"
            )
        for _ in policy.limits_for(channel):
            whens.append(
                "WHEN (SELECT count(*) FROM deliveries d WHERE d.customer_id = r.id AND "
                "d.status IN ('planned','sending','pending','sent','delivered') AND "
                f"d.channel = '{channel}' AND d.send_at >= z.plo_{k} AND d.send_at < z.phi_{k})"
                f" >= z.pmax_{k} THEN 5"
            )
        return f"CASE {' '.join(whens)} ELSE 0 END AS level_{k}"

    def address(k: int, channel: str) -> str:
        kind = plan_sql.ADDRESS_TYPES[channel]
        return (
            f"min(CASE WHEN i.type = '{kind}' AND NOT EXISTS (SELECT 1 FROM suppressions s "
            f"WHERE s.channel = '{channel}' AND s.address = i.value) THEN i.value END) "
            f"AS addr_{k}, max(i.type = '{kind}') AS has_{k}"
        )

    def consent(k: int, channel: str) -> str:
        return (
            f"a.addr_{k}, coalesce(a.has_{k}, 0) AS has_{k}, (SELECT status FROM consents "
            f"WHERE customer_id = c.id AND channel = '{channel}') AS consent_{k}"
        )

    kinds = ", ".join(sorted({f"'{plan_sql.ADDRESS_TYPES[ch]}'" for ch in CHANNELS}))
    names = ", ".join(f"'{z}'" for z in zones if z)
    seed = arms.arm_seed("broadcast", 1)
    cuts = arms.arm_cuts(HOLDOUT, VARIANTS)
    held = cuts[0][1]
    n = len(CHANNELS)
    chosen = "CASE " + " ".join(f"WHEN level_{k} = 0 THEN {k}" for k in range(n)) + " END"
    furthest = "max(" + ", ".join(f"level_{k}" for k in range(n)) + ")"

    def pick(col: str) -> str:
        return "CASE chosen " + " ".join(f"WHEN {k} THEN {col}_{k}" for k in range(n)) + " END"

    channel_of = (
        "CASE chosen "
        + " ".join(f"WHEN {k} THEN '{c}'" for k, c in enumerate(CHANNELS))
        + " ELSE CASE "
        + " ".join(f"WHEN level_{k} = furthest THEN '{c}'" for k, c in enumerate(CHANNELS))
        + " END END"
    )
    arm = "CASE " + " ".join(f"WHEN bucket < {u} THEN '{v}'" for v, u in cuts[1:]) + " END"
    reasons = " ".join(f"WHEN {lvl} THEN '{r}'" for lvl, r in plan_sql.REASONS.items())
    return f"""
    WITH zones AS ({zone_sql}),
    r AS MATERIALIZED (
        SELECT c.id, CASE WHEN json_extract(c.traits, '$.timezone') IN ({names})
                          THEN json_extract(c.traits, '$.timezone') ELSE '' END AS zkey,
               g.id AS guide_id,
               {", ".join(consent(k, ch) for k, ch in enumerate(CHANNELS))}
        FROM customers c LEFT JOIN staff g ON g.id = c.owner_id
             AND g.wecom_userid IS NOT NULL AND g.status = 'active'
        LEFT JOIN (
            SELECT i.customer_id, {", ".join(address(k, ch) for k, ch in enumerate(CHANNELS))}
            FROM identities i
            WHERE i.customer_id IN (SELECT customer_id FROM segment_members
                                    WHERE segment_id = 1 AND exited_at IS NULL)
              AND i.type IN ({kinds})
            GROUP BY i.customer_id) a ON a.customer_id = c.id
        WHERE c.id IN (SELECT customer_id FROM segment_members
                       WHERE segment_id = 1 AND exited_at IS NULL)
          AND c.merged_into_id IS NULL),
    checked AS MATERIALIZED (
        SELECT r.*, {", ".join(f"z.send_{k}" for k in range(n))},
               {", ".join(level(k, ch) for k, ch in enumerate(CHANNELS))},
               ((((r.id + {seed}) % 2147483647 * 48271 + 11) % 2147483647) * 69621)
                   % 2147483647 AS mixed
        FROM r JOIN zones z ON z.zkey = r.zkey),
    decided AS (
        SELECT *, {chosen} AS chosen, {furthest} AS furthest,
               (mixed * mixed + {seed}) % 2147483647 % 10000 AS bucket
        FROM checked)
    INSERT INTO deliveries (key, origin, origin_id, variant, customer_id, channel, purpose,
                            address, guide_id, content, status, reason, send_at, attempts,
                            created_at)
    SELECT '{PREFIX}' || id, 'broadcast', 1,
           CASE WHEN chosen IS NULL THEN NULL WHEN bucket < {held} THEN 'holdout' ELSE {arm} END,
           id, {channel_of}, 'marketing', {pick("addr")},
           CASE WHEN chosen IS NOT NULL AND {channel_of} = 'wecom' THEN guide_id END, '{{}}',
           CASE WHEN chosen IS NULL THEN 'left_out' WHEN bucket < {held} THEN 'held_out'
                ELSE 'planned' END,
           CASE WHEN chosen IS NULL THEN CASE furthest {reasons} END END,
           {pick("send")}, 0, '{_ts(datetime.now(UTC))}'
    FROM decided d0
    WHERE NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.key = '{PREFIX}' || d0.id)
    """


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def main(
    seconds: float = 10.0,
    connections: list[int] | None = None,
    as_json: bool = False,
    customers: int = CUSTOMERS,
) -> dict:
    """`seconds` and `connections` are `siyu bench`'s common options; each side runs twice
    (the best is kept), the preview once."""
    path = ensure_db(customers)
    os.environ["SIYU_DATABASE_URL"] = f"sqlite:///{path}"
    os.environ["SIYU_TIMEZONE"] = "Asia/Shanghai"
    from sqlalchemy import text

    from siyu.core import db
    from siyu.core.settings import reset_settings
    from siyu.messaging import planner

    reset_settings()
    db.dispose_engines()
    with db.session_factory()() as session:
        statement = text(baseline_sql(session))

        def baseline(s: Any) -> Counter[tuple[str, str | None]]:
            s.execute(statement)
            return _written(s)

        with Progress(console=log, transient=True) as progress:
            task = progress.add_task("planning (Siyu, hand-written SQL, preview)", total=5)
            times: dict[str, list[float]] = {"siyu": [], "sql": []}
            answers: dict[str, Any] = {}
            for _ in range(2):  # alternating, so both sides see the same machine
                for name, run in (("siyu", siyu_plan), ("sql", baseline)):
                    started = time.perf_counter()
                    answers[name] = run(session)
                    times[name].append(time.perf_counter() - started)
                    session.rollback()
                    progress.advance(task)
            rows = {name: min(spent) for name, spent in times.items()}
            started = time.perf_counter()
            shown = planner.preview(
                session,
                audience(),
                origin="broadcast",
                origin_id=1,
                channels=CHANNELS,
                at=AT,
                holdout_percent=HOLDOUT,
                variants=VARIANTS,
                key_prefix=PREFIX,
            )
            rows["preview"] = time.perf_counter() - started
            progress.advance(task)
    same = answers["siyu"] == answers["sql"]
    counts = shown.as_dict()
    journey = reach_journey.measure()  # its own database: the journey engine's part
    result = {
        "bench": "reach",
        "customers": customers,
        "recipients": counts["total"],
        "plan_s": round(rows["siyu"], 2),
        "sql_s": round(rows["sql"], 2),
        "ratio": round(rows["siyu"] / rows["sql"], 2),
        "target_ratio": TARGET,
        "preview_s": round(rows["preview"], 2),
        "same_answer": same,
        "counts": counts,
        "journey": journey,
        "machine": machine(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return result
    table = Table(title=f"Planning a broadcast to {customers:,} customers (SQLite, rolled back)")
    for name in ("", "seconds", "vs SQL"):
        table.add_column(name)
    table.add_row("planner.plan (INSERT … SELECT)", f"{rows['siyu']:.2f}", f"{result['ratio']}×")
    table.add_row("hand-written SQL", f"{rows['sql']:.2f}", "1×")
    table.add_row("planner.preview (counts only)", f"{rows['preview']:.2f}", "")
    Console().print(table)
    Console().print(counts, f"same answer: {same}")
    reach_journey.report(journey)
    return result
