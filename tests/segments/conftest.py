"""A lake folder under SIYU_LAKE for each test, and a way to ask who a rule holds for."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from siyu.core.settings import reset_settings
from siyu.segments import evaluation
from tests.segments.factories import SHANGHAI, LakeRows, write_lake

AS_OF = datetime(2026, 11, 22, tzinfo=SHANGHAI)


@pytest.fixture
def rows() -> LakeRows:
    return LakeRows()


@pytest.fixture
def lake_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "segment-lake"
    monkeypatch.setenv("SIYU_LAKE", str(root))
    monkeypatch.setenv("SIYU_TIMEZONE", "Asia/Shanghai")
    reset_settings()
    return root


@pytest.fixture
def members_of(rows: LakeRows, lake_root: Path) -> Callable[..., list[int]]:
    """Write `rows` to the lake, then list the customer ids a rule holds for."""

    def members_of(rule: dict, as_of: datetime = AS_OF, segments: dict | None = None):
        write_lake(lake_root, rows)
        found = evaluation.members(rule, as_of=as_of, resolve=(segments or {}).get)
        return [member.customer_id for member in found]

    return members_of
