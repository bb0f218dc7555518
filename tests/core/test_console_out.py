"""The CLI prints stored (UTC) times in the brand's zone, whatever form the service hands over."""

from __future__ import annotations

from datetime import UTC, datetime

from siyu.core.console_out import brand_time


def test_stored_times_read_in_the_brands_zone():  # SIYU_TIMEZONE is Asia/Shanghai in tests
    assert brand_time(datetime(2026, 3, 1, 16, 30, tzinfo=UTC)) == "2026-03-02 00:30"
    assert brand_time(datetime(2026, 3, 1, 16, 30)) == "2026-03-02 00:30"  # naive is UTC
    assert brand_time("2026-03-01T16:30:00+00:00") == "2026-03-02 00:30"
    assert brand_time(None) == "" and brand_time("") == ""
