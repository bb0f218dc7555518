"""One-item-one-code (一物一码): thousands of codes at once, and a ZIP of their images.

A batch is created in one transaction (its record and every code, all on one product-item
touchpoint, each code `PREFIX-00001-3fa2c1`: numbered for the printer, with a random tail so
nobody can guess a neighbour's code). The ZIP (png/, svg/ and codes.csv) is written by
`write_archive`, from the CLI with a progress bar or as the `codes.batch` job for the console,
committing its progress every few hundred codes for the page to poll.
"""

from __future__ import annotations

import io
import re
import secrets
import zipfile
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from siyu.codes.models import ChannelCode, CodeBatch
from siyu.codes.qr import qr_both
from siyu.codes.service import _touchpoint_for, check_target, landing_url
from siyu.core import csvsafe, jobs
from siyu.core.db import commit_progress, session_factory, unit_of_work, utcnow
from siyu.core.errors import Conflict, InvalidInput
from siyu.core.settings import get_settings

MAX_CODES = 100_000
PREFIX = re.compile(r"^[A-Za-z0-9_]{1,20}$")
PROGRESS_EVERY = 250
Progress = Callable[[int, int], None]


def create_batch(
    session: Session,
    name: str,
    prefix: str,
    count: int,
    *,
    touchpoint: str | None = None,
    target_kind: str = "url",
    target: str = "",
    tag_names: list[str] | None = None,
) -> CodeBatch:
    """Make `count` product-item codes sharing one touchpoint (by default, the prefix)."""
    if not PREFIX.match(prefix):
        raise InvalidInput("a prefix is 1 to 20 letters, digits or '_'", field="prefix")
    if not 1 <= count <= MAX_CODES:
        raise InvalidInput(f"a batch has 1 to {MAX_CODES:,} codes", field="count")
    if not name.strip():
        raise InvalidInput("a batch needs a name", field="name")
    check_target(target_kind, target)
    if session.scalar(select(CodeBatch.id).where(CodeBatch.prefix == prefix)):
        raise Conflict(f"the prefix {prefix!r} is taken", field="prefix")
    batch = CodeBatch(name=name.strip(), prefix=prefix, count=count)
    session.add(batch)
    session.flush()
    touchpoint_id = _touchpoint_for(session, touchpoint or prefix, name, "product_item", None, None)
    rows = [
        {
            "code": f"{prefix}-{n:05d}-{secrets.token_hex(3)}",
            "name": f"{name.strip()} #{n}",
            "kind": "product_item",
            "touchpoint_id": touchpoint_id,
            "target_kind": target_kind,
            "target": target.strip(),
            "tag_names": tag_names or [],
            "batch_id": batch.id,
            "is_active": True,
            "created_at": utcnow(),
        }
        for n in range(1, count + 1)
    ]
    for start in range(0, len(rows), 1000):
        session.execute(insert(ChannelCode), rows[start : start + 1000])
    return batch


def archive_folder() -> Path:
    """Beside the lake's folder when the lake is local; else ./data/codes."""
    lake = get_settings().lake
    if "://" in lake and not lake.startswith("file://"):
        return Path("data", "codes").resolve()
    return Path(lake.removeprefix("file://")).expanduser().resolve().parent / "codes"


def write_archive(
    batch_id: int, base_url: str, progress: Progress | None = None, factory=None
) -> Path:
    """Write the batch's ZIP (png/, svg/, codes.csv); progress is committed as it goes."""
    factory = factory or session_factory()
    with factory() as session:
        batch = session.get(CodeBatch, batch_id)
        codes = list(
            session.scalars(
                select(ChannelCode.code)
                .where(ChannelCode.batch_id == batch_id)
                .order_by(ChannelCode.id)
            )
        )
        batch.status, batch.done = "running", 0
        commit_progress(session, "the archive started")
    folder = archive_folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{batch.prefix}-{batch_id}.zip"
    partial = path.with_suffix(".zip.partial")
    listing = io.StringIO()
    writer = csvsafe.writer(listing)
    writer.writerow(["code", "url", "png", "svg"])
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for done, code in enumerate(codes, start=1):
            url = landing_url(base_url, code)
            png, svg = qr_both(url)
            archive.writestr(f"png/{code}.png", png)
            archive.writestr(f"svg/{code}.svg", svg)
            writer.writerow([code, url, f"png/{code}.png", f"svg/{code}.svg"])
            if done % PROGRESS_EVERY == 0 or done == len(codes):
                _record_progress(factory, batch_id, done)
                if progress:
                    progress(done, len(codes))
        archive.writestr("codes.csv", "\ufeff" + listing.getvalue())
    partial.replace(path)
    with unit_of_work(factory=factory) as session:
        batch = session.get_one(CodeBatch, batch_id)
        batch.status, batch.archive, batch.finished_at = "done", str(path), utcnow()
    return path


def _record_progress(factory, batch_id: int, done: int) -> None:
    with factory() as session:
        session.get(CodeBatch, batch_id).done = done
        commit_progress(session, f"{done} codes archived")


def enqueue_archive(session: Session, batch: CodeBatch, base_url: str) -> None:
    jobs.enqueue(
        session,
        "codes.batch",
        jobs.row_key("codes-batch", batch.id, batch.created_at),
        {"batch_id": batch.id, "base_url": base_url},
    )


def archive_job(session: Session, payload: dict) -> None:
    try:
        write_archive(payload["batch_id"], payload["base_url"])
    except Exception as error:
        with unit_of_work() as s:  # its own: kept through the job's rollback
            batch = s.get_one(CodeBatch, payload["batch_id"])
            batch.status, batch.error = "failed", f"{type(error).__name__}: {error}"[:2000]
        raise


def list_batches(session: Session, limit: int = 50) -> list[CodeBatch]:
    return list(session.scalars(select(CodeBatch).order_by(CodeBatch.id.desc()).limit(limit)))
