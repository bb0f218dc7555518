"""WeCom outbound work: contact ways for channel codes, customer transfers and their results,
and the status the settings page shows."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from siyu.codes.models import ChannelCode, CodeGuide
from siyu.codes.service import find_code
from siyu.core.db import utcnow
from siyu.core.errors import InvalidInput, NotFound
from siyu.core.i18n import N_
from siyu.core.jobs import Job
from siyu.core.settings import get_settings
from siyu.customers.models import Customer
from siyu.staff.handover import pending_moves, record_transfer_result
from siyu.staff.models import HandoverMove, Staff
from siyu.wecom.client import WecomClient, get_client
from siyu.wecom.inbox import JOB_KIND, job_key
from siyu.wecom.models import ContactWay, LossAlert, SyncRun, WecomCallback

TRANSFER_BATCH = 100  # WeCom takes at most 100 external_userids per transfer call
SENT = "sent to WeCom"


def create_contact_way(
    session: Session, code: str, client: WecomClient | None = None
) -> ContactWay:
    """A 联系我 QR code whose `state` is the channel code, for the code's guides; the code's
    target becomes its URL when the code has none yet. Made once per code."""
    channel = find_code(session, code)
    if channel is None:
        raise NotFound(f"no channel code {code!r}", field="code")
    existing = session.scalar(select(ContactWay).where(ContactWay.code == code))
    if existing is not None:
        return existing
    userids = _guide_userids(session, channel)
    if not userids:
        raise InvalidInput(N_("the code routes to no guide with a WeCom UserID"), field="code")
    client = client or get_client()
    answer = client.external_contact.add_contact_way(
        type=1 if len(userids) == 1 else 2,
        scene=2,
        remark=channel.name[:30],
        state=code,
        user=userids,
    )
    way = ContactWay(
        code=code, config_id=answer["config_id"], qr_code=answer["qr_code"], userids=userids
    )
    session.add(way)
    if channel.target_kind == "wecom_contact_way" and not channel.target:
        channel.target = answer["qr_code"]
    session.flush()
    return way


def _guide_userids(session: Session, channel: ChannelCode) -> list[str]:
    staff_ids = set(
        session.scalars(select(CodeGuide.staff_id).where(CodeGuide.code_id == channel.id))
    )
    if channel.staff_id:
        staff_ids.add(channel.staff_id)
    rows = session.scalars(
        select(Staff.wecom_userid)
        .where(Staff.id.in_(staff_ids), Staff.wecom_userid.is_not(None))
        .order_by(Staff.wecom_userid)
    )
    return [userid for userid in rows if userid is not None]


def push_transfers(session: Session, client: WecomClient | None = None) -> int:
    """Ask WeCom to hand over every pending move's customer (在职继承, or 离职继承 when the
    guide has left); returns how many customers were asked for. WeCom answers later."""
    client = client or get_client()
    groups: dict[tuple[str, str, bool], list[HandoverMove]] = defaultdict(list)
    for move, source, target in _pending_pairs(session):
        handover, takeover = source.wecom_userid, target.wecom_userid
        if handover and takeover and not (move.detail or "").startswith(SENT):
            groups[handover, takeover, source.status == "left"].append(move)
    asked = 0
    for (handover, takeover, has_left), moves in groups.items():
        send = (
            client.extras.resigned_transfer_customer
            if has_left
            else client.extras.transfer_customer
        )
        for start in range(0, len(moves), TRANSFER_BATCH):
            batch = moves[start : start + TRANSFER_BATCH]
            answer = send(
                handover, takeover, [m.external_userid for m in batch if m.external_userid]
            )
            for move in batch:  # sent once: a move asked for again would be refused
                move.detail = f"{SENT} {utcnow().isoformat(timespec='seconds')}"
            for row in answer.get("customer", []):
                if int(row.get("errcode", 0)) != 0:
                    record_transfer_result(session, row["external_userid"], takeover, "failed")
            asked += len(batch)
    session.flush()
    return asked


def transfers_waiting(session: Session) -> int:
    """Pending moves of customers WeCom must hand over (sent or not yet)."""
    return len(_pending_pairs(session))


def poll_transfers(session: Session, client: WecomClient | None = None) -> int:
    """Apply WeCom's transfer results to pending moves; returns how many were settled."""
    client = client or get_client()
    pairs = {
        (s.wecom_userid, t.wecom_userid)
        for _, s, t in _pending_pairs(session)
        if s.wecom_userid and t.wecom_userid
    }
    settled = 0
    for handover, takeover in sorted(pairs):
        cursor = ""
        while True:
            answer = client.extras.transfer_result(handover, takeover, cursor)
            for row in answer.get("customer", []):
                move = record_transfer_result(
                    session, row["external_userid"], takeover, int(row["status"])
                )
                settled += move is not None and move.status != "pending"
            cursor = answer.get("next_cursor") or ""
            if not cursor:
                break
    return settled


def _pending_pairs(session: Session) -> list[tuple[HandoverMove, Staff, Staff]]:
    """Pending moves of a customer with an external id between two staff with WeCom UserIDs."""
    moves = [m for m in pending_moves(session) if m.external_userid]
    staff_ids = {m.from_staff_id for m in moves} | {m.to_staff_id for m in moves}
    staff = {s.id: s for s in session.scalars(select(Staff).where(Staff.id.in_(staff_ids)))}
    return [
        (m, staff[m.from_staff_id], staff[m.to_staff_id])
        for m in moves
        if m.from_staff_id is not None  # an assignment by hand moves no WeCom contact
        and staff[m.from_staff_id].wecom_userid
        and staff[m.to_staff_id].wecom_userid
    ]


# -- status -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Configuration:
    has_callback: bool
    has_api: bool
    corp_id: str
    api_base: str
    has_official_account: bool


def configuration() -> Configuration:
    s = get_settings()
    return Configuration(
        has_callback=bool(s.wecom_token and s.wecom_aes_key and s.wecom_corp_id),
        has_api=bool(s.wecom_corp_id and s.wecom_secret),
        corp_id=s.wecom_corp_id,
        api_base=s.wecom_api_base,
        has_official_account=bool(s.wechat_app_id and s.wechat_token),
    )


@dataclass(frozen=True)
class AlertRow:
    alert: LossAlert
    customer_name: str | None
    owner: str | None
    manager: str | None


def loss_alerts(session: Session, staff_id: int | None = None, limit: int = 50) -> list[AlertRow]:
    """The latest losses, newest first; for a guide, only their own."""
    owner, manager = aliased(Staff), aliased(Staff)
    query = (
        select(LossAlert, Customer.traits, owner.name, manager.name)
        .outerjoin(Customer, Customer.id == LossAlert.customer_id)
        .outerjoin(owner, owner.id == LossAlert.staff_id)
        .outerjoin(manager, manager.id == LossAlert.manager_id)
        .order_by(LossAlert.id.desc())
        .limit(limit)
    )
    if staff_id is not None:
        query = query.where((LossAlert.staff_id == staff_id) | (LossAlert.manager_id == staff_id))
    return [
        AlertRow(alert, (traits or {}).get("name"), owner_name, manager_name)
        for alert, traits, owner_name, manager_name in session.execute(query)
    ]


def sync_is_waiting(session: Session) -> bool:
    """A sync job queued or running (the card keeps polling until it shows a run)."""
    query = select(Job.id).where(Job.kind == "wecom.sync", Job.status.in_(("queued", "running")))
    return session.scalar(query.limit(1)) is not None


def latest_sync(session: Session) -> SyncRun | None:
    return session.scalar(select(SyncRun).order_by(SyncRun.id.desc()).limit(1))


def callback_counts(session: Session) -> dict[str, int]:
    """Callbacks done and waiting; `failed`: those whose job gave up (the page shows why)."""
    rows = session.execute(
        select(WecomCallback.status, func.count()).group_by(WecomCallback.status)
    )
    counts = dict(rows.all())
    failed = select(func.count()).where(Job.kind == JOB_KIND, Job.status == "failed")
    counts["failed"] = session.scalar(failed) or 0
    counts["queued"] = max(0, counts.get("queued", 0) - counts["failed"])
    return counts


def callback_problems(session: Session, callbacks: list[WecomCallback]) -> dict[int, Job]:
    """The jobs of these callbacks that failed at least once (retrying, or given up)."""
    keys = {job_key(c): c.id for c in callbacks if c.status != "done"}
    if not keys:
        return {}
    jobs = session.scalars(select(Job).where(Job.key.in_(keys), Job.last_error.is_not(None)))
    return {keys[job.key]: job for job in jobs}
