"""The work the job workers do, in one place: every job kind with its handler, and the recurring
schedules (cron, in the brand's time zone) that book jobs.

Nothing registers itself on import: a kind that is enqueued anywhere is listed here, and the
worker (`siyu serve`, `siyu worker`) is handed these two tables. A tick is booked as a job whose
key names the schedule and the minute, so workers in any number of processes run it once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from siyu.broadcasts import service as broadcasts
from siyu.codes import batch as code_batches
from siyu.core import jobs
from siyu.core.db import utcnow
from siyu.core.replay import forget_nonces
from siyu.core.schedule import Schedule
from siyu.core.settings import get_settings
from siyu.core.worker import Worker
from siyu.events import shipper
from siyu.imports import jobs as imports
from siyu.journeys import admission as journey_admission
from siyu.journeys import engine as journeys
from siyu.messaging import dispatch, group_sends
from siyu.promotions import coupon_orders, group_buys, members, tiered
from siyu.promotions import flash as flash_sales
from siyu.segments import jobs as segments
from siyu.staff import handover
from siyu.tags import jobs as tags
from siyu.wechat import inbox as wechat_inbox
from siyu.wechat import jobs as wechat
from siyu.wecom import jobs as wecom


def refresh_due_segments(session: Session, payload: dict) -> None:
    """Ask for a refresh of each segment whose own schedule (hourly, daily) has come."""
    segments.enqueue_due(session)


def prune_outbox(session: Session, payload: dict) -> None:
    """Forget outbox rows shipped longer ago than the retention."""
    shipper.prune_outbox(session)


def prune_jobs(session: Session, payload: dict) -> None:
    """Forget finished clock jobs after a week, and callback nonces past their window."""
    jobs.prune_done(session, CLOCK_KINDS)
    forget_nonces(session)


HANDLERS: dict[str, jobs.Handler] = {
    broadcasts.SEND_KIND: broadcasts.run_send,
    broadcasts.FINISH_KIND: broadcasts.run_finish,
    "codes.batch": code_batches.archive_job,
    "imports.check": imports.check_upload,
    "imports.run": imports.run_upload,
    "journeys.step": journeys.run_step,
    journey_admission.ADMIT_JOB: journey_admission.admit,
    "segments.refresh": segments.run_refresh,
    "segments.due": refresh_due_segments,
    "staff.retry_handovers": handover.retry_job,
    "tags.evaluate": tags.run_evaluate,
    "tags.hourly": tags.run_hourly_evaluate,
    "tags.bulk": tags.run_bulk,
    wechat_inbox.JOB_KIND: wechat.process_callback,
    wecom.CALLBACK_KIND: wecom.process_callback,
    wecom.SYNC_KIND: wecom.run_sync,
    wecom.TRANSFERS_KIND: wecom.run_transfers,
    wecom.TAGS_KIND: wecom.run_tag_push,
    "events.prune_outbox": prune_outbox,
    "jobs.prune": prune_jobs,
    dispatch.KIND: dispatch.dispatch_due,
    group_sends.JOB_KIND: group_sends.run_check,
    flash_sales.LAPSE_KIND: flash_sales.lapse_job,
    group_buys.DEADLINES_KIND: group_buys.deadlines_job,
    tiered.CLOSE_KIND: tiered.close_job,
    coupon_orders.EXPIRY_KIND: coupon_orders.expiry_job,
    members.STEP_DOWN_KIND: members.step_down_job,
}

# Each tick is read in the brand's time zone; what each kind does is its handler's docstring.
SCHEDULES: tuple[Schedule, ...] = (
    Schedule("wecom-tag-push", "* * * * *", wecom.TAGS_KIND, "push tag changes to WeCom"),
    Schedule("segment-refresh", "* * * * *", "segments.due", "refresh segments that are due"),
    Schedule(
        "journey-admit", "* * * * *", journey_admission.ADMIT_JOB, "let customers into journeys"
    ),
    Schedule("auto-tags", "5 * * * *", "tags.hourly", "re-evaluate auto-tags"),
    Schedule("wecom-transfers", "*/30 * * * *", wecom.TRANSFERS_KIND, "ask WeCom for handovers"),
    Schedule("wecom-sync", "30 3 * * *", wecom.SYNC_KIND, "re-sync WeCom contacts"),
    Schedule("outbox-prune", "40 4 * * *", "events.prune_outbox", "forget old shipped outbox"),
    Schedule("jobs-prune", "17 * * * *", "jobs.prune", "forget old clock jobs and nonces"),
    Schedule("messaging-dispatch", "* * * * *", dispatch.KIND, "send the messages that are due"),
    Schedule(
        "broadcasts-finish",
        "* * * * *",
        broadcasts.FINISH_KIND,
        "mark sent the broadcasts with nothing left waiting",
    ),
    Schedule(
        "wecom-group-sends",
        "*/10 * * * *",
        group_sends.JOB_KIND,
        "follow up WeCom 群发 with guides",
    ),
    Schedule(
        "flash-sale-lapse",
        "* * * * *",
        flash_sales.LAPSE_KIND,
        "lapse flash-sale holds that ran out; their units to the waiting lists",
    ),
    Schedule(
        "group-buy-deadlines",
        "* * * * *",
        group_buys.DEADLINES_KIND,
        "close groups past their deadline: robot-filled, or failed and refunded",
    ),
    Schedule(
        "tiered-close",
        "* * * * *",
        tiered.CLOSE_KIND,
        "close tiered prices past their end; refund each the difference to the final price",
    ),
    Schedule(
        "coupon-expiry",
        "*/15 * * * *",
        coupon_orders.EXPIRY_KIND,
        "expire coupons past their end; remind of those ending within three days",
    ),
    Schedule(
        "member-tiers",
        "20 2 * * *",
        members.STEP_DOWN_KIND,
        "step members down whose spend or orders slid out of the tiers' window",
    ),
)

# Kinds booked by a clock (a schedule, or a key naming a minute): never booked again once done,
# so their finished jobs are pruned after a week.
CLOCK_KINDS = frozenset(s.kind for s in SCHEDULES) | {"tags.evaluate"}


def schedule_status(session: Session, now: datetime | None = None) -> list[dict]:
    """Each schedule with its cron expression, its next tick (brand time) and its last booked
    tick's job status (None before its first tick)."""
    now, zone = now or utcnow(), get_settings().zone
    rows = []
    for schedule in SCHEDULES:
        last = session.scalar(
            select(jobs.Job)
            .where(jobs.Job.key.like(f"schedule:{schedule.name}:%"))
            .order_by(jobs.Job.run_at.desc())
            .limit(1)
        )
        rows.append(
            {
                "name": schedule.name,
                "cron": schedule.cron,
                "kind": schedule.kind,
                "summary": schedule.summary,
                "next_run": schedule.next_tick(now, zone).astimezone(zone).isoformat(),
                "last_run": last.run_at.astimezone(zone).isoformat() if last else None,
                "last_status": last.status if last else None,
            }
        )
    return rows


def worker(idle_seconds: float = 1.0) -> Worker:
    """A worker that runs every kind above and books the schedules' ticks."""
    return Worker(HANDLERS, SCHEDULES, idle_seconds=idle_seconds)


def run_one(factory: sessionmaker | None = None) -> bool:
    """Run one due job with these handlers; False when none is due (tests, `siyu lake flush`)."""
    return jobs.run_one(HANDLERS, factory)
