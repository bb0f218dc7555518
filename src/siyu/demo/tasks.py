"""The demo's guide tasks (导购任务): a handful over the year, through the tasks service, each
guide doing theirs at their own diligence, so the guides report shows real execution rates.

Each task goes to a share of the customers who had a guide by then (so the work grows with the
brand, not with its events); a diligent guide does nine in ten on time, a lax one four.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.customers.models import Customer
from siyu.demo.stream import Plan
from siyu.staff.models import Staff
from siyu.tasks import events as task_events
from siyu.tasks import service as tasks
from siyu.tasks.models import TaskAssignment

# Share of each guide's assignments they carry out, by their place among the guides.
DILIGENCE = (0.92, 0.45, 0.78, 0.88, 0.4, 0.66, 0.95, 0.55)
DUE_DAYS = 4


@dataclass(frozen=True)
class TaskSpec:
    at: float  # where in the period it is handed out (0 = first day, 1 = last)
    title: str
    kind: str
    share: float  # of the customers with a guide then
    message: str | None = None
    instructions: str = ""


TASKS = (
    TaskSpec(
        0.15,
        "春季新品：给老客发试饮券",
        "message",
        0.05,
        "春季新品上市，送你一张试饮券，到店出示即可。",
    ),
    TaskSpec(0.3, "沉睡客户回访", "follow_up", 0.03, instructions="问问最近为什么没来，记下原因。"),
    TaskSpec(0.45, "618囤茶节预热", "message", 0.06, "618囤茶节：买三送一，限量 20 份，先到先得。"),
    TaskSpec(
        0.6, "邀请高价值客户进 VIP 群", "invite", 0.02, instructions="发群活码，说明群内专属福利。"
    ),
    TaskSpec(0.75, "中秋礼盒预售提醒", "message", 0.05, "中秋礼盒预售开始，老客享 8 折。"),
    TaskSpec(
        0.88, "会员日：一对一跟进", "follow_up", 0.04, instructions="提醒积分将到期，确认优惠券。"
    ),
    # In the last days, still open (due within DUE_DAYS of the end): the guides report's default
    # period (the last 30 days) and the tasks page show work in progress.
    TaskSpec(0.99, "冬季热饮上新提醒", "message", 0.04, "冬季热饮上新，老客第二杯半价。"),
)


def seed_tasks(session: Session, plan: Plan, now: datetime) -> int:
    """Hand out the demo's tasks and do them; returns the events written (assigned, completed)."""
    timeline = plan.timeline(now)
    rng = Random(f"{plan.seed}:tasks")
    diligence = _diligence(session)
    made = 0
    for spec in TASKS:
        day = min(timeline.days - 1, int(timeline.days * spec.at))
        handed = timeline.instant(day, 9 * 3600 + rng.randint(0, 3600))
        if handed >= now:
            continue
        customers = _customers_then(session, handed, spec.share, rng)
        if not customers:
            continue
        task = tasks.create_task(
            session,
            spec.title,
            timeline.date(day + DUE_DAYS),  # the last ones are due after the demo's end
            "demo",
            kind=spec.kind,
            customer_ids=customers,
            instructions=spec.instructions,
            message=spec.message,
            now=handed,
        )
        made += _carry_out(session, task, handed, diligence, rng, now)
        if task_events.due_end(task) < now:
            tasks.close_task(session, task.id)
    return made


def _diligence(session: Session) -> dict[int, float]:
    guides = session.scalars(select(Staff.id).order_by(Staff.id))
    return {guide: DILIGENCE[n % len(DILIGENCE)] for n, guide in enumerate(guides)}


def _customers_then(session: Session, at: datetime, share: float, rng: Random) -> list[int]:
    owned = list(
        session.scalars(
            select(Customer.id)
            .where(
                Customer.owner_id.is_not(None),
                Customer.merged_into_id.is_(None),
                Customer.first_seen_at < at,
            )
            .order_by(Customer.id)  # the sample must not follow the database's row order
        )
    )
    return sorted(rng.sample(owned, round(len(owned) * share)))


def _carry_out(session, task, handed: datetime, diligence, rng: Random, now: datetime) -> int:
    assignments = list(
        session.scalars(
            select(TaskAssignment)
            .where(TaskAssignment.task_id == task.id)
            .order_by(TaskAssignment.id)
        )
    )
    window = (task_events.due_end(task) - handed).total_seconds()
    done = []
    for assignment in assignments:
        if rng.random() < diligence.get(assignment.guide_id, 0.7):
            at = handed + timedelta(seconds=rng.uniform(600, max(601.0, window - 600)))
            if at < now:
                done.append((assignment, at))
    how = task_events.MESSAGE_HOW if task.kind == "message" else "console"
    completed = task_events.complete(session, task, done, how)
    return len(assignments) + len(completed)
