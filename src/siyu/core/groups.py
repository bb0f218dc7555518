"""Group commit for the event loop: requests queue what they must store, and one thread writes
everything queued meanwhile in one transaction.

A commit per request costs more than the request's own work; a commit per group costs the same
however many requests wait for it. The database work also runs beside the event loop (SQLite and
psycopg let go of the GIL while they work), instead of stopping it. Each request still answers
only once its own group is committed, so nothing acknowledged is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

log = logging.getLogger("siyu.groups")


class GroupWriter:
    """`write(items)` returns one result per item, or raises: then every item's request hears it."""

    def __init__(self, name: str, write: Callable[[list], Sequence[Any]], max_group: int = 500):
        self.name, self.write, self.max_group = name, write, max_group
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def submit(self, item: Any) -> asyncio.Future:
        """Queue an item; the future gets its result once committed (call from the event loop)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.queue.put((item, future, loop))
        if self.thread is None or not self.thread.is_alive():
            with self.lock:
                if self.thread is None or not self.thread.is_alive():
                    self.thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                    self.thread.start()
        return future

    def _run(self) -> None:
        while True:
            group = [self.queue.get()]
            while len(group) < self.max_group:
                try:
                    group.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            results: Sequence[Any] = ()
            error = None
            try:
                results = self.write([item for item, _, _ in group])
            except Exception as failure:  # noqa: BLE001 - every waiting request hears of it
                log.exception("%s: writing a group of %s failed", self.name, len(group))
                error = failure
            # One wake-up per event loop for the whole group, not one per request.
            by_loop: dict = {}
            for n, (_, future, loop) in enumerate(group):
                outcome = error if error is not None else results[n]
                by_loop.setdefault(loop, []).append((future, outcome, error is not None))
            for loop, settled in by_loop.items():
                with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                    loop.call_soon_threadsafe(_settle, settled)


def _settle(settled: list[tuple[asyncio.Future, Any, bool]]) -> None:
    for future, outcome, failed in settled:
        if future.done():  # the client went away meanwhile
            continue
        if failed:
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
