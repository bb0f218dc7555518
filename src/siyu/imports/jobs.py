"""Console imports: an upload kept on disk, its mapping, and its check and run as durable jobs.

An upload is stored as `uploads/<id>/<file name>` beside the lake's folder (`$SIYU_LAKE/../uploads`
when the lake is a local folder, else `./data/uploads`), so the job that imports it later, and any
run after a crash, reads the same bytes; the rejected rows land beside it. Its record (kind, who,
mapping, status, progress, the check's and the run's summaries) is its row in `imports`.
While a job runs, its progress is committed there in short transactions of its own (at most twice
a second), which the page polls.
"""

from __future__ import annotations

import csv
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal

import orjson
from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.core import jobs
from siyu.core.db import commit_progress, session_factory, unit_of_work, utcnow
from siyu.core.errors import Conflict, InvalidInput, NotFound, SiyuError
from siyu.core.i18n import N_
from siyu.core.settings import get_settings
from siyu.imports.cells import text
from siyu.imports.mapping import (
    CUSTOMER_FIELDS,
    CUSTOMER_ID_TYPES,
    CUSTOMER_IDENTITIES,
    ORDER_FIELDS,
    Kind,
    Mapping,
)
from siyu.imports.models import ImportRow
from siyu.imports.readers import LINES_SUFFIXES, TABLE_SUFFIXES, open_lines, open_table
from siyu.imports.rejected import REASON, ROW
from siyu.imports.service import ImportRequest, ImportSummary, Progress, run_import

KINDS: tuple[Kind, ...] = ("customers", "orders", "events")
FIELDS: dict[str, dict[str, bool]] = {
    "orders": ORDER_FIELDS,
    "customers": CUSTOMER_FIELDS,
    "events": {},
}
Status = Literal["uploaded", "checking", "checked", "importing", "done", "stopped", "failed"]
RUNNING = ("checking", "importing")
PREVIEW_ROWS = 10
SHOWN_BAD_ROWS = 50
PAST_IMPORTS = 50
PROGRESS_EVERY = 0.5  # seconds between two progress commits
EVENT_COLUMNS = ["type", "event", "userId", "anonymousId", "timestamp"]
_ID = re.compile(r"\d{14}-[0-9a-f]{6}")
_UNSAFE = re.compile(r'[\x00-\x1f/\\:*?"<>|]')

# Headers that name a field in common exports (有赞 Youzan, 淘宝/千牛 Taobao, POS), best first;
# a field is also found under its own name.
ORDER_HEADERS = {
    "order_id": ("订单编号", "订单号", "主订单编号", "订单id", "外部订单号"),
    "customer_id": (
        *("user_id", "买家手机号", "联系手机", "收货人手机号", "会员手机号", "手机号"),
        *("客户id", "会员号", "会员卡号"),
    ),
    "paid_at": ("付款时间", "订单付款时间", "支付时间", "成交时间", "下单时间"),
    "amount": ("实付金额", "买家实际支付金额", "实收金额", "支付金额", "订单实付金额", "订单金额"),
    "refunded_at": ("退款时间", "退款完成时间"),
    "refund_amount": ("退款金额", "退款金额(元)"),
    "product": ("商品名称", "宝贝标题", "商品标题", "商品"),
    "category": ("商品分类", "商品类目", "类目"),
    "store": ("门店", "门店名称", "所属门店", "下单门店"),
    "touchpoint": ("渠道", "来源渠道", "触点"),
    "currency": ("币种",),
}
CUSTOMER_HEADERS = {
    "user_id": ("用户id", "客户id", "客户编号"),
    "member_id": ("会员号", "会员编号", "会员卡号", "会员id"),
    "wechat_unionid": ("unionid",),
    "phone": ("mobile", "手机号", "手机号码", "手机", "会员手机号", "联系手机", "联系电话"),
    "email": ("邮箱", "电子邮箱"),
    "wecom_external_userid": ("external_userid", "外部联系人id"),
    "wechat_openid": ("openid",),
    "name": ("姓名", "客户姓名", "会员姓名", "昵称"),
    "created_at": ("注册时间", "入会时间", "成为会员时间", "创建时间"),
}
HEADERS = {"orders": ORDER_HEADERS, "customers": CUSTOMER_HEADERS}
# Words in the customer column's header that say what kind of id it holds.
ID_TYPE_HINTS = {"手机": "phone", "phone": "phone", "mobile": "phone", "电话": "phone"}
ID_TYPE_HINTS |= {"邮箱": "email", "email": "email", "unionid": "wechat_unionid"}
ID_TYPE_HINTS |= {"openid": "wechat_openid", "会员": "member_id", "member": "member_id"}
# Order states that mean "not paid" in Youzan and Taobao exports: such rows are passed over.
STATUS_COLUMNS = ("订单状态", "交易状态")
UNPAID_STATES = ["待付款", "已关闭", "等待买家付款", "交易关闭"]


class ImportRecord(BaseModel):
    """One upload and what became of it, kept as its row in `imports` (ImportRow)."""

    id: str
    kind: Kind
    file: str
    size: int = 0
    by: str
    created_at: datetime
    status: Status = "uploaded"
    rows_estimate: int | None = None
    header: list[str] = []
    first_rows: list[tuple[int, list[str]]] = []  # the preview, kept so pages never reread
    columns: dict[str, str] = {}
    customer_id_type: str = "auto"
    skip: dict[str, list[str]] = {}
    ignore: list[str] = []
    skip_bad: bool = False
    attempt: int = 0
    job_key: str | None = None
    stage: str | None = None
    done: int = 0
    total: int | None = None
    check: dict | None = None  # the check's ImportSummary.to_dict()
    summary: dict | None = None  # the run's
    error: str | None = None
    finished_at: datetime | None = None

    @property
    def path(self) -> Path:
        return uploads_folder() / self.id / self.file

    @property
    def rejected_path(self) -> Path:
        suffix = ".jsonl" if self.kind == "events" else ".csv"
        return self.path.with_name(f"{self.path.stem}.rejected{suffix}")

    @property
    def latest(self) -> dict | None:
        """The summary the page shows: the run's once it ran, else the check's."""
        return self.summary if self.status in ("done", "stopped") else self.check

    @property
    def is_running(self) -> bool:
        return self.status in RUNNING

    @property
    def preview(self) -> Preview:
        return Preview(self.header, self.first_rows)


@dataclass(frozen=True)
class Preview:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (row number as a spreadsheet shows it, cells as text)

    def samples(self) -> dict[str, str]:
        """Each column's first non-blank value, shown beside the field it feeds."""
        found: dict[str, str] = {}
        for _, cells in self.rows:
            for column, value in zip(self.header, cells, strict=False):
                if value and column not in found:
                    found[column] = value
        return found


@dataclass
class MappingChoice:
    """What the mapping form sends: a column per field, and how to read the customer column."""

    columns: dict[str, str] = field(default_factory=dict)
    customer_id_type: str = "auto"
    skip_column: str = ""
    skip_values: str = ""
    ignore: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BadRow:
    row: int
    column: str | None
    reason: str


# --- storing an upload ----------------------------------------------------------------------


def uploads_folder() -> Path:
    """Beside the lake's folder when the lake is local; else ./data/uploads."""
    lake = get_settings().lake
    if "://" in lake and not lake.startswith("file://"):
        return Path("data", "uploads").resolve()
    return Path(lake.removeprefix("file://")).expanduser().resolve().parent / "uploads"


def store_upload(
    session: Session, kind: str, name: str, stream: BinaryIO | None, by: str
) -> ImportRecord:
    """Keep the file, read its first rows and guess the mapping; a bad file keeps nothing."""
    if kind not in KINDS:
        raise InvalidInput(
            N_("choose what the file holds: customers, orders or events"), field="kind"
        )
    file = safe_name(name)
    if stream is None or not file:
        raise InvalidInput(N_("choose a file to upload"), field="file")
    _check_suffix(kind, file)
    record = ImportRecord(id=_new_id(), kind=kind, file=file, by=by, created_at=utcnow())
    record.path.parent.mkdir(parents=True)
    try:
        record.size = _copy(stream, record.path)
        preview = read_preview(record)
        record.header, record.first_rows = preview.header, preview.rows
        record.rows_estimate = _estimate_rows(record)
        guess_mapping(record, preview.header)
        save(session, record)
    except BaseException:
        shutil.rmtree(record.path.parent, ignore_errors=True)
        raise
    return record


def safe_name(name: str) -> str:
    """The file's own name without folders or characters a file system refuses."""
    base = _UNSAFE.sub("_", Path(name.replace("\\", "/")).name).strip().lstrip(".")
    if len(base) > 120:
        suffix = Path(base).suffix[:10]
        base = base[: 120 - len(suffix)] + suffix
    return base


def _check_suffix(kind: str, file: str) -> None:
    suffix = Path(file).suffix.lower()
    if kind == "events" and suffix not in LINES_SUFFIXES:
        raise InvalidInput(
            N_("events come as a .jsonl file: one JSON message a line"), field="file"
        )
    if kind != "events" and suffix not in TABLE_SUFFIXES:
        raise InvalidInput(N_("customers and orders come as a .csv or .xlsx file"), field="file")


def _new_id() -> str:
    return f"{utcnow():%Y%m%d%H%M%S}-{secrets.token_hex(3)}"


def _copy(stream: BinaryIO, path: Path) -> int:
    with path.open("wb") as handle:
        shutil.copyfileobj(stream, handle, 1 << 20)
    size = path.stat().st_size
    if size == 0:
        raise InvalidInput(N_("the file is empty"), field="file")
    return size


def _estimate_rows(record: ImportRecord) -> int | None:
    """Lines after the header, for the progress bar; XLSX is counted when it is checked."""
    if record.path.suffix.lower() == ".xlsx":
        return None
    lines, last = 0, b"\n"
    with record.path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    lines += last != b"\n"
    return max(lines - (record.kind != "events"), 0)


# --- the preview and the mapping ------------------------------------------------------------


def read_preview(record: ImportRecord) -> Preview:
    """The header and the first rows; an unreadable or empty file is an error naming the file."""
    try:
        preview = _events_preview(record) if record.kind == "events" else _table_preview(record)
    except SiyuError:
        raise
    except Exception:  # a damaged XLSX, a CSV that is not text: openpyxl and csv raise many kinds
        raise InvalidInput(
            N_("the file cannot be read; is it really this kind?"), field="file"
        ) from None
    if not preview.rows:
        raise InvalidInput(N_("the file has no rows to import"), field="file")
    return preview


def _table_preview(record: ImportRecord) -> Preview:
    with open_table(record.path) as table:
        rows = []
        for row in table.rows:
            rows.append((row.number, [_shown(text(row.cells.get(c))) for c in table.header]))
            if len(rows) == PREVIEW_ROWS:
                break
        return Preview(table.header, rows)


def _events_preview(record: ImportRecord) -> Preview:
    rows = []
    for number, line in open_lines(record.path):
        try:
            message = orjson.loads(line)
        except orjson.JSONDecodeError:
            message = None
        rows.append((number, _event_cells(message) if isinstance(message, dict) else [line]))
        if len(rows) == PREVIEW_ROWS:
            break
    return Preview(EVENT_COLUMNS, rows)


def _event_cells(message: dict) -> list[str]:
    named = {**message, "event": message.get("event") or message.get("name")}  # a page's name
    return [_shown(named.get(column)) for column in EVENT_COLUMNS]


def _shown(value: object) -> str:
    return "" if value is None else str(value)[:80]


def guess_mapping(record: ImportRecord, header: list[str]) -> None:
    """Pre-fill the mapping from the header: canonical names, and what Youzan and Taobao write."""
    if record.kind == "events":
        return
    record.columns = guess_columns(record.kind, header)
    if record.kind == "orders":
        record.customer_id_type = guess_id_type(record.columns.get("customer_id"))
        status = next((c for c in STATUS_COLUMNS if c in header), None)
        record.skip = {status: UNPAID_STATES} if status else {}


def guess_columns(kind: str, header: list[str]) -> dict[str, str]:
    by_name = {_folded(c): c for c in header if c}
    guessed: dict[str, str] = {}
    for wanted in FIELDS[kind]:
        for name in (wanted, *HEADERS[kind].get(wanted, ())):
            column = by_name.get(_folded(name))
            if column and column not in guessed.values():
                guessed[wanted] = column
                break
    return guessed


def guess_id_type(column: str | None) -> str:
    folded = _folded(column or "")
    return next((kind for hint, kind in ID_TYPE_HINTS.items() if hint in folded), "auto")


def _folded(name: str) -> str:
    return re.sub(r"\s+", "", name).lower()


def choose_mapping(record: ImportRecord, choice: MappingChoice) -> None:
    """Take the form's mapping; a required field without a column is refused, naming it."""
    fields, header = FIELDS[record.kind], record.header
    chosen = {f: c for f, c in choice.columns.items() if f in fields and c}
    for wanted, column in chosen.items():
        if column not in header:
            raise InvalidInput(N_("the file has no such column"), field=wanted)
    for wanted, required in fields.items():
        if required and wanted not in chosen:
            raise InvalidInput(N_("choose the file's column for this field"), field=wanted)
    if record.kind == "customers" and not set(chosen) & set(CUSTOMER_IDENTITIES):
        raise InvalidInput(N_("choose a column for at least one identity"), field="identity")
    if choice.customer_id_type not in CUSTOMER_ID_TYPES:
        raise InvalidInput(N_("choose how the customer column is read"), field="customer_id_type")
    record.columns, record.customer_id_type = chosen, choice.customer_id_type
    record.skip = _skip_rule(header, choice)
    record.ignore = [c for c in choice.ignore if c in header]


def _skip_rule(header: list[str], choice: MappingChoice) -> dict[str, list[str]]:
    values = [v.strip() for v in re.split(r"[,，、\n]", choice.skip_values) if v.strip()]
    if not choice.skip_column or not values:
        return {}
    if choice.skip_column not in header:
        raise InvalidInput(N_("the file has no such column"), field="skip")
    return {choice.skip_column: values}


# --- records --------------------------------------------------------------------------------


# The record's fields that its row names otherwise; every other field is a column of its name.
ROW_NAMES = {
    "by": "uploaded_by",
    "ignore": "ignored_columns",
    "check": "check_summary",
    "summary": "run_summary",
}


def save(session: Session, record: ImportRecord) -> None:
    values = record.model_dump(mode="json")
    values |= {"created_at": record.created_at, "finished_at": record.finished_at}
    row = session.get(ImportRow, record.id) or ImportRow(id=record.id)
    for name, value in values.items():
        setattr(row, ROW_NAMES.get(name, name), value)
    session.add(row)
    session.flush()


def load(session: Session, import_id: str) -> ImportRecord:
    row = session.get(ImportRow, import_id) if _ID.fullmatch(import_id) else None
    if row is None:
        raise NotFound(N_("no such import"), field="import_id")
    return _record(row)


def _record(row: ImportRow) -> ImportRecord:
    fields = ImportRecord.model_fields
    return ImportRecord.model_validate({f: getattr(row, ROW_NAMES.get(f, f)) for f in fields})


def current(session: Session, import_id: str) -> ImportRecord:
    """The record as the page shows it: a running one whose job gave up shows as failed."""
    record = load(session, import_id)
    if record.is_running and record.job_key:
        job = session.scalar(select(jobs.Job).where(jobs.Job.key == record.job_key))
        if job is not None and job.status == "failed":
            record.status, record.error = "failed", N_("the job failed several times and stopped")
        elif job is not None and job.attempts and job.last_error:
            record.error = N_("an attempt failed; it is tried again shortly")
    return record


def past_imports(session: Session, limit: int = PAST_IMPORTS) -> list[ImportRecord]:
    """The newest imports first (an id starts with its upload time)."""
    rows = session.scalars(select(ImportRow).order_by(ImportRow.id.desc()).limit(limit))
    return [_record(row) for row in rows]


def bad_rows(record: ImportRecord, limit: int = SHOWN_BAD_ROWS) -> list[BadRow]:
    """The first rejected rows (row, column, reason), read back from the rejected file."""
    latest = record.latest or {}
    if not latest.get("rejected") or not record.rejected_path.is_file():
        return []
    with record.rejected_path.open(encoding="utf-8-sig", newline="") as handle:
        found: Iterator[Any]
        if record.kind == "events":
            found = (orjson.loads(line) for line in handle if line.strip())
        else:
            found = csv.DictReader(handle)
        firsts = zip(range(limit), found, strict=False)
        return [_bad_row(item, record.header) for _, item in firsts]


def _bad_row(item: dict, header: list[str]) -> BadRow:
    reason = str(item.get(REASON) or "")
    known = sorted((c for c in header if c), key=len, reverse=True)
    column = next((c for c in known if reason.startswith(f"{c}: ")), None)
    if column is None and re.match(r"[A-Za-z_][\w.]*: ", reason):
        column = reason.split(": ", 1)[0]  # an event's field, such as userId
    if column:
        reason = reason[len(column) + 2 :]
    return BadRow(int(item.get(ROW) or 0), column, reason)


# --- the check and the run as jobs ----------------------------------------------------------


def start_check(session: Session, record: ImportRecord, choice: MappingChoice) -> None:
    """Take the mapping and queue the first pass alone: every row checked, nothing written."""
    _may_start(record)
    if record.kind != "events":
        choose_mapping(record, choice)
    _enqueue(session, record, "imports.check", "checking")


def start_run(session: Session, record: ImportRecord, skip_bad: bool) -> None:
    """Queue the import itself: all or nothing, or the good rows with the bad ones set aside."""
    _may_start(record)
    if record.check is None:
        raise InvalidInput(N_("check the file before importing it"), field="check")
    record.skip_bad = skip_bad
    _enqueue(session, record, "imports.run", "importing")


def _may_start(record: ImportRecord) -> None:
    if record.is_running:
        raise Conflict(N_("this file is being checked or imported already; wait for it"))
    if record.status == "done":
        raise Conflict(N_("this file was imported already; upload it again to import it again"))


def _enqueue(session: Session, record: ImportRecord, kind: str, status: Status) -> None:
    record.attempt += 1
    record.job_key = f"{kind}:{record.id}:{record.attempt}"
    record.status, record.stage, record.done, record.error = status, None, 0, None
    record.total = (record.check or {}).get("rows") or record.rows_estimate
    jobs.enqueue(session, kind, record.job_key, {"import_id": record.id})
    save(session, record)


def check_upload(session: Session, payload: dict) -> None:
    """The check step: the import's first pass; the bad rows go to the rejected file."""
    _run(session, payload["import_id"], check_only=True)


def run_upload(session: Session, payload: dict) -> None:
    """The import: a retried job writes nothing twice (every message has a fixed messageId)."""
    _run(session, payload["import_id"], check_only=False)


def _run(session: Session, import_id: str, check_only: bool) -> None:
    # Read and report in sessions of their own: the job's session writes only the outcome, with
    # the job's own completion, and holds no transaction open while the import writes.
    with unit_of_work() as reading:
        record = load(reading, import_id)
    record.rejected_path.unlink(missing_ok=True)
    request = import_request(record, check_only)
    try:
        summary = run_import(request, _reporter(import_id, record.total))
    except SiyuError as error:
        _finish(session, import_id, "failed", error=error.message)
        return
    if check_only:
        _finish(session, import_id, "checked", check=summary)
    else:
        _finish(session, import_id, "stopped" if summary.stopped else "done", summary=summary)


def import_request(record: ImportRecord, check_only: bool = False) -> ImportRequest:
    mapping = Mapping(
        kind=record.kind,
        columns=record.columns,
        customer_id_type=record.customer_id_type if record.kind == "orders" else "auto",
        skip=record.skip,
        ignore=record.ignore,
    )
    return ImportRequest(
        record.kind,
        record.path,
        mapping,
        skip_bad=record.skip_bad,
        proceed=(lambda _: False) if check_only else None,
    )


def _reporter(import_id: str, expected: int | None) -> Progress:
    last = [0.0]

    def report(stage: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY:
            return
        last[0] = now
        with session_factory()() as session:
            record = load(session, import_id)
            record.stage, record.done, record.total = stage, done, total or expected
            save(session, record)
            _keep_lease(session, record.job_key)
            commit_progress(session, f"the import's {stage} at {done} rows")

    return report


def _keep_lease(session: Session, job_key: str | None) -> None:
    """A long import outlives the job's lease; while it reports progress, no worker retakes it."""
    session.execute(
        update(jobs.Job)
        .where(jobs.Job.key == job_key, jobs.Job.status == "running")
        .values(lease_until=utcnow() + jobs.LEASE)
    )


def _finish(
    session: Session,
    import_id: str,
    status: Status,
    check: ImportSummary | None = None,
    summary: ImportSummary | None = None,
    error: str | None = None,
) -> None:
    record = load(session, import_id)
    record.status, record.stage, record.error, record.finished_at = status, None, error, utcnow()
    if check is not None:
        record.check, record.summary = check.to_dict(), None
    if summary is not None:
        record.summary = summary.to_dict()
    save(session, record)
