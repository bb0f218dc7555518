"""Fixtures: a real database (SQLite file, or PostgreSQL from SIYU_TEST_DATABASE_URL), migrated
by Alembic once per run and emptied after each test, and a real lake in a temporary folder."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from siyu.core import db
from siyu.core.settings import reset_settings
from siyu.models import metadata
from siyu.subscribers import wire

PG_URL = os.environ.get("SIYU_TEST_DATABASE_URL")
pytest_plugins = ["tests.console_support"]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    if PG_URL:
        # CI asks for PostgreSQL: one that cannot be reached fails the run, it is never skipped.
        # Each run gets its own schema, so two runs on one database never collide.
        schema = f"siyu_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = db.create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        separator = "&" if "?" in PG_URL else "?"
        url = f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
        db.upgrade(url)
        yield url
        db.dispose_engines()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'siyu.db'}"
        db.upgrade(url)
        yield url


@pytest.fixture(scope="session", autouse=True)
def subscribers() -> None:
    """The domains subscribed to the events written, as the app and the `siyu` command do."""
    wire()


@pytest.fixture(autouse=True)
def siyu_env(database_url, tmp_path, monkeypatch) -> Iterator[None]:
    monkeypatch.setenv("SIYU_DATABASE_URL", database_url)
    monkeypatch.setenv("SIYU_LAKE", str(tmp_path / "lake"))
    monkeypatch.setenv("SIYU_TIMEZONE", "Asia/Shanghai")
    reset_settings()
    yield
    _empty_tables(database_url)
    reset_settings()


def _empty_tables(url: str) -> None:
    for attempt in range(5):
        try:
            return _truncate(url)
        except OperationalError:  # a deadlock with a server a test left finishing its work
            if attempt == 4:
                raise
            time.sleep(0.5)


def _truncate(url: str) -> None:
    engine = db.get_engine(url)
    names = [t.name for t in metadata.sorted_tables if t.name != "alembic_version"]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
        else:
            for name in reversed(names):
                conn.execute(text(f"DELETE FROM {name}"))
            conn.execute(text("DELETE FROM sqlite_sequence")) if _has_sequence(conn) else None


def _has_sequence(conn) -> bool:
    return bool(
        conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")).first()
    )


@pytest.fixture
def session() -> Iterator[Session]:
    with db.session_factory()() as s:
        yield s


class ProcessingClient(TestClient):
    """The app as `siyu serve` runs it, with the inbox processor caught up after every request:
    tests read the state a tracked event leads to without waiting for a background thread.
    tests/events/test_inbox.py covers the inbox on its own."""

    def request(self, *args, **kwargs):
        from siyu.events.inbox import process_all

        response = super().request(*args, **kwargs)
        process_all()
        return response


@pytest.fixture
def client() -> Iterator[TestClient]:
    from siyu.app import create_app

    with ProcessingClient(create_app()) as c:
        yield c


@pytest.fixture
def write_key() -> str:
    from siyu.events.sources import create_key

    with db.unit_of_work() as s:
        _, key = create_key(s, "mall")
    return key


@pytest.fixture
def admin_token() -> str:
    from siyu.core.auth import create_token

    with db.unit_of_work() as s:
        _, secret = create_token(s, "test-admin", "admin")
    return secret
