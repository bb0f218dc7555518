"""Builders for import tests: write CSV, XLSX or JSONL files, run imports, count what is stored."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.events.models import OutboxEvent
from siyu.imports.mapping import Mapping, load_mapping
from siyu.imports.service import ImportRequest, ImportSummary, run_import
from siyu.orders.models import Order

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ORDER_HEADER = ["order_id", "customer_id", "paid_at", "amount", "refunded_at", "product", "store"]


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def write_jsonl(path: Path, messages: list[dict | str]) -> Path:
    lines = [m if isinstance(m, str) else json.dumps(m, ensure_ascii=False) for m in messages]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(kind: str, path: Path, mapping: Path | None = None, **options) -> ImportSummary:
    chosen = load_mapping(mapping) if mapping else Mapping()
    return run_import(ImportRequest(kind, path, chosen, **options))


def orders(session: Session) -> dict[str, Order]:
    session.expire_all()
    return {o.order_id: o for o in session.scalars(select(Order))}


def stored_events(session: Session) -> int:
    return session.scalar(select(func.count(OutboxEvent.id)))
