"""A lake folder for each test, and a way to run a report over rows written to it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from siyu.analytics import runner
from siyu.core.settings import reset_settings
from tests.analytics.factories import LakeRows, write_lake


@pytest.fixture
def rows() -> LakeRows:
    return LakeRows()


@pytest.fixture
def lake_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "report-lake"
    monkeypatch.setenv("SIYU_LAKE", str(root))
    monkeypatch.setenv("SIYU_TIMEZONE", "Asia/Shanghai")
    reset_settings()
    return root


@pytest.fixture
def report(rows: LakeRows, lake_root: Path) -> Callable:
    """Write `rows` to the lake, then run a report module's query over it."""

    def report(module, **query):
        write_lake(lake_root, rows)
        return runner.run(module, module.Query(**query), use_cache=False).result

    return report
