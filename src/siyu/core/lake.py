"""The event lake: Parquet files under SIYU_LAKE (any fsspec location), written atomically.

Its tables and their schemas are declared in core/lake_schema.py; core/lake_tables.py opens them
as Ibis tables."""

from __future__ import annotations

import os
import posixpath
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from siyu.core.settings import get_settings

# fsspec, DuckDB and PyArrow (with the tables' schemas, core/lake_schema.py) are imported where
# a lake is opened, written or queried: every `siyu` command wires the snapshot writer through
# this module, and most never touch the lake.
if TYPE_CHECKING:
    import duckdb
    import fsspec
    import pyarrow as pa
    from sqlalchemy.orm import Session, sessionmaker

SNAPSHOT_GRACE_SECONDS = 120  # a replaced snapshot file stays this long for readers still on it
TEMP_PREFIX = "_tmp-"  # never matched by *.parquet, so readers never see a half-written file


@dataclass(frozen=True)
class Lake:
    fs: fsspec.AbstractFileSystem
    root: str

    def path(self, *parts: str) -> str:
        """A path inside the lake as its fsspec filesystem names it (no protocol)."""
        return posixpath.join(self.root, *parts)

    @property
    def is_local(self) -> bool:
        from fsspec.implementations.local import LocalFileSystem

        return isinstance(self.fs, LocalFileSystem)

    def url(self, path: str) -> str:
        """A lake path as a reader outside fsspec (DuckDB, Spark) names it: a local path as it
        is, any other with the protocol fsspec's paths leave out (memory://, s3://), without
        which a reader would look for it on the local disk."""
        return path if self.is_local else self.fs.unstrip_protocol(path)

    def modified(self, path: str) -> float:
        """When a file was last written (object stores and memory:// say "created")."""
        info = self.fs.info(path)
        stamp = info.get("mtime") or info.get("created") or 0
        return stamp.timestamp() if hasattr(stamp, "timestamp") else float(stamp)

    def write_atomic(self, table: pa.Table, relative: str) -> str:
        """Write to a temporary name, then rename: a file is either whole or absent."""
        import pyarrow.parquet as pq

        final = self.path(relative)
        folder = posixpath.dirname(final)
        self.fs.makedirs(folder, exist_ok=True)
        temp = posixpath.join(folder, f"{TEMP_PREFIX}{uuid.uuid4().hex}")
        with self.fs.open(temp, "wb") as handle:
            pq.write_table(table, handle, compression="zstd")
        self.fs.mv(temp, final)
        return relative

    def write_batches_atomic(
        self, schema: pa.Schema, batches: Iterable[pa.RecordBatch], relative: str
    ) -> int:
        """Stream record batches into one file (bounded memory), atomically; returns the rows."""
        import pyarrow.parquet as pq

        final = self.path(relative)
        folder = posixpath.dirname(final)
        self.fs.makedirs(folder, exist_ok=True)
        temp = posixpath.join(folder, f"{TEMP_PREFIX}{uuid.uuid4().hex}")
        rows = 0
        with (
            self.fs.open(temp, "wb") as handle,
            pq.ParquetWriter(handle, schema, compression="zstd") as writer,
        ):
            for batch in batches:
                writer.write_batch(batch)
                rows += batch.num_rows
        self.fs.mv(temp, final)
        return rows

    def files(self, relative: str, pattern: str = "*.parquet") -> list[str]:
        base = self.path(relative)
        if not self.fs.exists(base):
            return []
        return sorted(self.fs.glob(posixpath.join(base, pattern)))

    def inventory(self) -> tuple[Any, ...]:
        """(path, size, mtime) of every table file, sorted: it changes whenever a file is added,
        replaced or removed. On a local disk with os.scandir, a tenth of fsspec's glob over a
        year of daily partitions (every report run asks)."""
        if self.is_local:
            return _local_inventory(self.root)
        from siyu.core.lake_schema import EVENTS

        found = []
        for pattern in (f"{EVENTS}/date=*/*.parquet", "*/*.parquet"):
            for info in self.fs.glob(self.path(pattern), detail=True).values():
                stamp = info.get("mtime") or info.get("created")
                found.append((info["name"], info.get("size"), stamp))
        return tuple(sorted(found, key=str))

    def snapshot(self, name: str) -> str | None:
        """The newest file of a snapshot table, as a reader names it (None when it has none).

        A snapshot is never replaced in place: a reader that named a file keeps reading that
        file (DuckDB opens it again between planning and scanning), and the shipper writes each
        new one under a new name, removing old ones only after SNAPSHOT_GRACE_SECONDS."""
        found = self.files(name)
        if not found:
            return None
        return self.url(max(found, key=lambda path: (self.modified(path), path)))

    def event_partitions(self) -> list[str]:
        from siyu.core.lake_schema import EVENTS

        base = self.path(EVENTS)
        if not self.fs.exists(base):
            return []
        return sorted(
            posixpath.basename(p)
            for p in self.fs.ls(base, detail=False)
            if posixpath.basename(p).startswith("date=")
        )

    def remove_temps(self) -> int:
        temps = self.fs.glob(self.path("**", f"{TEMP_PREFIX}*"))
        for temp in temps:
            self.fs.rm(temp)
        return len(temps)


def open_lake(location: str | None = None) -> Lake:
    import fsspec

    location = location or get_settings().lake
    fs, root = fsspec.core.url_to_fs(location)
    fs.makedirs(root, exist_ok=True)
    return Lake(fs, root.rstrip("/"))


def _local_inventory(root: str) -> tuple[Any, ...]:
    from siyu.core.lake_schema import EVENTS

    found = []

    def parquet_in(folder: str) -> None:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.endswith(".parquet") and entry.is_file():
                    info = entry.stat()
                    found.append((entry.path, info.st_size, info.st_mtime))

    if not os.path.isdir(root):
        return ()
    with os.scandir(root) as tables:
        for table in tables:
            if not table.is_dir():
                continue
            parquet_in(table.path)
            if table.name == EVENTS:
                with os.scandir(table.path) as partitions:
                    for partition in partitions:
                        if partition.name.startswith("date=") and partition.is_dir():
                            parquet_in(partition.path)
    return tuple(sorted(found))


def duckdb_connection(
    lake: Lake | None = None, sources: dict[str, str] | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per lake table (events hive-partitioned by date).

    `sources`, given, is filled with what each view reads, a name that changes whenever the
    view's schema could: a snapshot's file (each is a new file), or for events the glob and its
    first file (DuckDB takes the schema of a glob from its first file)."""
    import duckdb

    from siyu.core.lake_schema import EVENTS, SNAPSHOTS

    lake = lake or open_lake()
    conn = duckdb.connect()
    if not lake.is_local:
        conn.register_filesystem(lake.fs)
    partitions = lake.files(EVENTS, "date=*/*.parquet")
    if partitions:
        glob = lake.url(lake.path(EVENTS, "date=*", "*.parquet"))
        conn.execute(
            f"CREATE VIEW events AS SELECT * FROM read_parquet('{glob}', hive_partitioning = true)"
        )
        if sources is not None:
            sources[EVENTS] = f"{glob} from {lake.url(partitions[0])}"
    for name in SNAPSHOTS:
        newest = lake.snapshot(name)
        if newest:
            conn.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{newest}')")
            if sources is not None:
                sources[name] = newest
    return conn


class SnapshotWriter(Protocol):
    def __call__(
        self,
        factory: sessionmaker[Session] | None = None,
        lake: Lake | None = None,
        *,
        always: bool = False,
    ) -> dict[str, int] | None: ...


NOT_WIRED = "no snapshot writer set: call siyu.subscribers.wire() when the process starts"
_snapshot_writer: list[SnapshotWriter] = []  # set by snapshot_with()


def snapshot_with(writer: SnapshotWriter) -> None:
    """Hand over the writer of the snapshot tables (siyu/snapshots.py: it reads the OLTP tables
    of the domains that own them, so it lives above them); `siyu.subscribers.wire()` does."""
    _snapshot_writer[:] = [writer]


def refresh_snapshots(
    factory: sessionmaker[Session] | None = None,
    lake: Lake | None = None,
    *,
    always: bool = False,
) -> dict[str, int] | None:
    """Bring the lake's snapshot tables up to date with the OLTP database now, for work that
    must read what was just written (a segment refresh after tags set by hand): written when the
    database changed since the last ones, or `always`. The rows written by table, or None when
    nothing changed. Refused in a process that never wired: the lake would silently lag."""
    if not _snapshot_writer:
        raise RuntimeError(NOT_WIRED)
    return _snapshot_writer[0](factory, lake, always=always)
