"""What differs between the engines Ibis runs our expressions on (DuckDB, PySpark), in one place.

Each function gives the same answer on every engine; where one engine has a cheaper built-in for
it, that engine gets the built-in and the others the portable expression.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd
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


@dataclass(frozen=True)
class JsonAt:
    """The value at a path of a JSON text column, read as each JSON type: `string`, `number` and
    `boolean` are null when the value is missing or of another type ("30" is not a number, 30
    not a string), `present` whether a value other than null is there.

    DuckDB reads it with its JSON type. Spark gets a vectorised Python reader of ours: Ibis's
    own on Spark takes get_json_object's answer for JSON text, but that unquotes a string
    (上海 fails to parse, "30" reads as a number), and a key with a dash is not a path there."""

    text: ir.StringValue
    path: tuple[str, ...]

    @property
    def string(self) -> ir.StringValue:
        return self._node().str if self._on_duckdb else _json_string(self.text, self._path)

    @property
    def number(self) -> ir.FloatingValue:
        return self._node().float if self._on_duckdb else _json_number(self.text, self._path)

    @property
    def boolean(self) -> ir.BooleanValue:
        return self._node().bool if self._on_duckdb else _json_boolean(self.text, self._path)

    @property
    def present(self) -> ir.BooleanValue:
        if not self._on_duckdb:
            return _json_present(self.text, self._path).fill_null(False)
        node = self._node()
        return (node.notnull() & (node.cast("string") != "null")).fill_null(False)

    @property
    def _on_duckdb(self) -> bool:
        return engine_of(self.text) == "duckdb"

    @property
    def _path(self) -> ir.StringValue:
        return ibis.literal(json.dumps(self.path))

    def _node(self) -> ir.JSONValue:
        node = self.text.cast("json")
        for part in self.path:
            node = node[part]
        return node


_MISSING = object()


def _values_at(texts: pd.Series, paths: pd.Series) -> list[Any]:
    found = []
    for text, path in zip(texts, paths, strict=True):
        value = _MISSING if pd.isna(text) else json.loads(text)
        for part in json.loads(path):
            value = value.get(part, _MISSING) if isinstance(value, dict) else _MISSING
        found.append(value)
    return found


def _typed(texts: pd.Series, paths: pd.Series, kinds: tuple[type, ...]) -> pd.Series:
    # `type(v) in kinds`, not isinstance: a JSON true is not the number 1.
    values = [v if type(v) in kinds else None for v in _values_at(texts, paths)]
    return pd.Series(values, index=texts.index, dtype=object)


@ibis.udf.scalar.pandas
def _json_string(text: str, path: str) -> str:
    """Spark: the string at a JSON path (a list of keys), else null."""
    return _typed(text, path, (str,))


@ibis.udf.scalar.pandas
def _json_number(text: str, path: str) -> float:
    """Spark: the number at a JSON path, else null."""
    numbers = _typed(text, path, (int, float))
    return numbers.map(lambda v: None if v is None else float(v)).astype(object)


@ibis.udf.scalar.pandas
def _json_boolean(text: str, path: str) -> bool:
    """Spark: the boolean at a JSON path, else null."""
    return _typed(text, path, (bool,))


@ibis.udf.scalar.pandas
def _json_present(text: str, path: str) -> bool:
    """Spark: whether a value other than null is at a JSON path."""
    return _present(text, path)


def _present(texts: pd.Series, paths: pd.Series) -> pd.Series:
    # Here, not in the UDF: Spark ships a UDF's body by value, and _MISSING with it as a copy.
    found = [v is not _MISSING and v is not None for v in _values_at(texts, paths)]
    return pd.Series(found, index=texts.index)


@ibis.udf.scalar.builtin(name="epoch_us")
def _epoch_us(moment: dt.Timestamp(timezone="UTC")) -> dt.int64:  # type: ignore[valid-type]
    """DuckDB: microseconds since the epoch of a timestamp."""


@ibis.udf.scalar.builtin(name="json_extract_string")
def _json_extract_string(text: str, path: str) -> str:
    """DuckDB: the value at a JSON path, a string unquoted."""


@ibis.udf.scalar.builtin(name="get_json_object")
def _get_json_object(text: str, path: str) -> str:
    """Spark: the value at a JSON path, a string unquoted."""
