"""WeCom's recurring work runs from the one scheduler: the nightly re-sync and the tag push."""

from __future__ import annotations

from sqlalchemy import select

from siyu.core.db import session_factory, utcnow
from siyu.core.jobs import Job
from siyu.customers.service import customer_of
from tests.wecom.conftest import book_tick, run_jobs


def test_the_nightly_tick_re_syncs_wecom_contacts(fake_wecom):
    fake_wecom.state.add_contact("wm-n", "Nan", "zhang")
    assert book_tick("wecom-sync", utcnow()) == 1
    assert run_jobs() >= 1
    with session_factory()() as s:
        assert customer_of(s, "wecom_external_userid", "wm-n") is not None
        assert s.scalar(select(Job.status).where(Job.kind == "wecom.sync")) == "done"


def test_the_ticks_do_nothing_and_fail_nothing_when_wecom_is_not_set_up():
    now = utcnow()
    for name in ("wecom-sync", "wecom-tag-push", "wecom-transfers"):
        assert book_tick(name, now) == 1
    assert run_jobs() == 3
    with session_factory()() as s:
        assert set(s.scalars(select(Job.status))) == {"done"}
