"""The mapping file: which source column feeds which canonical field, and how to read its times."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from siyu.core.errors import InvalidInput
from siyu.customers import identity as ids
from siyu.imports.cells import text

Kind = Literal["customers", "orders", "events"]
CUSTOMER_ID_TYPES = ("auto", "siyu", *ids.TYPES)
# The identity types are listed once (ids.TYPES); the checker cannot read a Literal built so.
CustomerIdType = Literal[CUSTOMER_ID_TYPES]  # type: ignore[valid-type]

# Canonical fields of each kind; True marks a required one.
ORDER_FIELDS = {
    "order_id": True,
    "customer_id": True,
    "paid_at": True,
    "amount": True,
    "refunded_at": False,
    "refund_amount": False,
    "product": False,
    "category": False,
    "store": False,
    "touchpoint": False,
    "currency": False,
}
CUSTOMER_IDENTITIES = (
    "user_id",
    "member_id",
    "wechat_unionid",
    "phone",
    "email",
    "wecom_external_userid",
    "wechat_openid",
)
CUSTOMER_FIELDS = {**dict.fromkeys(CUSTOMER_IDENTITIES, False), "name": False, "created_at": False}
TRAIT_PREFIX = "traits."  # customers: {"traits.level": "会员等级"} renames a trait


class Mapping(BaseModel):
    """A mapping file as written by a person (see docs/imports.md)."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    time_format: str | None = None
    timezone: str | None = None
    customer_id_type: CustomerIdType = "auto"
    ignore: list[str] = Field(default_factory=list)
    skip: dict[str, list[str]] = Field(default_factory=dict)  # column → values of rows to pass over
    header_row: int = Field(1, ge=1)
    sheet: str | None = None
    encoding: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            ZoneInfo(value)
        return value


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file; a mistake names the file and the key."""
    try:
        return Mapping.model_validate(json.loads(path.read_text(encoding="utf-8-sig")))
    except FileNotFoundError:
        raise InvalidInput(f"no mapping file {path}", field="mapping") from None
    except json.JSONDecodeError as error:
        raise InvalidInput(f"{path.name} is not JSON: {error}", field="mapping") from None
    except (ValidationError, ValueError) as error:
        raise InvalidInput(f"{path.name}: {_first(error)}", field="mapping") from None


def _first(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(error)


@dataclass(frozen=True)
class Columns:
    """Canonical fields bound to the columns of one file."""

    source: dict[str, str]  # canonical field → the file's column
    others: list[str]  # columns no field takes and the mapping does not ignore

    def column(self, field: str) -> str:
        return self.source.get(field, field)


def bind(header: list[str], mapping: Mapping, fields: dict[str, bool], file: str) -> Columns:
    """Match a file's header to the fields; a missing required or mapped column stops the import."""
    wanted = {f: mapping.columns.get(f, f) for f in fields}
    wanted |= {f: c for f, c in mapping.columns.items() if f.startswith(TRAIT_PREFIX)}
    unknown = set(mapping.columns) - set(wanted)
    if unknown:
        raise InvalidInput(
            f"the mapping names {sorted(unknown)}, which are not fields "
            f"(fields: {', '.join(fields)})",
            field="mapping",
        )
    present = set(header)
    for column in mapping.skip:
        if column not in present:
            raise InvalidInput(f"{file} has no column {column!r} (in skip)", field="mapping")
    for field, column in wanted.items():
        if column not in present and (fields.get(field) or field in mapping.columns):
            raise InvalidInput(f"{file} has no column {column!r} (for {field})", field="file")
    source = {f: c for f, c in wanted.items() if c in present}
    taken = set(source.values()) | set(mapping.ignore)
    others = [c for c in header if c and c not in taken and not c.startswith("_")]
    return Columns(source, others)


def is_skipped(row_cells: dict, mapping: Mapping) -> bool:
    """True for a row the mapping passes over, e.g. an unpaid order (订单状态 = 待付款)."""
    return any(text(row_cells.get(column)) in values for column, values in mapping.skip.items())
