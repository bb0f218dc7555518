"""Callback nonces: kept while their timestamp could still pass the window, then forgotten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from siyu.core.db import unit_of_work
from siyu.core.errors import Unauthorized
from siyu.core.replay import CallbackNonce, forget_nonces, refuse_replayed

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


def take(nonce: str, at: datetime, sent: datetime) -> None:
    with unit_of_work() as s:
        refuse_replayed(s, "wecom", str(int(sent.timestamp())), nonce, now=at)


def test_a_nonce_is_forgotten_only_once_its_timestamp_can_never_pass_again():
    window = timedelta(seconds=300)
    take("early", NOW - 2 * window - timedelta(seconds=1), NOW - 3 * window)
    take("recent", NOW - 2 * window + timedelta(seconds=1), NOW - window)
    with unit_of_work() as s:
        assert forget_nonces(s, NOW) == 1
        assert list(s.scalars(select(CallbackNonce.nonce))) == ["recent"]
    # The one kept is still refused; the one forgotten is refused by its timestamp.
    with pytest.raises(Unauthorized, match="received before"):
        take("recent", NOW - window + timedelta(seconds=1), NOW - window)
    with pytest.raises(Unauthorized, match="seconds from now"):
        take("early", NOW, NOW - 3 * window)


def test_the_same_nonce_on_another_platform_or_second_is_another_callback():
    take("n1", NOW, NOW)
    take("n1", NOW, NOW - timedelta(seconds=1))
    with unit_of_work() as s:
        refuse_replayed(s, "wechat", str(int(NOW.timestamp())), "n1", now=NOW)
        assert len(list(s.scalars(select(CallbackNonce)))) == 3
