"""Lake queries a request starts run in threads of their own, a few at a time: a burst of them (a
segment preview on every keystroke) waits its turn here, holding none of the threads FastAPI runs
every plain `def` route in (WeCom's callback, with its five-second deadline, among them)."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

T = TypeVar("T")
THREADS = 4  # DuckDB spreads each query over every core: more at once only share them thinner
_threads = ThreadPoolExecutor(THREADS, thread_name_prefix="siyu-lake-query")


async def run_lake_query(work: Callable[..., T], *args: object) -> T:
    """`work(*args)` in a lake-query thread, awaited without holding a thread of the pool the
    plain `def` routes run in. `work` should hold no database connection either (end the
    request's read first): the connection pool is as small as the thread pool."""
    run = partial(contextvars.copy_context().run, work, *args)
    return await asyncio.get_running_loop().run_in_executor(_threads, run)
