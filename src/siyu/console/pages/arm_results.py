"""What a broadcast or a journey brought, as its page shows it: the message_results runner query
per arm (customers, sent, clicked, buyers, conversion, GMV) with the lift and the chart's data."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal

from siyu.analytics import message_results, runner
from siyu.core.periods import Period
from siyu.core.settings import get_settings


def arm_results(
    origin: Literal["broadcast", "journey"],
    origin_id: int,
    start: date,
    window_days: int,
    end: date | None = None,
) -> dict[str, Any] | None:
    """Customers planned (entered) from `start`, the brand's day of the first, to `end` (by
    default the end of the window after `start`), never past today; None without a lake yet
    (a fresh install: the page says results come later)."""
    today = datetime.now(get_settings().zone).date()
    end = max(min(end or start + timedelta(days=window_days), today), start)
    try:
        query = message_results.Query(
            origin=origin,
            origin_id=origin_id,
            period=Period(start=start, end=end),
            window_days=window_days,
        )
        result = runner.run(message_results, query).result
    except Exception:
        return None
    arms = [a.model_dump() | {"conversion": a.conversion} for a in result.arms]
    return {
        "arms": arms,
        "lift": result.lift.model_dump() if result.lift else None,
        "chart": {
            "arms": [a["arm"] for a in arms],
            "sent": [a["sent"] for a in arms],
            "clicked": [a["clicked"] for a in arms],
            "buyers": [a["buyers"] for a in arms],
            "gmv": [round(a["gmv_fen"] / 100, 2) for a in arms],
        },
    }
