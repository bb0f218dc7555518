"""The commit rule (docs/architecture.md, Commits): a request commits once at its end, a job at
its end, a long job's progress only through `commit_progress`; no other `commit()` in the code."""

from __future__ import annotations

import ast
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from sqlalchemy import select

import siyu
from siyu.core import jobs, meta
from siyu.core.db import commit_progress, unit_of_work
from siyu.core.deps import SessionDep
from siyu.core.errors import InvalidInput, SiyuError

SRC = Path(siyu.__file__).parent

# Every commit() in the package, by file: the rule's boundaries and its two exceptions.
COMMITS = {
    "core/db.py": 2,  # unit_of_work's end; commit_progress
    "core/deps.py": 2,  # a request's end; read_ended, which ends a read before a lake wait
    "core/jobs.py": 3,  # a job's claim, its end, its failure
    "events/inbox.py": 2,  # the tracking hot path and the processor: transactions of their own
}


def test_commit_is_called_only_where_the_rule_says():
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        calls = [
            node
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "commit"
        ]
        if calls:
            found[path.relative_to(SRC).as_posix()] = len(calls)

    assert found == COMMITS


def _app() -> FastAPI:
    app = FastAPI()

    @app.post("/notes/{then}")
    def write_a_note(then: str, session: SessionDep) -> dict:
        meta.write(session, "note", {"then": then})  # a service: it flushes, never commits
        if then == "refuse":
            raise InvalidInput("refused after the write was flushed", field="then")
        return {"ok": True}

    @app.exception_handler(SiyuError)
    async def refused(request: Request, error: SiyuError) -> JSONResponse:
        return JSONResponse({"error": error.code}, status_code=error.status)

    return app


def test_a_request_that_fails_after_a_flush_writes_nothing():
    with TestClient(_app()) as client:
        assert client.post("/notes/refuse").status_code == 400
        with unit_of_work() as session:
            assert meta.read(session, "note") is None

        assert client.post("/notes/keep").status_code == 200
        with unit_of_work() as session:
            assert meta.read(session, "note") == {"then": "keep"}


def _halfway(session, payload: dict) -> None:
    meta.write(session, "first half", {"done": True})
    commit_progress(session, "the first half")
    meta.write(session, "second half", {"done": True})
    if payload["fail"]:
        raise RuntimeError("failed halfway")


def test_a_job_that_fails_midway_keeps_only_its_progress_commits():
    with unit_of_work() as session:
        jobs.enqueue(session, "test.halfway", "halfway", {"fail": True})

    assert jobs.run_one({"test.halfway": _halfway}) is True

    with unit_of_work() as session:
        assert meta.read(session, "first half") == {"done": True}
        assert meta.read(session, "second half") is None
        job = session.scalar(select(jobs.Job))
        assert job.status == "queued" and "failed halfway" in job.last_error
        job.run_at, job.payload = job.created_at, {"fail": False}  # due again, and it succeeds
    assert jobs.run_one({"test.halfway": _halfway}) is True
    with unit_of_work() as session:
        assert meta.read(session, "second half") == {"done": True}  # committed at the job's end
        assert session.scalar(select(jobs.Job.status)) == "done"
