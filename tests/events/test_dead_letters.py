"""Nothing accepted is lost: what the edge acknowledges reaches the lake, or a dead letter a
person can see (`siyu inbox dead-letters`) and apply again after a fix (`siyu inbox replay`)."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner

from siyu.app import create_app
from siyu.cli import app as cli
from siyu.core.db import session_factory, unit_of_work, utcnow
from siyu.core.lake import duckdb_connection
from siyu.core.settings import get_settings, reset_settings
from siyu.events import inbox
from siyu.events.models import DeadLetter, OutboxEvent
from siyu.events.schemas import IngestResult
from siyu.events.service import SourceRef
from siyu.events.sources import source_for_key
from tests.helpers import post_batch, serving, track

CLIENTS, EVENTS = 4, 300
POISON = {"originalTimestamp": "0001-01-01T00:00:00Z", "sentAt": "9999-12-31T23:59:59Z"}


def _lake_message_ids() -> set[str]:
    conn = duckdb_connection()
    try:
        return {row[0] for row in conn.execute("SELECT message_id FROM events").fetchall()}
    except Exception:  # no events view yet: nothing shipped
        return set()


@pytest.fixture
def server(monkeypatch):
    """The app as `siyu serve` runs it (processor, shipper and worker in the background) on a
    loopback port."""
    monkeypatch.setenv("SIYU_SHIPPER_INTERVAL_SECONDS", "0.2")
    reset_settings()
    with serving(create_app(background=True)) as (host, port):
        yield f"http://{host}:{port}"


def test_a_poisoned_event_among_300_from_4_clients_is_refused_and_the_rest_reach_the_lake(
    server, write_key
):
    events = [track("Product Viewed", user_id=f"u{i % 37}") for i in range(EVENTS)]
    poisoned = events[157]
    poisoned.update(POISON)

    def send(share: list[dict]) -> list[tuple[str, httpx.Response]]:
        with httpx.Client(base_url=server, auth=(write_key, ""), timeout=30) as client:
            return [(e["messageId"], client.post("/v1/track", json=e)) for e in share]

    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = [
            a for part in pool.map(send, [events[i::CLIENTS] for i in range(CLIENTS)]) for a in part
        ]

    refused = {mid: r for mid, r in answers if r.status_code != 200}
    assert list(refused) == [poisoned["messageId"]]
    answer = refused[poisoned["messageId"]]
    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == "originalTimestamp"

    good = {e["messageId"] for e in events} - {poisoned["messageId"]}
    deadline = time.monotonic() + 60
    while _lake_message_ids() != good and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _lake_message_ids() == good
    with session_factory()() as session:
        assert session.scalar(select(func.count()).select_from(DeadLetter)) == 0


@pytest.fixture
def raw_client():
    """The HTTP app alone: nothing processes the inbox unless the test says so."""
    with TestClient(create_app()) as c:
        yield c


@pytest.fixture
def poisoned_outbox():
    """A real fault inside the database: a trigger refuses the outbox row of messageId
    'poisoned' (a full disk or a bad row would fail the same statement the same way)."""
    engine = create_engine(get_settings().database_url, poolclass=NullPool)  # its own connection
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER poisoned BEFORE INSERT ON outbox "
                    "WHEN NEW.message_id = 'poisoned' "
                    "BEGIN SELECT RAISE(ABORT, 'the poisoned row'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION refuse_poisoned() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.message_id = 'poisoned' THEN "
                    "RAISE EXCEPTION 'the poisoned row'; END IF; RETURN NEW; END $$ "
                    "LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER poisoned BEFORE INSERT ON outbox "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_poisoned()"
                )
            )

    def remove() -> None:
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.execute(text("DROP TRIGGER IF EXISTS poisoned"))
            else:
                conn.execute(text("DROP TRIGGER IF EXISTS poisoned ON outbox"))
                conn.execute(text("DROP FUNCTION IF EXISTS refuse_poisoned()"))

    yield remove
    remove()
    engine.dispose()


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_a_row_that_fails_inside_a_group_is_a_dead_letter_and_the_rest_is_applied(
    raw_client, write_key, session, poisoned_outbox
):
    first = [track("A1"), track("A2")]
    middle = [track("B1"), track("Poisoned", messageId="poisoned"), track("B2")]
    last = [track("C1")]
    for batch in (first, middle, last):
        assert post_batch(raw_client, write_key, batch).json()["accepted"] == len(batch)

    assert inbox.process_all() == 6  # one group: the three requests in one transaction
    applied = set(session.scalars(select(OutboxEvent.message_id)))
    session.rollback()  # PostgreSQL: a reader open on outbox would hold up dropping the trigger
    good = {e["messageId"] for e in first + middle + last} - {"poisoned"}
    assert applied == good

    listed = json.loads(_invoke("inbox", "dead-letters", "--json"))
    assert [(d["message_id"], d["kind"], d["source"]) for d in listed] == [
        ("poisoned", "track Poisoned", "mall")
    ]
    assert "the poisoned row" in listed[0]["error"]
    assert json.loads(_invoke("lake", "status", "--json"))["dead_letters"] == 1
    assert "1 dead letters" in _invoke("lake", "status")

    poisoned_outbox()  # the cause is removed
    assert "applied 1 events from 1 dead letters" in _invoke("inbox", "replay", "--all")
    assert json.loads(_invoke("inbox", "dead-letters", "--json")) == []
    _invoke("lake", "flush")
    assert _lake_message_ids() == good | {"poisoned"}


def test_a_replay_that_fails_again_keeps_the_dead_letter_and_says_so(
    raw_client, write_key, poisoned_outbox
):
    post_batch(raw_client, write_key, [track("Poisoned", messageId="poisoned")])
    inbox.process_all()
    (letter,) = json.loads(_invoke("inbox", "dead-letters", "--json"))

    result = CliRunner().invoke(cli, ["inbox", "replay", str(letter["id"])])
    assert result.exit_code == 1
    assert "1 failed again" in result.output
    (again,) = json.loads(_invoke("inbox", "dead-letters", "--json"))
    assert again["message_id"] == "poisoned" and "the poisoned row" in again["error"]


def test_a_replay_and_a_flush_print_json_for_scripts(raw_client, write_key, poisoned_outbox):
    post_batch(raw_client, write_key, [track("Poisoned", messageId="poisoned")])
    inbox.process_all()
    (letter,) = json.loads(_invoke("inbox", "dead-letters", "--json"))

    result = CliRunner().invoke(cli, ["inbox", "replay", str(letter["id"]), "--json"])
    assert result.exit_code == 1  # still a failure for a script, with what failed on stdout
    again = json.loads(result.stdout)
    assert again["applied"] == 0 and len(again["failed_again"]) == 1

    poisoned_outbox()
    replayed = json.loads(CliRunner().invoke(cli, ["inbox", "replay", "--all", "--json"]).stdout)
    assert replayed == {"dead_letters": 1, "applied": 1, "missing": [], "failed_again": []}
    flushed = json.loads(CliRunner().invoke(cli, ["lake", "flush", "--json"]).stdout)
    assert flushed["shipped"] == 1 and "customers" in flushed["snapshots"]


def _store_unchecked(write_key: str, body: bytes, encoding: str = "") -> None:
    """A request as an earlier version of the tracking check acknowledged it."""
    with unit_of_work() as s:
        source: SourceRef = source_for_key(s, write_key)
    result = IngestResult()
    received = inbox.Received(body, encoding, 1, utcnow())
    inbox.receive(source, result, received, [(0, "from-before")])


def test_what_the_processors_screen_refuses_is_a_dead_letter_not_dropped(
    raw_client, write_key, session
):
    far = track("Far", messageId="from-before", **POISON)
    _store_unchecked(write_key, json.dumps({"batch": [far]}).encode())
    post_batch(raw_client, write_key, [track("Later")])

    assert inbox.process_all() == 2
    assert session.scalars(select(OutboxEvent.event)).all() == ["Later"]
    (letter,) = json.loads(_invoke("inbox", "dead-letters", "--json"))
    assert letter["message_id"] == "from-before"
    assert letter["error"].startswith("Rejected: originalTimestamp:")


def test_a_request_that_cannot_be_read_is_kept_whole(raw_client, write_key, session):
    _store_unchecked(write_key, b"not gzip at all", "gzip")
    post_batch(raw_client, write_key, [track("Later")])

    inbox.process_all()
    assert session.scalars(select(OutboxEvent.event)).all() == ["Later"]
    (letter,) = json.loads(_invoke("inbox", "dead-letters", "--json"))
    assert letter["kind"] is None and letter["message_id"] is None
    assert "decompressing" in letter["error"]  # zlib's own words


def test_the_home_page_says_there_are_dead_letters_and_what_to_run(
    client, write_key, signed_in, poisoned_outbox
):
    page = signed_in("operator")
    assert 'data-test="dead-letters"' not in page.get("/").text
    post_batch(client, write_key, [track("Poisoned", messageId="poisoned"), track("Fine")])

    home = page.get("/").text
    assert 'data-test="dead-letters"' in home
    assert "已接收事件：1 条" in home and "siyu inbox replay --all" in home
    client.cookies.set("siyu_locale", "en")
    english = client.get("/").text
    assert "kept as dead letters: 1." in english
    assert "<code>siyu inbox dead-letters</code>" in english
    assert 'data-test="dead-letters"' not in signed_in("guide").get("/").text  # not theirs to fix
