"""The `siyu` command starts light: its help lists every domain without importing one, a domain's
help loads that domain only, and nothing wires the process until a command runs."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from siyu.cli import DOMAINS, app, load_domain

HEAVY = ("ibis", "duckdb", "pandas", "pyarrow", "numpy", "wechatpy", "fastapi", "uvicorn")


def _loaded_after(args: list[str], extra: tuple[str, ...] = ()) -> dict:
    """Run `siyu ARGS` in a fresh interpreter; which of HEAVY, EXTRA (and the wiring) it
    imported."""
    watched = (*HEAVY, *extra, "siyu.subscribers")
    script = (
        "import json, sys\n"
        "from typer.testing import CliRunner\n"
        "from siyu.cli import app\n"
        f"result = CliRunner().invoke(app, {args!r})\n"
        f"print(json.dumps({{'exit': result.exit_code, 'output': result.output,"
        f" 'loaded': [m for m in {watched!r} if m in sys.modules]}}))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return json.loads(run.stdout.splitlines()[-1])


def test_importing_the_root_command_loads_no_analytics_or_platform_library():
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys, siyu.cli; print([m for m in {HEAVY!r} if m in sys.modules])",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.strip() == "[]"


def test_the_root_help_lists_every_domain_without_importing_one():
    after = _loaded_after(["--help"])
    assert after["exit"] == 0
    for name in DOMAINS:
        assert name in after["output"]
    assert after["loaded"] == []


def test_a_domains_help_does_not_wire_the_process():
    after = _loaded_after(["users", "--help"])
    assert after["exit"] == 0
    assert "siyu.subscribers" not in after["loaded"]


@pytest.mark.parametrize("name", list(DOMAINS))
def test_the_root_lists_each_domain_with_its_own_help(name):
    command = load_domain(name)
    own = inspect.cleandoc(command.help or "").split("\n\n")[0].replace("\n", " ")
    assert DOMAINS[name][2] == own
    assert CliRunner().invoke(app, [name, "--help"]).exit_code == 0


def test_a_command_that_reads_no_lake_loads_no_lake_engine():
    after = _loaded_after(["tokens", "list", "--json"])
    assert after["exit"] == 0, after["output"]
    assert "siyu.subscribers" in after["loaded"]  # it ran wired
    assert not {"ibis", "duckdb", "pandas"} & set(after["loaded"])


def test_the_heads_read_from_the_scripts_are_alembics_own():
    from alembic.script import ScriptDirectory

    from siyu.core.db import alembic_config, script_heads

    assert script_heads() == set(ScriptDirectory.from_config(alembic_config()).get_heads())


def test_a_command_on_a_current_database_loads_neither_alembic_nor_pyarrow(database_url):
    after = _loaded_after(["db", "upgrade"], extra=("alembic", "siyu.events.shipper"))
    assert after["exit"] == 0, after["output"]
    assert "database is up to date" in after["output"]
    assert not {"alembic", "pyarrow", "numpy", "siyu.events.shipper"} & set(after["loaded"])


def test_a_database_behind_the_scripts_is_still_upgraded(tmp_path):
    from alembic import command
    from sqlalchemy import create_engine, inspect

    from siyu.core.db import alembic_config, script_heads, upgrade

    url = f"sqlite:///{tmp_path / 'behind.db'}"
    command.upgrade(alembic_config(url), "0001")
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        stamped = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
        assert set(stamped.scalars()) == script_heads()
        assert "customer_tags" in inspect(connection).get_table_names()
    engine.dispose()


LIGHT = [
    ["staff", "list", "--json"],
    ["staff", "handover", "list", "--json"],
    ["segment", "list", "--json"],
    ["tasks", "list", "--json"],
    ["codes", "list", "--json"],
    ["touchpoints", "list", "--json"],
    ["keys", "list", "--json"],
    ["inbox", "dead-letters", "--json"],
]


@pytest.mark.parametrize("args", LIGHT, ids=" ".join)
def test_a_command_that_lists_rows_loads_no_analytics_or_lake_library(args):
    after = _loaded_after(args, extra=("alembic",))
    assert after["exit"] == 0, after["output"]
    assert isinstance(json.loads(after["output"]), list)
    assert not {"ibis", "duckdb", "pandas", "pyarrow", "numpy", "alembic"} & set(after["loaded"])


# Commands whose output is not a record: a server, a worker, a file or a stream of lines.
NOT_DATA = {"serve", "worker", "segment export", "segment members"}


def _commands(command, path: str):
    children = getattr(command, "commands", None)
    if children is None:
        yield path, command
        return
    for name, child in children.items():
        yield from _commands(child, f"{path} {name}".strip())


def test_every_command_that_prints_data_has_json():
    from typer.main import get_group

    root = get_group(app)
    found = {}
    for name in root.commands:
        command = load_domain(name) if name in DOMAINS else root.commands[name]
        found.update(dict(_commands(command, name)))
    lacking = sorted(
        path
        for path, command in found.items()
        if path not in NOT_DATA and "--json" not in {o for p in command.params for o in p.opts}
    )
    assert lacking == []


def test_db_upgrade_says_in_json_where_the_database_stands():
    from siyu.core.db import script_heads

    result = CliRunner().invoke(app, ["db", "upgrade", "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["revisions"] == sorted(script_heads() or [])
    assert answer["database"].startswith(("sqlite", "postgresql"))


def test_a_revoked_token_is_printed_as_json():
    created = CliRunner().invoke(
        app, ["tokens", "create", "--name", "ci", "--role", "analyst", "--json"]
    )
    assert created.exit_code == 0, created.output
    token_id = json.loads(created.output)["id"]
    revoked = CliRunner().invoke(app, ["tokens", "revoke", str(token_id), "--json"])
    assert revoked.exit_code == 0, revoked.output
    row = json.loads(revoked.output)
    assert row["id"] == token_id and row["revoked_at"]
