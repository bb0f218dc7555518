"""What differs between the engines Ibis runs our expressions on (DuckDB, PySpark), in one place.

Each function gives the same answer on every engine; where one engine has a cheaper built-in for
it, that engine gets the built-in and the others the portable expression.
"""

from __future__ import annotations

import re

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
from ibis.common.exceptions import IbisError

PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def engine_of(expr: ir.Expr) -> str:
    """The backend an expression's tables belong to ("duckdb" when it has none)."""
    try:
        return ibis.get_backend(expr).name
    except IbisError:
        return "duckdb"


def epoch_seconds(moment: ir.TimestampValue) -> ir.IntegerValue:
    """Whole seconds since 1970-01-01 UTC (the floor, as Spark's unix_timestamp).

    On DuckDB, Ibis's own epoch_seconds() first casts the zoned timestamp to a local one through
    the time zone library, which costs four times the rest of a bucket's arithmetic over a
    million orders; epoch_us reads the stored instant as it is.
    """
    if engine_of(moment) == "duckdb":
        return _epoch_us(moment) // 1_000_000
    return moment.epoch_seconds().cast("int64")


def json_text_at(text: ir.StringValue, path: tuple[str, ...]) -> ir.StringValue | None:
    """The value at a plain path of a JSON text column, read in one pass: a string as itself,
    any other value as its JSON text (None: the path needs quoting, use Ibis's JSON ops).

    A comparison with a string that is not itself valid JSON text ("store", "杭州") is exact
    with it: no number, boolean, null, object or array prints as such a string.
    """
    if not all(PLAIN_KEY.fullmatch(part) for part in path):
        return None
    where = "$." + ".".join(path)
    if engine_of(text) == "duckdb":
        return _json_extract_string(text, where)
    return _get_json_object(text, where)


@ibis.udf.scalar.builtin(name="epoch_us")
def _epoch_us(moment: dt.Timestamp(timezone="UTC")) -> dt.int64:
    """DuckDB: microseconds since the epoch of a timestamp."""


@ibis.udf.scalar.builtin(name="json_extract_string")
def _json_extract_string(text: str, path: str) -> str:
    """DuckDB: the value at a JSON path, a string unquoted."""


@ibis.udf.scalar.builtin(name="get_json_object")
def _get_json_object(text: str, path: str) -> str:
    """Spark: the value at a JSON path, a string unquoted."""
