"""How many customers the lake holds (every customer id ever issued, merged ones too): the home
page shows its numbers once there are any, and says what to do next while there are none."""

from __future__ import annotations

import ibis.expr.types as ir
import pyarrow as pa
from pydantic import BaseModel, ConfigDict

from siyu.analytics.runner import Context
from siyu.core.lake_tables import Tables

KIND = "lake_customers"


class Query(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Result(BaseModel):
    customers: int


def build(query: Query, tables: Tables, context: Context) -> dict[str, ir.Table]:
    customers = tables.customers
    return {"held": customers.aggregate(customers=customers.count())}


def shape(frames: dict[str, pa.Table], query: Query, context: Context) -> Result:
    (row,) = frames["held"].to_pylist()
    return Result(customers=row["customers"])
