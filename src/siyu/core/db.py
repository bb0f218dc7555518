"""The OLTP store: engine, sessions, the declarative base and Alembic upgrades."""

from __future__ import annotations

import ast
import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    MetaData,
    Result,
    Table,
    create_engine,
    event,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Dialect, Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from siyu.core.settings import get_settings

if TYPE_CHECKING:  # Alembic is imported only when migrating
    from alembic.config import Config

log = logging.getLogger("siyu.db")
MIGRATIONS = Path(__file__).parent / "migrations"

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments an INTEGER PRIMARY KEY, so big ids are plain integers there.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite forgets zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def table_of(model: type[Base]) -> Table:
    """A mapped class's Table, for Core inserts (the ORM types `__table__` as any FromClause)."""
    return cast(Table, model.__table__)


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched (Session.execute types its result as a plain Result,
    though a DML statement's is always a CursorResult)."""
    return cast(CursorResult[Any], result).rowcount


def insert_for(session: Session, table: Any) -> Any:
    """An INSERT of the session's dialect (SQLite's or PostgreSQL's), which has
    on_conflict_do_nothing / on_conflict_do_update."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def utcnow() -> datetime:
    return datetime.now(UTC)


_engines: dict[str, Engine] = {}


def _prepare_sqlite(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-131072")  # 128 MB of page cache (the default is 2 MB)
    cursor.close()


def get_engine(url: str | None = None) -> Engine:
    url = url or get_settings().database_url
    if url not in _engines:
        if url.startswith("sqlite"):
            _prepare_sqlite(url)
            engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
        _engines[url] = engine
    return _engines[url]


# SQLite has one writer at a time: queueing this process's writers on a lock, rather than in
# SQLite's sleep-and-poll busy handler, keeps latency flat and makes each transaction read what
# the previous one wrote (no unique-key races, no retries).
_sqlite_writer = threading.Lock()


def write_lock(
    url: str | None = None, on_wait: Callable[[], None] | None = None
) -> AbstractContextManager[object]:
    """Held around a write transaction: this process's one SQLite writer; nothing on PostgreSQL.
    `on_wait` is called when this writer has to queue behind another one."""
    if get_engine(url).dialect.name != "sqlite":
        return nullcontext()
    return _queued(on_wait) if on_wait else _sqlite_writer


def writer_is_taken() -> bool:
    """Whether this process's one SQLite writer is held right now (never, on PostgreSQL)."""
    return _sqlite_writer.locked()


@contextmanager
def _queued(on_wait: Callable[[], None]) -> Iterator[None]:
    if not _sqlite_writer.acquire(blocking=False):
        on_wait()
        _sqlite_writer.acquire()
    try:
        yield
    finally:
        _sqlite_writer.release()


def dispose_engines() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
    _factories.clear()


# One sessionmaker per engine: making one costs about a millisecond, and a request makes two.
_factories: dict[Engine, sessionmaker[Session]] = {}


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    engine = get_engine(url)
    if engine not in _factories:
        _factories[engine] = sessionmaker(engine, expire_on_commit=False)
    return _factories[engine]


@contextmanager
def unit_of_work(
    url: str | None = None, factory: sessionmaker[Session] | None = None
) -> Iterator[Session]:
    """A unit of work in a session of its own (a command, a step that must not share its caller's
    transaction): one commit at its end, a rollback on any error (docs/architecture.md, Commits)."""
    session = (factory or session_factory(url))()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def commit_progress(session: Session, what: str) -> None:
    """A long job's progress, committed before the job ends so that `what` holds whatever comes
    next: a crash, a failure later in the job, a slow call to a platform that no transaction
    should wait on. The only commit in the middle of a unit of work (docs/architecture.md,
    Commits); the job's end is committed by its worker or command."""
    log.debug("progress committed: %s", what)
    session.commit()


def alembic_config(url: str | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option(
        "sqlalchemy.url", (url or get_settings().database_url).replace("%", "%%")
    )
    return config


def upgrade(url: str | None = None) -> None:
    """Bring the schema to the newest migration. Every `siyu` command calls this: when the
    database already stands at the newest migrations, Alembic (a quarter of a second to import
    and read its scripts) is never loaded."""
    url = url or get_settings().database_url
    if url.startswith("sqlite"):
        _prepare_sqlite(url)
    if _is_current(url):
        return
    from alembic import command

    # "heads": domains add their tables on branches of their own until they are merged.
    command.upgrade(alembic_config(url), "heads")


_REVISION = re.compile(r"^(down_)?revision\b[^=\n]*=\s*(.+)$", re.MULTILINE)


def script_heads() -> set[str] | None:
    """The newest migrations (those no other one follows), read from the scripts' `revision` and
    `down_revision` lines as Alembic does; None when a script says it some other way (then
    Alembic itself decides)."""
    revisions: set[str] = set()
    followed: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        found = {bool(m[1]): m[2].strip() for m in _REVISION.finditer(script.read_text("utf-8"))}
        try:
            revision = ast.literal_eval(found[False])
            down = ast.literal_eval(found[True])
        except (KeyError, ValueError, SyntaxError):
            return None
        if not isinstance(revision, str):
            return None
        revisions.add(revision)
        if isinstance(down, str):
            followed.add(down)
        elif isinstance(down, tuple | list):
            followed.update(down)
        elif down is not None:
            return None
    return revisions - followed or None


def _is_current(url: str) -> bool:
    """Whether the database stands at exactly the newest migrations (read without Alembic)."""
    heads = script_heads()
    if heads is None:
        return False
    try:
        with get_engine(url).connect() as connection:
            stamped = set(
                connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars()
            )
    except DBAPIError:  # no alembic_version table yet: a new database
        return False
    return stamped == heads
