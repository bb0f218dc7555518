"""A preview's time limit stops DuckDB mid-query rather than waiting for it to finish."""

from __future__ import annotations

import time

import duckdb
import ibis
import pytest

from siyu.segments.evaluation import PreviewTimeout, time_limit


def total(rows: int) -> ibis.Expr:
    con = duckdb.connect()
    con.execute(f"CREATE VIEW numbers AS SELECT range AS n FROM range({rows})")
    numbers = ibis.duckdb.from_connection(con).table("numbers")
    return (numbers.n % 7).sum()


def test_a_query_past_the_limit_is_interrupted():
    expr = total(10_000_000_000)  # minutes of work unless it is stopped
    started = time.monotonic()
    with pytest.raises(PreviewTimeout, match="0.3 seconds"), time_limit(expr, 0.3):
        expr.to_pyarrow()
    assert time.monotonic() - started < 30  # uninterrupted, it runs for minutes


def test_a_query_inside_the_limit_answers():
    expr = total(1000)
    with time_limit(expr, 10):
        assert expr.to_pyarrow().as_py() == sum(n % 7 for n in range(1000))
